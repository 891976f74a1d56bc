export * from './fleet.js';
export { progressLine } from './main.js';
export * from './behaviour.js';
export * from './stratum-client.js';
export * from './hash-fleet.js';
export * from './oracle.js';
