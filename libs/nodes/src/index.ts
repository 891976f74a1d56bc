export * from './nodes.module.js';
export * from './nodes.service.js';
export * from './platform-key-rotation.service.js';
export * from './nodes.errors.js';
