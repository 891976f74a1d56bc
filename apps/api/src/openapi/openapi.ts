import type { INestApplication, Type } from '@nestjs/common';
import { METHOD_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { apiErrorsOf, DomainError, STATUS_OF, ZodPipe, type ApiErrorDoc } from '@idlemint/core';

/**
 * The OpenAPI 3 document, generated from the controllers: bodies, queries and path parameters
 * from the zod schema each route validates with (ZodBody/ZodQuery/ZodParam, or a plain
 * `@Body(new ZodPipe(schema))`), the error codes each route can answer (its @ApiErrors, its
 * validation codes, and the codes of its API's authentication, rate limit and body parsing), and
 * the API's security scheme. Success answers come from the zod schema each route names in
 * `@ApiOkResponse({ standardSchema })` (or Created/Accepted/ApiResponse). `npm run openapi` writes it to openapi.json (sorted, stable);
 * apps/api/test/openapi.int-spec.ts fails when the committed file differs.
 */

export const DOCS_PATH = 'docs';
export const DOCS_JSON_PATH = 'docs/json';

type Operation = {
  operationId?: string;
  parameters?: { name: string; in: string }[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
  security?: Record<string, string[]>[];
};

interface ApiSurface {
  prefix: string;
  security: string | null;
  errors: ApiErrorDoc[];
  /** Errors of every route but GET and HEAD (ManufacturerAuthGuard admits only admin keys there by default). */
  writeErrors?: ApiErrorDoc[];
  /** Header parameters the security scheme already documents. */
  authHeaders: string[];
}

const err = (status: number, code: string, message: string): ApiErrorDoc => ({ status, code, message });
const RATE_LIMITED = err(429, 'RATE.LIMITED', 'more requests a minute than the credential’s budget (retry-after says when)');
const AUTH_FAILURES = err(
  429,
  'RATE.AUTH_FAILURES',
  'too many failed authentications from this address this minute (retry-after says when)',
);

/** What every route of an API answers besides its own errors. */
const SURFACES: ApiSurface[] = [
  {
    prefix: '/operator/',
    security: 'operatorKey',
    errors: [err(401, 'AUTH.OPERATOR_KEY_INVALID', 'missing or wrong operator key'), RATE_LIMITED, AUTH_FAILURES],
    authHeaders: ['x-operator-key'],
  },
  {
    prefix: '/manufacturer/',
    security: 'apiKey',
    errors: [err(401, 'AUTH.API_KEY_INVALID', 'missing, unknown or revoked API key'), RATE_LIMITED, AUTH_FAILURES],
    writeErrors: [err(403, 'AUTH.ROLE_FORBIDDEN', 'this key may not do that (changes need an admin key)')],
    authHeaders: ['x-api-key'],
  },
  {
    prefix: '/owner/',
    security: 'ownerToken',
    errors: [err(401, 'OWNER.UNAUTHORIZED', 'missing or unknown owner token'), RATE_LIMITED, AUTH_FAILURES],
    authHeaders: ['authorization'],
  },
  {
    prefix: '/device/',
    security: 'deviceSignature',
    errors: [
      err(401, 'DEVICE.KEY_INVALID', 'x-device-key malformed'),
      err(401, 'DEVICE.TIMESTAMP_INVALID', 'x-device-timestamp malformed'),
      err(401, 'DEVICE.TIMESTAMP_OUT_OF_WINDOW', 'timestamp too far from the gateway clock'),
      err(401, 'DEVICE.NONCE_INVALID', 'x-device-nonce malformed'),
      err(401, 'DEVICE.NONCE_REUSED', 'nonce already used'),
      err(401, 'DEVICE.SIGNATURE_INVALID', 'request signature does not verify'),
      err(401, 'DEVICE.NOT_ENROLLED', 'device key is not enrolled'),
      err(403, 'DEVICE.REVOKED', 'device was revoked'),
      err(429, 'DEVICE.RATE_LIMITED', 'too many requests from this device'),
      err(429, 'DEVICE.FLEET_RATE_LIMITED', 'too many requests from this manufacturer’s fleet'),
    ],
    authHeaders: ['x-device-key', 'x-device-timestamp', 'x-device-nonce', 'x-device-signature'],
  },
];
const BODY_ERRORS = [
  err(400, 'REQUEST.INVALID_JSON', 'body is not valid JSON'),
  err(413, 'REQUEST.TOO_LARGE', 'body larger than allowed'),
  err(415, 'REQUEST.UNSUPPORTED_MEDIA_TYPE', 'body is not application/json'),
];

/** What the HTTP layer answers before any route runs (libs/core/src/http/framework-errors.ts): any route can get these. */
const TRANSPORT_ERRORS = [
  err(431, 'REQUEST.HEADERS_TOO_LARGE', 'request line and headers are larger than allowed'),
  // Fail fast and shed load (libs/core/src/health, apps/api/src/http/admission.ts): both with retry-after.
  err(503, 'DEPENDENCY.UNAVAILABLE', 'PostgreSQL or Redis is unreachable; retry shortly'),
  err(503, 'SERVER.OVERLOADED', 'the server is at capacity; retry shortly'),
];
/** Routes with path parameters: a parameter longer than the router allows. */
const PATH_PARAM_ERRORS = [
  err(414, 'REQUEST.URI_TOO_LONG', 'a path parameter is longer than allowed'),
  err(400, 'REQUEST.BAD_URL', 'a path parameter is not valid percent-encoding'),
];

interface Route {
  controller: Type;
  method: string;
}

/** Every controller class of the application (works in preview mode: no instance is needed). */
function controllersOf(app: INestApplication): Type[] {
  const seen = new Set<Type>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) if (wrapper.metatype) seen.add(wrapper.metatype as Type);
  }
  return [...seen];
}

