import { z } from 'zod';

/**
 * Strings PostgreSQL can store and compare. A NUL (U+0000) in a text or jsonb value makes
 * PostgreSQL fail (22021, 22P05): every free-form string of a body, query or path is declared with
 * `text()` or `webUrl()`, so it is refused with 400 before it reaches a query. Strings already
 * held to a narrow pattern (ids, hex, names) cannot carry one.
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this refuses
export const NUL_FREE_RE = /^[^\u0000]*$/;
export const NUL_MESSAGE = 'must not contain NUL (\\u0000)';

export const text = () => z.string().regex(NUL_FREE_RE, NUL_MESSAGE);

/** An http(s) URL without NUL. */
export const webUrl = () => z.url({ protocol: /^https?$/ }).regex(NUL_FREE_RE, NUL_MESSAGE);

/** True when a decoded value (a cursor's JSON, a free-form record) holds a NUL in any key or string. */
export function containsNul(value: unknown, depth = 0): boolean {
  if (depth > 32) return true;
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some((v) => containsNul(v, depth + 1));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).some(([k, v]) => k.includes('\u0000') || containsNul(v, depth + 1));
  }
  return false;
}

/**
 * A time in an answer: an ISO 8601 string (what JSON makes of a Date). Documented as
 * `format: date-time`, without the long pattern `z.iso.datetime()` would put into openapi.json
 * at every use; answers are checked against the format (apps/api/test/support/contract.ts).
 */
export const timestampSchema = z.string().meta({ format: 'date-time' });
