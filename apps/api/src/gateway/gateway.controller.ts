import { Body, Controller, Get, HttpCode, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiAcceptedResponse, ApiOkResponse, ApiResponse } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiErrors, ZodPipe } from '@idlemint/core';
import { DevicesService, FleetErrors, type DeviceContext } from '@idlemint/fleet';
import {
  claimBodySchema,
  claimResponseSchema,
  earningsResponseSchema,
  enrollBodySchema,
  enrollResponseSchema,
  hashShareClaimResponseSchema,
  heartbeatBodySchema,
  heartbeatResponseSchema,
  resultBodySchema,
  resultResponseSchema,
  type ClaimBody,
  type EnrollBody,
  type HeartbeatBody,
  type ResultBody,
} from '@idlemint/protocol';
import { DeviceSharesService } from '@idlemint/shares';
import { VerificationService } from '@idlemint/verification';
import { AssignmentsService, WorkErrors, networkOrigin } from '@idlemint/work';
import { AllowUnenrolled, DeviceAuthGuard, type DeviceRequest } from './device-auth.guard.js';
import { EarningsService } from './earnings.service.js';

const ID = /^[0-9A-HJKMNP-TV-Z]{26}$/; // ULID

/** Device protocol v1 (docs/protocol/device-v1.md). */
@Controller('device/v1')
@UseGuards(DeviceAuthGuard)
export class GatewayController {
  constructor(
    private readonly devices: DevicesService,
    private readonly assignments: AssignmentsService,
    private readonly verification: VerificationService,
    private readonly earnings: EarningsService,
    private readonly hashShares: DeviceSharesService,
  ) {}

  @Post('enroll')
  @ApiResponse({ status: 201, description: 'enrolled now', standardSchema: enrollResponseSchema })
  @ApiResponse({
    status: 200,
    description: 'already enrolled with this certificate (re-enroll): the same answer',
    standardSchema: enrollResponseSchema,
  })
  @AllowUnenrolled()
  @ApiErrors(
    FleetErrors.keyMismatch(),
    FleetErrors.certSignatureInvalid(),
    FleetErrors.attestationKeyUnknown(),
    FleetErrors.attestationKeyRevoked(),
    FleetErrors.attestationKeyMismatch(),
    FleetErrors.modelUnknown(),
    FleetErrors.manufacturerSuspended(),
    FleetErrors.serialTaken(),
  )
  async enroll(
    @Req() req: DeviceRequest,
    @Body(new ZodPipe(enrollBodySchema)) body: EnrollBody,
    @Res({ passthrough: true }) res: FastifyReply,
  ) {
    const { created, body: answer } = await this.devices.enroll(req.deviceKey!, body.certificate);
    void res.status(created ? 201 : 200);
    return answer;
  }

  @Post('heartbeat')
  @HttpCode(200)
  @ApiOkResponse({ standardSchema: heartbeatResponseSchema })
  heartbeat(@Req() req: DeviceRequest, @Body(new ZodPipe(heartbeatBodySchema)) body: HeartbeatBody) {
    return this.devices.heartbeat(enrolled(req), body);
  }

  @Post('work/claim')
  @ApiResponse({
    status: 200,
    description: 'an assignment: items to verify under a lease (tx-verify), or a hash-share job when asked for',
    standardSchema: z.union([claimResponseSchema, hashShareClaimResponseSchema]),
  })
  @ApiResponse({ status: 204, description: 'no work for this device now (policy, quota or an empty queue)' })
  async claim(
    @Req() req: DeviceRequest,
    @Body(new ZodPipe(claimBodySchema.optional())) body: ClaimBody | undefined,
    @Res({ passthrough: true }) res: FastifyReply,
  ) {
    const device = enrolled(req);
    // Work policy from the cached context (no DB round trip): hours, idleness, power, tenant status.
    const mayWork = device.status === 'active' && this.devices.mayWorkNow(device);
    const maxItems = Math.min(body?.maxItems ?? Number.MAX_SAFE_INTEGER, device.policy.maxItems);
    let answer: unknown = mayWork ? await this.assignments.claim(device, { ...body, maxItems }, networkOrigin(req.ip)) : null;
    // The hash-share kind answers beside tx-verify (extension hash-share/1), only when asked for.
    if (!answer && mayWork && body?.kinds?.includes('hash-share')) {
      const job = await this.hashShares.job(device.id);
      answer = job ? { assignment: job } : null;
    }
    if (!answer) {
      void res.status(204);
      return;
    }
    void res.status(200);
    return answer;
  }

  @Post('work/:assignmentId/result')
  @HttpCode(202)
  @ApiAcceptedResponse({ standardSchema: resultResponseSchema })
  @ApiErrors(
    WorkErrors.assignmentNotFound(),
    WorkErrors.notYours(),
    WorkErrors.alreadyAnswered(),
    WorkErrors.deadlinePassed(),
    WorkErrors.verdictsInvalid(0),
    WorkErrors.resultSignatureInvalid(),
  )
  result(@Req() req: DeviceRequest, @Param('assignmentId') assignmentId: string, @Body(new ZodPipe(resultBodySchema)) body: ResultBody) {
    const device = enrolled(req);
    if (!ID.test(assignmentId)) throw WorkErrors.assignmentNotFound();
    return this.verification.submit(device, assignmentId, body);
  }

  @Get('earnings')
  @ApiOkResponse({ description: 'amounts in minor units of the platform currency', standardSchema: earningsResponseSchema })
  earningsOf(@Req() req: DeviceRequest) {
    return this.earnings.forDevice(enrolled(req).id);
  }
}

function enrolled(req: DeviceRequest): DeviceContext {
  if (!req.device) throw new Error('device guard let an unenrolled key through');
  return req.device;
}
