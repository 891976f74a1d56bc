export * from './fleet.js';
export { progressLine } from './main.js';
