import { randomBytes } from 'node:crypto';
import { ed25519Generate, ed25519Sign, type Ed25519KeyPair } from '@idlemint/crypto';
import { attestationKeyRegistration, certificateSigningString, signDeviceRequest } from '@idlemint/protocol';

/**
 * Spec-driven fuzzing of the api: for every operation in openapi.json, mutated requests (wrong
 * types, huge and unicode strings, NUL bytes, extra and missing fields, deep nesting, `__proto__`
 * keys, wrong content types, empty and broken bodies, odd path and query values, missing and wrong
 * credentials). Every answer must be below 500 and every error in the `{ error: { code, message } }`
 * envelope. Used by `npm run fuzz` (scripts/fuzz.ts, ~10k requests) and by a short test
 * (apps/api/test/fuzz.int-spec.ts).
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: Json[];
  const?: Json;
  pattern?: string;
  format?: string;
  minimum?: number;
  minItems?: number;
  minLength?: number;
  maxLength?: number;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  default?: Json;
}
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  schema?: Schema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}
export interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
}

/** Objects of the fuzzing tenant; path ids of destructive routes point at spare objects only. */
export interface FuzzFixtures {
  operatorKey: string;
  apiKey: string;
  ownerToken: string;
  device: Ed25519KeyPair;
  ids: Record<string, string>;
}

export interface FuzzResult {
  requests: number;
  serverErrors: number;
  envelopeViolations: number;
  samples: string[];
  byStatus: Record<number, number>;
}

/** A small deterministic PRNG (mulberry32), so a run can be repeated with its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ULID = '01JD6Z3K8Q0000000000000000';
const STRING_CANDIDATES = ['fuzz-name', 'ABCDEFGH2345', ULID, 'ab'.repeat(32), 'ab'.repeat(64), '1', 'x', 'UTC', 'fuzz.tag', 'active'];

/** A value that satisfies the schema where it easily can (the baseline every mutation starts from). */
export function exampleOf(s: Schema | undefined, depth = 0): Json {
  if (!s || depth > 6) return null;
  if (s.const !== undefined) return s.const;
  if (s.enum?.length) return s.enum[0]!;
  if (s.default !== undefined) return s.default;
  const pick = s.oneOf?.[0] ?? s.anyOf?.[0] ?? s.allOf?.[0];
  if (pick) return exampleOf(pick, depth + 1);
  const type = (Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type) ?? 'none';
  switch (type) {
    case 'object': {
      const out: Record<string, Json> = {};
      for (const k of s.required ?? []) out[k] = exampleOf(s.properties?.[k], depth + 1);
      return out;
    }
    case 'array':
      return Array.from({ length: Math.max(1, s.minItems ?? 1) }, () => exampleOf(s.items, depth + 1));
    case 'integer':
    case 'number':
      return Math.max(s.minimum ?? 1, 1);
    case 'boolean':
      return true;
    case 'string': {
      if (s.format === 'uri') return 'http://127.0.0.1:9/fuzz';
      if (s.format === 'date-time') return '2026-11-01T00:00:00.000Z';
      if (s.pattern) {
        const re = new RegExp(s.pattern);
        const hit = STRING_CANDIDATES.find((c) => re.test(c));
        if (hit) return hit;
      }
      return 'fuzz';
    }
    default:
      return null;
  }
}

const HUGE = 'x'.repeat(70_000);
const UNICODE = 'Zoë 🚀 \u202e مرحبا \uffff \ud83d';
const NUL = 'a\u0000b';

/** String values that break naive code: NUL, huge, unicode, injection-shaped, number-like. */
const NASTY: Json[] = [
  NUL,
  '\u0000',
  HUGE.slice(0, 5000),
  UNICODE,
  "' OR 1=1 --",
  '../../etc/passwd',
  '%00',
  '1e309',
  '-1',
  '',
  ' ',
  '__proto__',
  'constructor',
  '{"$ne":null}',
];
const WRONG_TYPES: Json[] = [null, 0, -1, 1.5, 1e308, true, [], {}, [[]], { a: { b: 1 } }, 'string'];

function deep(n: number): Json {
  let v: Json = 'leaf';
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
}

interface Built {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  auth: 'good' | 'none' | 'wrong';
}

type Mutation = (ctx: {
  base: Json;
  rnd: () => number;
  pick: <T>(xs: T[]) => T;
}) => { body?: string | Buffer; contentType?: string | null } | null;

