import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse } from '@nestjs/swagger';
import { ApiErrors, DependencyMonitor, DomainError } from '@idlemint/core';
import { z } from 'zod';

const liveSchema = z.object({ status: z.literal('live') });
const healthSchema = z.object({ status: z.literal('ok'), postgres: z.literal('up'), redis: z.literal('up') });
/** The 503 of `ready` and `/health`, as documented (its message names what is down). */
const dependencyDown = () =>
  new DomainError('HEALTH.DEPENDENCY_DOWN', 'unavailable', 'PostgreSQL or Redis unavailable (details say which)');

/**
 * Probes. `live`: the process answers (no I/O, fast under any load). `ready` (and `/health`): both
 * PostgreSQL and Redis answer; a 503 names which one is down, never why in its own words.
 */
@Controller('health')
export class HealthController {
  constructor(private readonly deps: DependencyMonitor) {}

  @Get('live')
  @ApiOkResponse({ description: 'the process answers', standardSchema: liveSchema })
  live() {
    return { status: 'live' };
  }

  @Get('ready')
  @ApiErrors(dependencyDown())
  @ApiOkResponse({ description: 'PostgreSQL and Redis answer', standardSchema: healthSchema })
  ready() {
    return this.health();
  }

  @Get()
  @ApiErrors(dependencyDown())
  @ApiOkResponse({ description: 'PostgreSQL and Redis answer', standardSchema: healthSchema })
  async health() {
    const state = await this.deps.check();
    const down = (Object.keys(state) as (keyof typeof state)[]).filter((k) => state[k] === 'down');
    if (down.length > 0) {
      throw new DomainError('HEALTH.DEPENDENCY_DOWN', 'unavailable', `${down.join(' and ')} unavailable`, { ...state, retryAfterS: 2 });
    }
    return { status: 'ok', ...state };
  }
}
