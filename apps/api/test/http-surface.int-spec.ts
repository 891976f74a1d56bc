import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDatabase } from '../../../test/support/scratch.js';
import { OPERATOR_KEY, startApi, type RunningApi } from './support/api.js';

/**
 * What the HTTP layer answers before any route runs, in the error envelope and as documented
 * (414, 431, a bad URL), the request id echoed, and Swagger UI with or without its trailing slash.
 */
describe('http surface', () => {
  let api: RunningApi;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    let url: string;
    ({ url, drop } = await scratchDatabase('http_surface'));
    api = await startApi(url);
  });

  afterAll(async () => {
    await api?.close();
    await drop?.();
  });

  const operator = { 'x-operator-key': OPERATOR_KEY };
  const envelope = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

  it('answers a too long path parameter with 414 REQUEST.URI_TOO_LONG', async () => {
    const res = await fetch(`${api.base}/operator/v1/devices/${'a'.repeat(500)}`, { headers: operator });
    expect(res.status).toBe(414);
    expect((await envelope(res)).code).toBe('REQUEST.URI_TOO_LONG');
  });

  it('answers a path parameter that does not decode with 400 REQUEST.BAD_URL', async () => {
    const res = await fetch(`${api.base}/operator/v1/devices/%E0%A4%A`, { headers: operator });
    expect(res.status).toBe(400);
    expect((await envelope(res)).code).toBe('REQUEST.BAD_URL');
  });

  it('answers headers larger than allowed with 431 REQUEST.HEADERS_TOO_LARGE', async () => {
    const res = await fetch(`${api.base}/operator/v1/queues`, { headers: { ...operator, 'x-padding': 'a'.repeat(20_000) } });
    expect(res.status).toBe(431);
    expect((await envelope(res)).code).toBe('REQUEST.HEADERS_TOO_LARGE');
  });

  it('echoes a sane x-request-id and replaces an insane one', async () => {
    const kept = await fetch(`${api.base}/health`, { headers: { 'x-request-id': 'trace-42.a:b' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-42.a:b');
    const replaced = await fetch(`${api.base}/health`, { headers: { 'x-request-id': 'no spaces<script>' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves Swagger UI at /docs and /docs/ with every asset found', async () => {
    for (const page of ['/docs', '/docs/']) {
      const res = await fetch(api.base + page);
      expect(res.status, page).toBe(200);
      const refs = [...(await res.text()).matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]!);
      expect(refs.length, page).toBeGreaterThanOrEqual(4);
      for (const ref of refs) {
        const asset = new URL(ref, api.base + page);
        const got = await fetch(asset);
        await got.arrayBuffer(); // an unread body keeps the connection busy and the server from closing
        expect(got.status, `${page} → ${asset.pathname}`).toBe(200);
      }
    }
  });
});
