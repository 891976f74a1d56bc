import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiOkResponse } from '@nestjs/swagger';
import { QueueRegistry } from '../admin/queue-registry.js';
import { OperatorAuthGuard } from '../common/auth.js';
import { queueDepthsSchema } from './operator.responses.js';

/** Operator API: job counts of every queue (the dashboard is at /admin/queues). */
@Controller('operator/v1')
@UseGuards(OperatorAuthGuard)
export class OperatorQueuesController {
  constructor(private readonly registry: QueueRegistry) {}

  @Get('queues')
  @ApiOkResponse({ standardSchema: queueDepthsSchema })
  async queues() {
    return { queues: await this.registry.depths() };
  }
}
