import { DomainError } from '@idlemint/core';

/** Fleet errors with stable codes; the HTTP layer maps the kind to a status. */
export const FleetErrors = {
  keyMismatch: () =>
    new DomainError('DEVICE.KEY_MISMATCH', 'unauthorized', 'request is not signed by the certificate device key'),
  certSignatureInvalid: () =>
    new DomainError('CERT.SIGNATURE_INVALID', 'forbidden', 'birth certificate signature does not verify'),
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
  attestationKeyTaken: () => new DomainError('ATTESTATION_KEY.TAKEN', 'conflict', 'attestation key is already registered'),
  notFound: (what: string) => new DomainError(`${what.toUpperCase()}.NOT_FOUND`, 'not_found', `${what} not found`),
};
