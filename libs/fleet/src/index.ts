export * from './fleet.module.js';
export * from './devices.service.js';
export * from './tenants.service.js';
export * from './owners.service.js';
export * from './fleet.errors.js';
export type { DeviceContext } from './fleet.repository.js';
