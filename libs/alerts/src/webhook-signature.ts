import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Alert webhook signature: `x-idlemint-signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`
 * with `x-idlemint-timestamp` in Unix seconds. A receiver recomputes it over the raw body bytes and
 * refuses timestamps older than its tolerance (replays).
 */
export function signWebhook(secret: string, timestamp: number | string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** True when `signature` is the signature of `body` at `timestamp` and the timestamp is fresh. */
export function verifyWebhook(
  secret: string,
  timestamp: string | undefined,
  body: string,
  signature: string | undefined,
  { toleranceS = 300, nowS = Math.floor(Date.now() / 1000) } = {},
): boolean {
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowS - Number(timestamp)) > toleranceS) return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
