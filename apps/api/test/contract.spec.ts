import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { ContractChecker, loadDocument, recordAnswers } from './support/contract.js';

/**
 * The response check every API integration test runs under (support/contract.ts) cannot pass
 * silently: against the committed openapi.json it refuses an undocumented field, a mistyped field,
 * a missing field, an undocumented status, an undocumented error code and a body where none is
 * documented, and it sees the answers of a server it is hooked into.
 */
describe('response contract check', () => {
  const checker = () => new ContractChecker(loadDocument());
  const live = (status: number, body: unknown) => ({
    method: 'GET',
    route: '/health/live',
    status,
    contentType: 'application/json; charset=utf-8',
    body: JSON.stringify(body),
  });

  it('accepts a documented answer', () => {
    const c = checker();
    expect(c.check(live(200, { status: 'live' }))).toBeNull();
    expect(c.checked).toBe(1);
  });

  it('refuses an undocumented field', () => {
    expect(checker().check(live(200, { status: 'live', uptime: 3 }))).toMatch(/must NOT have additional properties \("uptime"\)/);
  });

  it('refuses a mistyped or missing field', () => {
    expect(checker().check(live(200, { status: 1 }))).toMatch(/\/status must be string/);
    expect(checker().check(live(200, {}))).toMatch(/must have required property 'status'/);
  });

  it('refuses an undocumented status', () => {
    expect(checker().check(live(418, { status: 'live' }))).toMatch(/GET \/health\/live → 418: status not documented/);
  });

  it('refuses an error code the operation does not document, and an error outside the envelope', () => {
    const c = checker();
    const device = (body: unknown) => ({ ...live(401, body), route: '/device/v1/earnings' });
    expect(c.check(device({ error: { code: 'DEVICE.NOT_ENROLLED', message: 'x' } }))).toBeNull();
    expect(c.check(device({ error: { code: 'DEVICE.MADE_UP', message: 'x' } }))).toMatch(
      /\/error\/code must be equal to one of the allowed values/,
    );
    expect(c.check(device({ error: { code: 'DEVICE.NOT_ENROLLED' }, extra: 1 }))).toMatch(
      /additional properties[\s\S]*required property 'message'/,
    );
  });

  it('refuses a body on a status documented without one', () => {
    const noWork = { method: 'POST', route: '/device/v1/work/claim', status: 204, body: '{"assignment":null}' };
    expect(checker().check(noWork)).toMatch(/answered a body where none is documented/);
    expect(checker().check({ ...noWork, body: '' })).toBeNull();
  });

  it('translates Fastify route patterns and skips what the document does not describe', () => {
    const c = checker();
    const devices = { method: 'GET', route: '/manufacturer/v1/devices/:id', status: 999, body: '' };
    expect(c.check(devices)).toMatch(/GET \/manufacturer\/v1\/devices\/\{id\} → 999/);
    expect(c.check({ ...devices, route: '/docs/static/*' })).toBeNull();
  });

  it('reports the answers of a server it is hooked into', async () => {
    const app = Fastify();
    const seen: string[] = [];
    const c = checker();
    recordAnswers(app, c, (v) => seen.push(v));
    app.get('/health/live', () => ({ status: 'live', debug: true }));
    app.get('/health', () => ({ status: 'ok', postgres: 'up', redis: 'up' }));
    await app.inject({ method: 'GET', url: '/health' });
    await app.inject({ method: 'GET', url: '/health/live' });
    await app.close();
    expect(c.checked).toBe(2);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/GET \/health\/live → 200: body does not match[\s\S]*"debug"/);
  });
});
