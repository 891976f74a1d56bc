import { Body, Param, Query } from '@nestjs/common';
import type { z } from 'zod';
import { DomainError, STATUS_OF } from '../errors/domain-error.js';
import { ZodPipe } from './zod.pipe.js';

/**
 * Validation and documentation from one zod schema, declared once per parameter. The schema goes
 * into the route's parameter metadata (Nest 12's Standard Schema slot), where @nestjs/swagger
 * turns it into the OpenAPI request body or parameters; ZodPipe validates with our error shape
 * (400 and the given code). `@Body(new ZodPipe(schema))` is documented too: the OpenAPI builder
 * moves such a pipe's schema into the same slot.
 */
export function ZodBody<S extends z.ZodType>(schema: S, code = 'REQUEST.INVALID_BODY'): ParameterDecorator {
  return withError(Body({ schema, pipes: [new ZodPipe(schema, code)] }), code);
}

export function ZodQuery<S extends z.ZodType>(schema: S, code = 'REQUEST.INVALID_QUERY'): ParameterDecorator {
  return withError(Query({ schema, pipes: [new ZodPipe(schema, code)] }), code);
}

export function ZodParam<S extends z.ZodType>(name: string, schema: S, code = 'REQUEST.INVALID_PARAM'): ParameterDecorator {
  return withError(Param(name, { schema, pipes: [new ZodPipe(schema, code)] }), code);
}

/** Metadata key of the error codes a route documents (read by the OpenAPI builder). */
export const API_ERRORS = 'idlemint:api-errors';

export interface ApiErrorDoc {
  status: number;
  code: string;
  message: string;
}

/**
 * Documents the domain errors a route can answer with, from the errors themselves (their code and
 * kind decide the entry): `@ApiErrors(AlertErrors.ruleNotFound(), FleetErrors.forbiddenRole())`.
 */
export function ApiErrors(...errors: DomainError[]): MethodDecorator {
  return (target, key) =>
    addApiErrors(
      target,
      key,
      errors.map((e) => ({ status: STATUS_OF[e.kind], code: e.code, message: e.message })),
    );
}

export function apiErrorsOf(target: object, key: string | symbol): ApiErrorDoc[] {
  return (Reflect.getMetadata(API_ERRORS, target, key) as ApiErrorDoc[] | undefined) ?? [];
}

function addApiErrors(target: object, key: string | symbol, errors: ApiErrorDoc[]): void {
  Reflect.defineMetadata(API_ERRORS, [...apiErrorsOf(target, key), ...errors], target, key);
}

function withError(decorator: ParameterDecorator, code: string): ParameterDecorator {
  return (target, key, index) => {
    decorator(target, key, index);
    if (key !== undefined) addApiErrors(target, key, [{ status: 400, code, message: 'request does not match the schema' }]);
  };
}
