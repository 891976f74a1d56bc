export * from './alerts.module.js';
export * from './alert-rules.service.js';
export * from './alerts-evaluator.service.js';
export * from './alert-delivery.service.js';
export * from './alerts.errors.js';
export { signWebhook, verifyWebhook } from './webhook-signature.js';
export { isPublicAddress } from './webhook-address.js';
export { resolveWebhookTarget, WebhookForbiddenError } from './webhook-target.js';