const asObject = (v: Json): Record<string, Json> => (v && typeof v === 'object' && !Array.isArray(v) ? { ...v } : {});
const json = (v: unknown) => ({ body: JSON.stringify(v) });

/** Body mutations; each returns the raw body and content type to send. */
const BODY_MUTATIONS: Mutation[] = [
  ({ base }) => json(base),
  ({ base, pick }) => {
    const o = asObject(base);
    const keys = Object.keys(o);
    if (keys.length) o[pick(keys)] = pick(WRONG_TYPES);
    return json(o);
  },
  ({ base, pick }) => {
    const o = asObject(base);
    const keys = Object.keys(o);
    if (keys.length) o[pick(keys)] = pick(NASTY);
    return json(o);
  },
  ({ base }) => {
    const o = asObject(base);
    for (const k of Object.keys(o)) if (typeof o[k] === 'string') o[k] = NUL;
    return json(o);
  },
  ({ base }) => {
    const o = asObject(base);
    for (const k of Object.keys(o)) o[k] = typeof o[k] === 'string' ? HUGE : o[k];
    return json(o);
  },
  ({ base }) => json({ ...asObject(base), unexpectedField: 1 }),
  ({ base, pick }) => {
    const o = asObject(base);
    const keys = Object.keys(o);
    if (keys.length) delete o[pick(keys)];
    return json(o);
  },
  ({ base }) => ({ body: JSON.stringify(base).replace(/^\{/, '{"__proto__":{"polluted":true},') }),
  ({ base }) => json({ ...asObject(base), constructor: { prototype: { polluted: true } } }),
  ({ base, pick }) => {
    const o = asObject(base);
    const keys = Object.keys(o);
    if (keys.length) o[pick(keys)] = deep(200);
    return json(o);
  },
  () => json(deep(2000)),
  () => ({ body: '' }),
  () => ({ body: '{"unterminated": ' }),
  () => ({ body: 'null' }),
  () => ({ body: '[]' }),
  () => ({ body: '"just a string"' }),
  () => ({ body: '123' }),
  ({ base }) => ({ body: JSON.stringify(base), contentType: 'text/plain' }),
  ({ base }) => ({ body: JSON.stringify(base), contentType: 'application/x-www-form-urlencoded' }),
  ({ base }) => ({ body: JSON.stringify(base), contentType: null }),
  ({ base }) => ({ body: JSON.stringify(base), contentType: 'application/json; charset=utf-16' }),
  () => ({ body: Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x00]) }),
  () => ({ body: `{"a":"${'y'.repeat(200_000)}"}` }),
  ({ base }) => json({ ...asObject(base), nested: { '\u0000key': NUL } }),
  ({ base, rnd }) => {
    const o = asObject(base);
    for (const k of Object.keys(o)) if (rnd() < 0.5) o[k] = UNICODE;
    return json(o);
  },
];

/** Path values: real ids of spare objects, unknown ids, and malformed ones. */
const PATH_VALUES = [
  ULID,
  '01jd6z3k8q0000000000000000',
  '0',
  'x'.repeat(300),
  '%00',
  'a%00b',
  '%F0%9F%9A%80',
  '..%2F..%2Fhealth',
  '%2e%2e',
  '__proto__',
  "1'--",
  '%E0%A4%A',
];

const QUERY_VALUES = [
  '',
  '%00',
  'a%00b',
  'x'.repeat(3000),
  '%F0%9F%9A%80',
  '-1',
  '1e309',
  'true',
  'null',
  '__proto__',
  '%E0%A4%A',
  '[]',
  'a,b,,c',
];

function scopeOf(path: string): 'device' | 'manufacturer' | 'operator' | 'owner' | 'public' {
  const first = path.split('/')[1];
  return first === 'device' || first === 'manufacturer' || first === 'operator' || first === 'owner' ? first : 'public';
}

/** The spare object a path id of this route may point at (never the fuzzing tenant's own key or manufacturer). */
function realIdFor(path: string, ids: Record<string, string>): string | undefined {
  const table: [string, string][] = [
    ['/manufacturer/v1/api-keys/', 'spareApiKey'],
    ['/manufacturer/v1/attestation-keys/', 'spareAttestationKey'],
    ['/manufacturer/v1/devices/', 'device'],
    ['/manufacturer/v1/groups/', 'spareGroup'],
    ['/manufacturer/v1/models/', 'model'],
    ['/manufacturer/v1/alert-rules/', 'spareAlertRule'],
    ['/operator/v1/manufacturers/', 'spareManufacturer'],
    ['/operator/v1/devices/', 'device'],
  ];
  const hit = table.find(([prefix]) => path.startsWith(prefix));
  return hit ? ids[hit[1]] : undefined;
}

