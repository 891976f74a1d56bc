export * from './verification.module.js';
export * from './verification.service.js';
export * from './quorum.js';
export * from './reputation.service.js';
