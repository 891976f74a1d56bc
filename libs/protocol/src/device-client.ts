import { randomBytes } from 'node:crypto';
import { ed25519Sign, sha256Hex } from '@idlemint/crypto';
import { DEVICE_HEADERS, requestSigningString } from './device.js';

/** The four signed headers of a device request (the firmware side of the contract). */
export function signDeviceRequest(
  device: { secretKey: string; publicKey: string },
  method: string,
  pathAndQuery: string,
  body: string | undefined,
  timestamp: number = Date.now(),
  nonce: string = randomBytes(12).toString('base64url'),
): Record<string, string> {
  const ts = String(timestamp);
  const signing = requestSigningString(method, pathAndQuery, ts, nonce, sha256Hex(body ?? ''));
  return {
    [DEVICE_HEADERS.key]: device.publicKey,
    [DEVICE_HEADERS.timestamp]: ts,
    [DEVICE_HEADERS.nonce]: nonce,
    [DEVICE_HEADERS.signature]: ed25519Sign(device.secretKey, signing),
  };
}