function routesOf(controller: Type): Route[] {
  const proto = controller.prototype as Record<string, unknown>;
  return Object.getOwnPropertyNames(proto)
    .filter(
      (m) =>
        m !== 'constructor' && typeof proto[m] === 'function' && Reflect.getMetadata(METHOD_METADATA, proto[m] as object) !== undefined,
    )
    .map((method) => ({ controller, method }));
}

interface ArgMetadata {
  index: number;
  data?: unknown;
  pipes?: unknown[];
  schema?: unknown;
}

function routeArgs(route: Route): ArgMetadata[] {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, route.controller, route.method) ?? {}) as Record<string, ArgMetadata>;
  return Object.values(args);
}

/** A `@Body(new ZodPipe(schema))` declares its schema only to the pipe: put it where swagger reads it. */
function attachZodSchemas(routes: Route[]): void {
  for (const route of routes) {
    for (const arg of routeArgs(route)) {
      const pipe = arg.pipes?.find((p): p is ZodPipe<never> => p instanceof ZodPipe);
      if (pipe && arg.schema === undefined) arg.schema = pipe.schema;
    }
  }
}

/**
 * What a route's parameter pipes refuse with: a ZodPipe its code; any other pipe instance is asked
 * once with an empty value, and the DomainError it throws is documented (IdPipe: `<WHAT>.NOT_FOUND`).
 */
function pipeErrors(route: Route): ApiErrorDoc[] {
  const out: ApiErrorDoc[] = [];
  for (const arg of routeArgs(route)) {
    for (const pipe of arg.pipes ?? []) {
      if (pipe instanceof ZodPipe) {
        out.push(err(400, pipe.code, 'request does not match the schema'));
        continue;
      }
      const transform = (pipe as { transform?: unknown } | null)?.transform;
      if (typeof transform !== 'function') continue;
      try {
        const r: unknown = transform.call(pipe, undefined, { type: 'custom', data: arg.data });
        if (r instanceof Promise) r.catch(() => undefined);
      } catch (e) {
        if (e instanceof DomainError) out.push(err(STATUS_OF[e.kind], e.code, e.message));
      }
    }
  }
  return out;
}

