import { signDeviceRequest } from '@idlemint/protocol';

export interface HttpAnswer<T = unknown> {
  status: number;
  body: T;
}

/** JSON over fetch; the body string sent is exactly the one signed. */
export async function call<T = unknown>(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpAnswer<T>> {
  const raw = body === undefined ? undefined : JSON.stringify(body);
  const res = await fetch(baseUrl + path, {
    method,
    headers: { ...(raw !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: raw,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export function deviceCall<T = unknown>(
  baseUrl: string,
  keys: { secretKey: string; publicKey: string },
  method: string,
  path: string,
  body?: unknown,
): Promise<HttpAnswer<T>> {
  const raw = body === undefined ? undefined : JSON.stringify(body);
  const headers = signDeviceRequest(keys, method, path, raw);
  return call<T>(baseUrl, method, path, body, headers);
}

/** Fails loudly on an unexpected status, with the error code the API gave. */
export function expectStatus<T>(a: HttpAnswer<T>, ok: number[], what: string): T {
  if (!ok.includes(a.status)) throw new Error(`${what}: HTTP ${a.status} ${JSON.stringify(a.body)}`);
  return a.body;
}
