export * from './fleet.js';
export { progressLine } from './main.js';
export * from './behaviour.js';
