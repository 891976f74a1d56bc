import { DomainError } from '@idlemint/core';

/** Fleet errors with stable codes; the HTTP layer maps the kind to a status. */
export const FleetErrors = {
  keyMismatch: () => new DomainError('DEVICE.KEY_MISMATCH', 'unauthorized', 'request is not signed by the certificate device key'),
  certSignatureInvalid: () => new DomainError('CERT.SIGNATURE_INVALID', 'forbidden', 'birth certificate signature does not verify'),
  attestationKeyUnknown: () => new DomainError('CERT.ATTESTATION_KEY_UNKNOWN', 'forbidden', 'attestation key is not registered'),
  attestationKeyRevoked: () => new DomainError('CERT.ATTESTATION_KEY_REVOKED', 'forbidden', 'attestation key was revoked'),
  attestationKeyMismatch: () =>
    new DomainError('CERT.ATTESTATION_KEY_MISMATCH', 'forbidden', 'attestation key belongs to another manufacturer than the model'),
  modelUnknown: () => new DomainError('CERT.MODEL_UNKNOWN', 'forbidden', 'device model is not registered'),
  manufacturerSuspended: () => new DomainError('CERT.MANUFACTURER_SUSPENDED', 'forbidden', 'manufacturer is suspended'),
  serialTaken: () => new DomainError('DEVICE.SERIAL_TAKEN', 'conflict', 'serial is already bound to another device key'),
  revoked: () => new DomainError('DEVICE.REVOKED', 'forbidden', 'device was revoked'),
  notEnrolled: () => new DomainError('DEVICE.NOT_ENROLLED', 'unauthorized', 'device key is not enrolled'),
  claimCodeUnknown: () => new DomainError('OWNER.CLAIM_CODE_UNKNOWN', 'not_found', 'no device has this claim code'),
  alreadyClaimed: () => new DomainError('OWNER.DEVICE_ALREADY_CLAIMED', 'conflict', 'device is claimed by another owner'),
  ownerUnauthorized: () => new DomainError('OWNER.UNAUTHORIZED', 'unauthorized', 'missing or unknown owner token'),
  apiKeyInvalid: () => new DomainError('AUTH.API_KEY_INVALID', 'unauthorized', 'missing, unknown or revoked API key'),
  operatorKeyInvalid: () => new DomainError('AUTH.OPERATOR_KEY_INVALID', 'unauthorized', 'missing or wrong operator key'),
  forbiddenRole: () => new DomainError('AUTH.ROLE_FORBIDDEN', 'forbidden', 'this key may not do that'),
  nameTaken: (what: string) => new DomainError(`${what.toUpperCase()}.NAME_TAKEN`, 'conflict', `${what} name is already taken`),
  attestationProofInvalid: (details?: Record<string, unknown>) =>
    new DomainError(
      'ATTESTATION_KEY.PROOF_INVALID',
      'unprocessable',
      "proof is not this key's signature over the challenge of this manufacturer (docs/fleet-api.md)",
      details,
    ),
  attestationKeyTaken: () => new DomainError('ATTESTATION_KEY.TAKEN', 'conflict', 'attestation key is already registered'),
  notFound: (what: string, details?: Record<string, unknown>) =>
    new DomainError(`${what.toUpperCase()}.NOT_FOUND`, 'not_found', `${what.replaceAll('_', ' ')} not found`, details),
  notQuarantined: () => new DomainError('DEVICE.NOT_QUARANTINED', 'conflict', 'device is not quarantined'),
  revokedIsPermanent: (details?: Record<string, unknown>) =>
    new DomainError('DEVICE.REVOKED_PERMANENT', 'conflict', 'a revoked device cannot be resumed', details),
  lastAdminKey: () => new DomainError('API_KEY.LAST_ADMIN', 'conflict', 'the last active admin key cannot be revoked'),
  apiKeyRevoked: () => new DomainError('API_KEY.REVOKED', 'conflict', 'API key is already revoked'),
  bulkTooMany: (max: number) =>
    new DomainError('BULK.TOO_MANY', 'unprocessable', `a bulk action may touch at most ${max} devices; narrow the filter`, { max }),
  idempotencyKeyReused: () =>
    new DomainError('BULK.IDEMPOTENCY_KEY_REUSED', 'conflict', 'this Idempotency-Key was used with another request body'),
  idempotencyKeyInvalid: () =>
    new DomainError('REQUEST.INVALID_IDEMPOTENCY_KEY', 'bad_request', 'Idempotency-Key must be 1 to 128 of [A-Za-z0-9._:-]'),
  invalidCursor: () => new DomainError('REQUEST.INVALID_CURSOR', 'bad_request', 'cursor is not one this API gave out for this sort'),
  seriesTooLong: (max: number) =>
    new DomainError(
      'SERIES.TOO_MANY_POINTS',
      'bad_request',
      `a series holds at most ${max} buckets; narrow from/to or take a larger bucket`,
      { max },
    ),
};
