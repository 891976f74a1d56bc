export * from './ledger.module.js';
export * from './ledger.service.js';
export * from './ledger.errors.js';
export * from './reward-split.js';
export { Accounts } from './accounts.js';
export * from './rewards.service.js';
export * from './diminishing.js';
