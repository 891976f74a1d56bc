export * from './relay.module.js';
export * from './relay.service.js';
