import type { PipeTransform } from '@nestjs/common';
import { FleetErrors } from '@idlemint/fleet';
import { ULID_RE } from '@idlemint/protocol';

/**
 * A path id. Anything that is not an id answers 404 `<WHAT>.NOT_FOUND`, like an id of another
 * tenant's object: a path never tells which ids exist elsewhere, nor fails on a malformed one.
 */
export class IdPipe implements PipeTransform<unknown, string> {
  constructor(private readonly what: string) {}

  transform(value: unknown): string {
    if (typeof value !== 'string' || !ULID_RE.test(value)) throw FleetErrors.notFound(this.what);
    return value;
  }
}
