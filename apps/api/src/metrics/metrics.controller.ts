import { Controller, Get, Header, Headers, Res } from '@nestjs/common';
import { ApiOkResponse, ApiProduces } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiErrors, Metrics } from '@idlemint/core';
import { FleetErrors, TenantsService } from '@idlemint/fleet';

/**
 * Prometheus scrape target of the api: not public. The operator key goes in `x-operator-key`, or
 * as `Authorization: Bearer <key>` (what Prometheus's `authorization` scrape setting sends).
 */
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: Metrics,
    private readonly tenants: TenantsService,
  ) {}

  @Get()
  @Header('cache-control', 'no-store')
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Prometheus text exposition format 0.0.4', schema: { type: 'string' } })
  @ApiErrors(FleetErrors.operatorKeyInvalid())
  async scrape(
    @Headers('x-operator-key') key: string | undefined,
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const bearer = authorization?.match(/^Bearer (.+)$/i)?.[1];
    this.tenants.assertOperator(key ?? bearer);
    const { contentType, body } = await this.metrics.render();
    void reply.header('content-type', contentType);
    return body;
  }
}
