import { randomBytes } from 'node:crypto';
import { ulid } from 'ulid';

/** Sortable unique ids (ULID) for every row we create. */
export const newId = (): string => ulid();

/** A random secret for API keys and owner tokens (shown once, stored as SHA-256). */
export const newSecret = (prefix: string): string => `${prefix}_${randomBytes(24).toString('base64url')}`;
