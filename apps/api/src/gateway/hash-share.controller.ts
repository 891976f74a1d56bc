import { Body, Controller, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiNoContentResponse, ApiOkResponse, ApiCreatedResponse } from '@nestjs/swagger';
import { ZodPipe } from '@idlemint/core';
import { DevicesService, type DeviceContext } from '@idlemint/fleet';
import {
  hashShareJobSchema,
  hashShareSubmitBodySchema,
  hashShareSubmitResponseSchema,
  stratumCredentialResponseSchema,
  type HashShareSubmitBody,
  type HashShareSubmitResponse,
  type StratumCredentialResponse,
} from '@idlemint/protocol';
import { DeviceSharesService, StratumCredentialsService } from '@idlemint/shares';
import { DeviceAuthGuard, type DeviceRequest } from './device-auth.guard.js';

/** Device protocol v1, extension hash-share/1 (docs/protocol/hash-share-v1.md): signed like every v1 route. */
@Controller('device/v1/hash-share')
@UseGuards(DeviceAuthGuard)
export class HashShareController {
  constructor(
    private readonly devices: DevicesService,
    private readonly shares: DeviceSharesService,
    private readonly credentials: StratumCredentialsService,
  ) {}

  /** The same answer as `work/claim {"kinds":["hash-share"]}`, without the assignment wrapper. */
  @Post('job')
  @ApiOkResponse({ description: 'a job to mine', standardSchema: hashShareJobSchema })
  @ApiNoContentResponse({ description: 'no job for this device now (policy or no template yet)' })
  async job(@Req() req: DeviceRequest, @Res({ passthrough: true }) res: FastifyReply) {
    const device = enrolled(req);
    const job = device.status === 'active' && this.devices.mayWorkNow(device) ? await this.shares.job(device.id) : null;
    void res.status(job ? 200 : 204);
    return job ?? undefined;
  }

  @Post('shares')
  @HttpCode(200)
  @ApiOkResponse({ description: 'a verdict per share, in order', standardSchema: hashShareSubmitResponseSchema })
  async submit(
    @Req() req: DeviceRequest,
    @Body(new ZodPipe(hashShareSubmitBodySchema)) body: HashShareSubmitBody,
  ): Promise<HashShareSubmitResponse> {
    const device = enrolled(req);
    if (device.status !== 'active') return { results: body.shares.map(() => ({ accepted: false, code: 'SHARE.STALE' })), difficulty: 0 };
    return this.shares.submit(device.id, body);
  }

  /** A Stratum credential for this device (replaces any earlier one). */
  @Post('credential')
  @HttpCode(201)
  @ApiCreatedResponse({ standardSchema: stratumCredentialResponseSchema })
  async credential(@Req() req: DeviceRequest): Promise<StratumCredentialResponse> {
    return this.credentials.issue(enrolled(req).id);
  }
}

function enrolled(req: DeviceRequest): DeviceContext {
  if (!req.device) throw new Error('device guard let an unenrolled key through');
  return req.device;
}
