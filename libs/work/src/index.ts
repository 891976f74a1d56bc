export * from './work.module.js';
export * from './work-queues.js';
export * from './assignments.service.js';
export * from './units.service.js';
export * from './work.errors.js';
export * from './canaries.js';
export * from './canary-stock.js';
export * from './reputation.js';