function errorResponse(errors: ApiErrorDoc[]) {
  const codes = [...new Set(errors.map((e) => e.code))].sort();
  const lines = codes.map((c) => `- \`${c}\`: ${errors.find((e) => e.code === c)!.message}`);
  return {
    description: lines.join('\n'),
    content: {
      'application/json': {
        schema: {
          type: 'object',
          required: ['error'],
          additionalProperties: false,
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              additionalProperties: false,
              properties: { code: { type: 'string', enum: codes }, message: { type: 'string' }, details: { type: 'object' } },
            },
          },
        },
      },
    },
  };
}

function enrich(document: OpenAPIObject, routes: Route[]): void {
  const byId = new Map(routes.map((r) => [`${r.controller.name}_${r.method}`, r]));
  for (const [path, item] of Object.entries(document.paths)) {
    const surface = SURFACES.find((s) => path.startsWith(s.prefix));
    for (const [method, op] of Object.entries(item as Record<string, Operation>)) {
      if (!op || typeof op !== 'object' || !('responses' in op)) continue;
      const route = op.operationId ? byId.get(op.operationId) : undefined;
      const errors = [
        ...(surface?.errors ?? []),
        ...(route ? apiErrorsOf(route.controller.prototype as object, route.method) : []),
        ...(route ? pipeErrors(route) : []),
        ...(surface?.writeErrors && !['get', 'head'].includes(method) ? surface.writeErrors : []),
        ...(op.requestBody ? BODY_ERRORS : []),
        ...TRANSPORT_ERRORS,
        ...(path.includes('{') ? PATH_PARAM_ERRORS : []),
      ];
      if (surface?.security) op.security = [{ [surface.security]: [] }];
      if (surface && op.parameters) {
        op.parameters = op.parameters.filter((p) => !(p.in === 'header' && surface.authHeaders.includes(p.name.toLowerCase())));
        if (op.parameters.length === 0) delete op.parameters;
      }
      const byStatus = new Map<number, ApiErrorDoc[]>();
      for (const e of errors) byStatus.set(e.status, [...(byStatus.get(e.status) ?? []), e]);
      for (const [status, list] of byStatus) op.responses[String(status)] = errorResponse(list);
    }
  }
}

/** Keys sorted at every depth (arrays keep their order): one spelling per document. */
export function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortDeep((value as Record<string, unknown>)[k])]),
  );
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const routes = controllersOf(app).flatMap(routesOf);
  attachZodSchemas(routes);
  const config = new DocumentBuilder()
    .setTitle('IdleMint API')
    .setDescription(
      'Operator (`/operator/v1`), manufacturer (`/manufacturer/v1`), owner (`/owner/v1`) APIs and the device gateway (`/device/v1`, signed requests: docs/protocol/device-v1.md). ' +
        'Every error body is `{ "error": { "code", "message", "details"? } }`; each route lists its codes.',
    )
    .setVersion('1')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'x-operator-key', description: 'the operator key' }, 'operatorKey')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'x-api-key', description: 'a manufacturer API key' }, 'apiKey')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'an owner token (from POST /owner/v1/claim)' }, 'ownerToken')
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'x-device-signature',
        description: 'Ed25519 request signature with x-device-key, x-device-timestamp and x-device-nonce (device protocol v1)',
      },
      'deviceSignature',
    )
    .build();
  const document = SwaggerModule.createDocument(app, config, { operationIdFactory: (controller, method) => `${controller}_${method}` });
  enrich(document, routes);
  return sortDeep(document) as OpenAPIObject;
}

/** Swagger UI at /docs and the document at /docs/json. */
export function setupDocs(app: NestFastifyApplication, document: OpenAPIObject): void {
  SwaggerModule.setup(DOCS_PATH, app, document, { jsonDocumentUrl: DOCS_JSON_PATH, raw: ['json'], customSiteTitle: 'IdleMint API' });
}
