import type { PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { DomainError } from '../errors/domain-error.js';

/**
 * Validates a body, query or param against a schema declared once in libs/protocol.
 * Schemas are strict objects, so unknown fields are refused (no mass assignment).
 */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    /** Read by the OpenAPI builder (apps/api openapi.ts) to document the parameter. */
    readonly schema: S,
    readonly code = 'REQUEST.INVALID_BODY',
  ) {}

  transform(value: unknown): z.infer<S> {
    const result = this.schema.safeParse(value);
    if (result.success) return result.data;
    throw new DomainError(this.code, 'bad_request', 'request does not match the schema', {
      issues: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  }
}
