import { Controller, Get } from '@nestjs/common';
import { DependencyMonitor, DomainError } from '@idlemint/core';

/**
 * Probes. `live`: the process answers (no I/O, fast under any load). `ready` (and `/health`): both
 * PostgreSQL and Redis answer; a 503 names which one is down, never why in its own words.
 */
@Controller('health')
export class HealthController {
  constructor(private readonly deps: DependencyMonitor) {}

  @Get('live')
  live() {
    return { status: 'live' };
  }

  @Get('ready')
  ready() {
    return this.health();
  }

  @Get()
  async health() {
    const state = await this.deps.check();
    const down = (Object.keys(state) as (keyof typeof state)[]).filter((k) => state[k] === 'down');
    if (down.length > 0) {
      throw new DomainError('HEALTH.DEPENDENCY_DOWN', 'unavailable', `${down.join(' and ')} unavailable`, { ...state, retryAfterS: 2 });
    }
    return { status: 'ok', ...state };
  }
}
