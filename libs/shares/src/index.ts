export * from './shares.module.js';
export * from './shares.service.js';
export * from './jobs.service.js';
export * from './share-credit.service.js';
export * from './credentials.service.js';
export * from './share-check.js';
export * from './vardiff.js';
export * from './device-shares.service.js';
