import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import { afterEach } from 'vitest';
import { repoRoot } from '@idlemint/core';

/**
 * The API contract, checked on every answer the integration tests get: `watchContract` hooks the
 * api under test (startApi does it), and each response of a documented operation is checked
 * against the committed openapi.json. An undocumented status, a body where none is documented, a
 * field the schema does not name or a field of the wrong type is a violation; the test that made
 * the call fails (afterEach below), and what is left when the api closes fails the file.
 * apps/api/test/contract.spec.ts proves the check catches each kind.
 */

interface MediaType {
  schema?: object;
}
interface Operation {
  responses: Record<string, { content?: Record<string, MediaType> }>;
}
export interface OpenApiDoc {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, object> };
}

export interface Exchange {
  method: string;
  /** Fastify's route pattern (`/x/:id`) or the document's (`/x/{id}`). */
  route: string;
  status: number;
  contentType?: string;
  body: string;
}

export class ContractChecker {
  private readonly ajv = new Ajv({ allErrors: true, strict: false });
  private readonly compiled = new Map<string, ValidateFunction>();
  /** How many answers of documented operations were checked (a check that saw nothing proves nothing). */
  checked = 0;

  constructor(private readonly doc: OpenApiDoc) {
    addFormats(this.ajv);
    // Response schemas may point at components: give them one home to resolve against.
    this.ajv.addSchema(toJsonSchema({ components: doc.components ?? {} }) as object, 'openapi.json');
  }

  /** What is wrong with this answer, or null. Routes the document does not describe (Swagger UI, the console, 404s) are not checked. */
  check(x: Exchange): string | null {
    const path = x.route.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const method = x.method.toLowerCase();
    const op = this.doc.paths[path]?.[method];
    if (!op) return null;
    this.checked++;
    const where = `${x.method} ${path} → ${x.status}`;
    const response = op.responses[String(x.status)];
    if (!response) return `${where}: status not documented (documented: ${Object.keys(op.responses).join(', ')})`;
    const media = Object.entries(response.content ?? {});
    if (media.length === 0) return x.body === '' ? null : `${where}: answered a body where none is documented: ${x.body.slice(0, 200)}`;
    const type = (x.contentType ?? '').split(';')[0]!.trim();
    const entry = media.find(([t]) => t === type);
    if (!entry) return `${where}: content type ${type || '(none)'} not documented (documented: ${media.map(([t]) => t).join(', ')})`;
    const schema = entry[1].schema;
    if (!schema) return null;
    let body: unknown = x.body;
    if (type === 'application/json') {
      try {
        body = JSON.parse(x.body);
      } catch {
        return `${where}: body is not JSON: ${x.body.slice(0, 200)}`;
      }
    }
    const validate = this.validator(`${method} ${path} ${x.status} ${type}`, schema);
    if (validate(body)) return null;
    const errors = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}${describeParams(e.params)}`);
    return `${where}: body does not match the documented schema:\n    ${errors.join('\n    ')}\n    body: ${x.body.slice(0, 500)}`;
  }

  private validator(key: string, schema: object): ValidateFunction {
    let v = this.compiled.get(key);
    if (!v) {
      v = this.ajv.compile(toJsonSchema(schema) as object);
      this.compiled.set(key, v);
    }
    return v;
  }
}

/**
 * An OpenAPI 3.0 schema as the JSON Schema Ajv reads: `#/components/…` refs resolved against the
 * document's components, 3.0's boolean `exclusiveMinimum`/`exclusiveMaximum` made numbers, and
 * null added to the `enum` of a `nullable` schema (Ajv knows `nullable`, but checks `enum` as is).
 */
function toJsonSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toJsonSchema);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `openapi.json${v}` : toJsonSchema(v);
  }
  if (out.nullable === true && Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...(out.enum as unknown[]), null];
  for (const [exclusive, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof out[exclusive] !== 'boolean') continue;
    if (out[exclusive]) out[exclusive] = out[bound];
    else delete out[exclusive];
    if (out[exclusive] !== undefined) delete out[bound];
  }
  return out;
}

function describeParams(params: Record<string, unknown>): string {
  const named = params.additionalProperty ?? params.missingProperty ?? params.allowedValues ?? params.type;
  return named === undefined ? '' : ` (${JSON.stringify(named)})`;
}

export function loadDocument(): OpenApiDoc {
  return JSON.parse(readFileSync(join(repoRoot(), 'openapi.json'), 'utf8')) as OpenApiDoc;
}

/** Records each answer of `fastify` and hands its violations to `report`. Call before the server is ready. */
export function recordAnswers(fastify: FastifyInstance, checker: ContractChecker, report: (violation: string) => void): void {
  fastify.addHook('onSend', async (request, reply, payload) => {
    const route = request.routeOptions.url;
    if (route !== undefined && request.method !== 'HEAD' && request.method !== 'OPTIONS') {
      const body =
        typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : payload == null ? '' : null;
      // Streams (static files) are never API answers.
      if (body !== null) {
        const contentType = reply.getHeader('content-type');
        const violation = checker.check({
          method: request.method,
          route,
          status: reply.statusCode,
          body,
          ...(typeof contentType === 'string' ? { contentType } : {}),
        });
        if (violation) report(violation);
      }
    }
    return payload;
  });
}

let shared: ContractChecker | undefined;
const pending: string[] = [];

/** Hooks the api under test: every answer of a documented operation is checked against openapi.json. */
export function watchContract(fastify: FastifyInstance): ContractChecker {
  shared ??= new ContractChecker(loadDocument());
  recordAnswers(fastify, shared, (v) => pending.push(v));
  return shared;
}

/** Throws the violations seen since the last call (the calling test or the closing api fails with them). */
export function assertContractKept(): void {
  if (pending.length === 0) return;
  const seen = pending.splice(0);
  throw new Error(`answers that break openapi.json (${seen.length}):\n  ${seen.join('\n  ')}`);
}

// Every test file that starts an api imports this module: its tests fail on the answers they caused.
afterEach(() => assertContractKept());
