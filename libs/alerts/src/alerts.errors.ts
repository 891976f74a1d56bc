import { DomainError } from '@idlemint/core';

/** Alert errors with stable codes. */
export const AlertErrors = {
  webhookUrlForbidden: (url: string, reason: string) =>
    new DomainError('ALERT.WEBHOOK_URL_FORBIDDEN', 'bad_request', `webhook URL may not be used: ${reason}`, { url, reason }),
  paramsInvalid: (issues: { path: string; message: string }[]) =>
    new DomainError('ALERT.PARAMS_INVALID', 'bad_request', 'params do not fit the rule kind', { issues }),
  ruleNotFound: () => new DomainError('ALERT_RULE.NOT_FOUND', 'not_found', 'alert rule not found'),
  ruleNameTaken: () => new DomainError('ALERT_RULE.NAME_TAKEN', 'conflict', 'an alert rule of this manufacturer already has this name'),
  deliveryNotFound: () => new DomainError('ALERT_DELIVERY.NOT_FOUND', 'not_found', 'alert delivery not found'),
};
