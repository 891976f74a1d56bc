import { Controller, Get } from '@nestjs/common';
import type { NodeStats } from '@idlemint/protocol';
import { Public } from '../auth/platform-auth.guard.js';
import { StatsService } from './stats.service.js';

@Public()
@Controller()
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get('v1/stats')
  async get(): Promise<NodeStats> {
    return this.stats.stats();
  }

  @Get('health')
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }
}
