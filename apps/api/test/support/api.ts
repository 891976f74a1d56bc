import { randomBytes } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Config } from '@idlemint/core';
import { ed25519Generate, type Ed25519KeyPair } from '@idlemint/crypto';
import { attestationKeyRegistration } from '@idlemint/protocol';
import { dropRedisKeys, redisPatterns, testConfig } from '../../../../test/support/scratch.js';
import { createApiApp } from '../../src/main.js';
import { assertContractKept, watchContract } from './contract.js';

export const OPERATOR_KEY = 'test-operator-key-0123456789';

export interface RunningApi {
  app: NestFastifyApplication;
  base: string;
  config: Config;
  close: () => Promise<void>;
}

/**
 * The API on a free port of 127.0.0.1 with its own Redis prefixes; `close` also drops its Redis keys.
 * Every answer is checked against openapi.json (support/contract.ts): a test fails on an answer the
 * document does not describe, and `close` on any left unreported.
 */
export async function startApi(databaseUrl: string, overrides: Record<string, string> = {}): Promise<RunningApi> {
  // Test devices tell their household by X-Forwarded-For (DeviceClient), as behind a proxy.
  const config = testConfig(databaseUrl, { TRUST_PROXY: '127.0.0.1', ...overrides });
  const app = await createApiApp(config);
  watchContract(app.getHttpAdapter().getInstance());
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return {
    app,
    base: `http://127.0.0.1:${port}`,
    config,
    close: async () => {
      await app.close();
      await dropRedisKeys(redisPatterns(config));
      assertContractKept();
    },
  };
}

export const unique = (prefix: string): string => `${prefix}-${randomBytes(5).toString('hex')}`;

async function postJson(base: string, path: string, body: unknown, headers: Record<string, string>): Promise<Record<string, unknown>> {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

export interface TestManufacturer {
  id: string;
  apiKey: string;
  attestation: Ed25519KeyPair;
}

/** A manufacturer with one registered attestation key (generated unless given). */
export async function createManufacturer(base: string, attestation: Ed25519KeyPair = ed25519Generate()): Promise<TestManufacturer> {
  const m = await postJson(base, '/operator/v1/manufacturers', { name: unique('mfr') }, { 'x-operator-key': OPERATOR_KEY });
  const apiKey = m.apiKey as string;
  await postJson(base, '/manufacturer/v1/attestation-keys', attestationKeyRegistration(attestation.secretKey, m.id as string), {
    'x-api-key': apiKey,
  });
  return { id: m.id as string, apiKey, attestation };
}

export async function createModel(
  base: string,
  apiKey: string,
  model: { name?: string; deviceClass?: string; batchSize?: number } = {},
): Promise<{ id: string; name: string; deviceClass: string; batchSize: number }> {
  const body = { name: model.name ?? unique('model'), deviceClass: model.deviceClass ?? unique('c'), batchSize: model.batchSize ?? 4 };
  const m = await postJson(base, '/manufacturer/v1/models', body, { 'x-api-key': apiKey });
  return { id: m.id as string, name: body.name, deviceClass: body.deviceClass, batchSize: body.batchSize };
}

/** An owner claims a device by its code; pass the token to add it to the same owner. */
export async function claimDevice(base: string, claimCode: string, ownerToken?: string): Promise<{ ownerId: string; ownerToken?: string }> {
  const headers: Record<string, string> = ownerToken ? { authorization: `Bearer ${ownerToken}` } : {};
  const r = await postJson(base, '/owner/v1/claim', { claimCode }, headers);
  return { ownerId: r.ownerId as string, ...(typeof r.ownerToken === 'string' ? { ownerToken: r.ownerToken } : {}) };
}
