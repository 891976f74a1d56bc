export * from './device.js';
export * from './api.js';
export * from './transfer.js';
export * from './device-client.js';
export * from './node-protocol.js';
export * from './node-client.js';
