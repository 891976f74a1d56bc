export * from './payouts.module.js';
export * from './payouts.service.js';
export * from './reconciliation.service.js';
export * from './payout-resolution.service.js';
export * from './payout-recovery.service.js';
