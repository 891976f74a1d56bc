import { containsNul } from './text.js';

/**
 * Opaque page cursors: base64url JSON the client hands back unchanged. Decoding is defensive: any
 * string a client makes up decodes to null (400 REQUEST.INVALID_CURSOR), never to a 5xx.
 */
export function encodeCursor(value: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function decodeCursor<T>(cursor: string, accept: (c: Record<string, unknown>) => T | null): T | null {
  if (!/^[A-Za-z0-9_-]{1,512}$/.test(cursor)) return null;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
    // A forged cursor may carry what PostgreSQL cannot compare (NUL): not one this API gave out.
    if (containsNul(parsed)) return null;
    return accept(parsed as Record<string, unknown>);
  } catch {
    return null;
  }
}
