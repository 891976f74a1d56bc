/**
 * The console talks only to the public APIs, with the secret the user signed in with kept in
 * sessionStorage (gone when the tab closes) and sent in a header, never in a URL.
 */
export type Role = 'manufacturer' | 'operator' | 'owner';
export interface Session {
  role: Role;
  secret: string;
}

const KEY = 'idlemint.console.session';

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Partial<Session>;
    if ((s.role === 'manufacturer' || s.role === 'operator' || s.role === 'owner') && typeof s.secret === 'string') {
      return { role: s.role, secret: s.secret };
    }
  } catch {
    // a damaged entry is no session
  }
  return null;
}

export function saveSession(s: Session | null): void {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

export interface Issue {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** What the API's validation found wrong (`error.details.issues`), field by field. */
    readonly issues: Issue[] = [],
  ) {
    super(message);
  }
}

/** An error as a user reads it: the API's message and code, then each field it refused. */
export function errorText(e: unknown): string {
  if (!(e instanceof ApiError)) return e instanceof Error ? e.message : String(e);
  const head = e.status > 0 ? `${e.message} (${e.code})` : e.message;
  return e.issues.length === 0 ? head : `${head}: ${e.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`;
}

function issuesOf(details: unknown): Issue[] {
  const list = (details as { issues?: unknown } | null | undefined)?.issues;
  if (!Array.isArray(list)) return [];
  return list
    .filter((i): i is { path?: unknown; message?: unknown } => typeof i === 'object' && i !== null)
    .map((i) => ({ path: typeof i.path === 'string' ? i.path : '', message: typeof i.message === 'string' ? i.message : 'invalid' }));
}

/** Called when the API refuses the session's credential (401): the app signs out with a message. */
let onUnauthorized: (message: string) => void = () => undefined;
export function setUnauthorizedHandler(f: (message: string) => void): void {
  onUnauthorized = f;
}

export function authHeaders(s: Session): Record<string, string> {
  switch (s.role) {
    case 'manufacturer':
      return { 'x-api-key': s.secret };
    case 'operator':
      return { 'x-operator-key': s.secret };
    case 'owner':
      return { authorization: `Bearer ${s.secret}` };
  }
}

export async function call<T>(
  s: Session | null,
  method: string,
  path: string,
  body?: unknown,
  extra: Record<string, string> = {},
): Promise<T> {
  const headers: Record<string, string> = { ...(s ? authHeaders(s) : {}), ...extra };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit' });
  } catch {
    throw new ApiError(0, 'NETWORK', 'The API cannot be reached. Check your connection and try again.');
  }
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
    const err = new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? `HTTP ${res.status}`, issuesOf(e?.details));
    if (res.status === 401 && s)
      onUnauthorized(
        `Your ${s.role === 'owner' ? 'owner token' : 'key'} was refused (${err.code}): it may have expired or been revoked. Sign in again.`,
      );
    throw err;
  }
  return data as T;
}

/** A query string from defined values; arrays become `a,b`. */
export function qs(params: Record<string, string | number | boolean | string[] | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) {
      if (v.length > 0) u.set(k, v.join(','));
    } else u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}