function buildRequest(path: string, method: string, op: Operation, f: FuzzFixtures, i: number, rnd: () => number): Built {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const scope = scopeOf(path);
  // Mostly authenticated, so the request reaches validation and the handler.
  const roll = rnd();
  const auth: Built['auth'] = roll < 0.85 ? 'good' : roll < 0.93 ? 'none' : 'wrong';
  let url = path.replace(/\{([^}]+)\}/g, () => {
    const real = realIdFor(path, f.ids);
    return real && rnd() < 0.4 ? real : pick(PATH_VALUES);
  });
  const query: string[] = [];
  for (const p of op.parameters ?? []) {
    if (p.in !== 'query' || rnd() < 0.3) continue;
    const ex = exampleOf(p.schema);
    const v =
      rnd() < 0.35 && (typeof ex === 'string' || typeof ex === 'number' || typeof ex === 'boolean') ? String(ex) : pick(QUERY_VALUES);
    query.push(`${encodeURIComponent(p.name)}=${v}`);
    if (rnd() < 0.1) query.push(`${encodeURIComponent(p.name)}=${pick(QUERY_VALUES)}`);
  }
  if (rnd() < 0.1) query.push(`unexpected=${pick(QUERY_VALUES)}`);
  if (query.length) url += `?${query.join('&')}`;

  const headers: Record<string, string> = {};
  let body: string | Buffer | undefined;
  const schema = op.requestBody?.content?.['application/json']?.schema;
  if (schema || (method !== 'get' && rnd() < 0.2)) {
    const mutation = BODY_MUTATIONS[i % BODY_MUTATIONS.length]!;
    const m = mutation({ base: exampleOf(schema), rnd, pick }) ?? {};
    body = m.body;
    if (m.contentType !== null) headers['content-type'] = m.contentType ?? 'application/json';
  }
  const M = method.toUpperCase();
  if (auth !== 'none') {
    const wrong = auth === 'wrong';
    switch (scope) {
      case 'manufacturer':
        headers['x-api-key'] = wrong ? `imk_${randomBytes(8).toString('hex')}` : f.apiKey;
        break;
      case 'operator':
        headers['x-operator-key'] = wrong ? `wrong-${randomBytes(8).toString('hex')}` : f.operatorKey;
        break;
      case 'owner':
        headers.authorization = wrong ? `Bearer imo_${randomBytes(8).toString('hex')}` : `Bearer ${f.ownerToken}`;
        break;
      case 'device': {
        const raw = body === undefined ? '' : Buffer.isBuffer(body) ? body.toString('utf8') : body;
        const signed = signDeviceRequest(wrong ? ed25519Generate() : f.device, M, url, raw);
        Object.assign(headers, signed);
        // Signed over what is sent when the body is valid UTF-8; a binary body fails the signature (401).
        break;
      }
      case 'public':
        break;
    }
  }
  return { method: M, path: url, headers, ...(body !== undefined ? { body } : {}), auth };
}

/** Whether an error answer is exactly `{ error: { code: string, message: string, details?: object } }`. */
export function isEnvelope(text: string): boolean {
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v) || Object.keys(v).join() !== 'error') return false;
    const e = (v as { error: unknown }).error as Record<string, unknown> | null;
    return (
      !!e &&
      typeof e === 'object' &&
      typeof e.code === 'string' &&
      e.code !== '' &&
      typeof e.message === 'string' &&
      (e.details === undefined || (typeof e.details === 'object' && e.details !== null))
    );
  } catch {
    return false;
  }
}

