import { DomainError } from '@idlemint/core';
import { NODE_ERRORS } from '@idlemint/protocol';

export const verdictsInvalid = (message: string, details?: Record<string, unknown>) =>
  new DomainError(NODE_ERRORS.verdictsInvalid, 'unprocessable', message, details);
export const refInvalid = (message: string, details?: Record<string, unknown>) =>
  new DomainError(NODE_ERRORS.refInvalid, 'unprocessable', message, details);
export const refUnknown = (id: string) =>
  new DomainError(NODE_ERRORS.refUnknown, 'unprocessable', 'ref names a transaction this node never made', { id });
export const refMismatch = (id: string, index: number) =>
  new DomainError(NODE_ERRORS.refMismatch, 'unprocessable', 'the item at the ref index is not that transaction', {
    id,
    index,
  });
export const resultSignatureInvalid = (devicePublicKey: string) =>
  new DomainError(NODE_ERRORS.resultSignatureInvalid, 'unprocessable', 'a device result signature does not verify', {
    devicePublicKey,
  });
export const unitConflict = (unitId: string) =>
  new DomainError(NODE_ERRORS.unitConflict, 'conflict', 'this unit was relayed before with different content', {
    unitId,
  });
export const assuranceTooLow = (details: Record<string, unknown>) =>
  new DomainError(
    NODE_ERRORS.assuranceTooLow,
    'unprocessable',
    'the verdict is less independently confirmed than this node requires',
    details,
  );
export const assuranceInvalid = (message: string, details?: Record<string, unknown>) =>
  new DomainError(NODE_ERRORS.assuranceInvalid, 'unprocessable', message, details);