/** Runs `perOperation` mutated requests against every operation of the document. */
export async function runFuzz(
  base: string,
  doc: OpenApi,
  f: FuzzFixtures,
  opts: { perOperation: number; seed?: number; concurrency?: number; onNode?: (nodeId: string) => Promise<void> },
): Promise<FuzzResult> {
  const rnd = prng(opts.seed ?? 9);
  const result: FuzzResult = { requests: 0, serverErrors: 0, envelopeViolations: 0, samples: [], byStatus: {} };
  const jobs: Built[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      for (let i = 0; i < opts.perOperation; i++) jobs.push(buildRequest(path, method, op, f, i, rnd));
    }
  }
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const r = jobs[next++]!;
      let status: number;
      let text: string;
      try {
        const res = await fetch(base + r.path, {
          method: r.method,
          headers: r.headers,
          ...(r.body !== undefined ? { body: r.body } : {}),
          redirect: 'manual',
        });
        status = res.status;
        text = await res.text();
      } catch (e) {
        status = 599;
        text = String(e);
      }
      result.requests++;
      result.byStatus[status] = (result.byStatus[status] ?? 0) + 1;
      const note = `${r.method} ${r.path.slice(0, 160)} (${r.auth}) -> ${status} ${text.slice(0, 200)}`;
      if (status >= 500) {
        result.serverErrors++;
        if (result.samples.length < 20) result.samples.push(`5xx: ${note}`);
      } else if (status >= 400 && !isEnvelope(text)) {
        result.envelopeViolations++;
        if (result.samples.length < 20) result.samples.push(`envelope: ${note}`);
      }
      // A node the fuzz registered is disabled at once: the fuzz must not leave unreachable active nodes behind.
      if (status === 201 && r.method === 'POST' && r.path.startsWith('/operator/v1/nodes') && opts.onNode) {
        const id = (JSON.parse(text) as { id?: string }).id;
        if (id) await opts.onNode(id);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, worker));
  return result;
}

async function call(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const out = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`fuzz setup: ${method} ${path} -> ${res.status} ${JSON.stringify(out)}`);
  return out;
}

/** The tenant, device, owner and spare objects the fuzz works with, made through the API. */
export async function fuzzFixtures(base: string, operatorKey: string): Promise<FuzzFixtures> {
  const tag = randomBytes(4).toString('hex');
  const op = { 'x-operator-key': operatorKey };
  const m = await call(base, 'POST', '/operator/v1/manufacturers', op, { name: `fuzz-${tag}` });
  const spareM = await call(base, 'POST', '/operator/v1/manufacturers', op, { name: `fuzz-spare-${tag}` });
  const key = { 'x-api-key': m.apiKey as string };
  const attestation = ed25519Generate();
  const ak = await call(
    base,
    'POST',
    '/manufacturer/v1/attestation-keys',
    key,
    attestationKeyRegistration(attestation.secretKey, m.id as string),
  );
  const spareAk = await call(
    base,
    'POST',
    '/manufacturer/v1/attestation-keys',
    key,
    attestationKeyRegistration(ed25519Generate().secretKey, m.id as string),
  );
  const model = await call(base, 'POST', '/manufacturer/v1/models', key, { name: `fuzz-${tag}`, deviceClass: `fuzz-${tag}`, batchSize: 4 });
  const spareKey = await call(base, 'POST', '/manufacturer/v1/api-keys', key, { role: 'viewer', name: 'spare' });
  const group = await call(base, 'POST', '/manufacturer/v1/groups', key, { name: `spare-${tag}` });
  const rule = await call(base, 'POST', '/manufacturer/v1/alert-rules', key, {
    name: `spare-${tag}`,
    kind: 'canary_strike',
    params: {},
    webhookUrl: 'http://127.0.0.1:9/fuzz',
  });
  const device = ed25519Generate();
  const cert = {
    v: 1,
    serial: `FUZZ-${tag}`,
    model: `fuzz-${tag}`,
    devicePublicKey: device.publicKey,
    attestationKey: attestation.publicKey,
    issuedAt: '2026-11-01T00:00:00Z',
  };
  const body = JSON.stringify({ certificate: { ...cert, signature: ed25519Sign(attestation.secretKey, certificateSigningString(cert)) } });
  const res = await fetch(`${base}/device/v1/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signDeviceRequest(device, 'POST', '/device/v1/enroll', body) },
    body,
  });
  const enrolled = (await res.json()) as { deviceId: string; claimCode: string };
  if (res.status !== 201) throw new Error(`fuzz setup: enroll -> ${res.status} ${JSON.stringify(enrolled)}`);
  const owner = await call(base, 'POST', '/owner/v1/claim', {}, { claimCode: enrolled.claimCode });
  return {
    operatorKey,
    apiKey: m.apiKey as string,
    ownerToken: owner.ownerToken as string,
    device,
    ids: {
      manufacturer: m.id as string,
      spareManufacturer: spareM.id as string,
      attestationKey: ak.id as string,
      spareAttestationKey: spareAk.id as string,
      model: model.id as string,
      spareApiKey: spareKey.id as string,
      spareGroup: group.id as string,
      spareAlertRule: rule.id as string,
      device: enrolled.deviceId,
    },
  };
}

export const fuzzLine = (r: FuzzResult): string =>
  `fuzz: requests=${r.requests} 5xx=${r.serverErrors} envelope_violations=${r.envelopeViolations}`;
