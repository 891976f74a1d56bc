import { Body, Controller, Get, Headers, HttpCode, Param, Patch, Post, Query, Res, UseGuards } from '@nestjs/common';
import { ApiOkResponse } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiErrors, ZodPipe } from '@idlemint/core';
import { BulkActionsService, DeviceRegistryService, FleetErrors, type ManufacturerPrincipal } from '@idlemint/fleet';
import {
  BULK_MAX_DEVICES,
  bulkActionSchema,
  deviceListQuerySchema,
  devicePatchSchema,
  type BulkAction,
  type DeviceListQuery,
  type DevicePatch,
} from '@idlemint/protocol';
import { ManufacturerAuthGuard, Principal } from '../common/auth.js';
import { IdPipe } from '../common/params.js';
import { DeviceDetailService } from './device-detail.service.js';
import { bulkResultSchema, deviceDetailSchema, devicePageSchema, deviceSchema } from './manufacturer.responses.js';

/** Manufacturer API, the device registry: list, detail, edits, quarantine release, bulk actions. */
@Controller('manufacturer/v1/devices')
@UseGuards(ManufacturerAuthGuard)
export class DevicesController {
  constructor(
    private readonly registry: DeviceRegistryService,
    private readonly bulk: BulkActionsService,
    private readonly detail: DeviceDetailService,
  ) {}

  /** Filtered, sorted, keyset-paginated (docs/fleet-api.md). */
  @Get()
  @ApiOkResponse({ standardSchema: devicePageSchema })
  @ApiErrors(FleetErrors.invalidCursor())
  list(@Principal() p: ManufacturerPrincipal, @Query(new ZodPipe(deviceListQuerySchema, 'REQUEST.INVALID_QUERY')) q: DeviceListQuery) {
    return this.registry.list(p, q);
  }

  /**
   * One action on the devices the ids or the filter select, in one transaction with its audit
   * row. Under an Idempotency-Key the first answer is stored: the same key and body get it again
   * (header idempotent-replayed: true) with no second effect; another body gets 409.
   */
  @Post('bulk')
  @ApiOkResponse({
    description: 'done, or the first answer again for a repeated idempotency-key (header idempotent-replayed)',
    standardSchema: bulkResultSchema,
  })
  @HttpCode(200)
  @ApiErrors(
    FleetErrors.forbiddenRole(),
    FleetErrors.idempotencyKeyInvalid(),
    FleetErrors.notFound('device'),
    FleetErrors.notFound('group'),
    FleetErrors.revokedIsPermanent(),
    FleetErrors.idempotencyKeyReused(),
    FleetErrors.bulkTooMany(BULK_MAX_DEVICES),
  )
  async bulkAction(
    @Principal() p: ManufacturerPrincipal,
    @Headers('idempotency-key') key: string | undefined,
    @Body(new ZodPipe(bulkActionSchema)) body: BulkAction,
    @Res({ passthrough: true }) res: FastifyReply,
  ) {
    const { result, replayed } = await this.bulk.run(p, key, body);
    if (replayed) void res.header('idempotent-replayed', 'true');
    return result;
  }

  @Get(':id')
  @ApiOkResponse({ standardSchema: deviceDetailSchema })
  @ApiErrors(FleetErrors.notFound('device'))
  get(@Principal() p: ManufacturerPrincipal, @Param('id', new IdPipe('device')) id: string) {
    return this.detail.get(p, id);
  }

  @Patch(':id')
  @ApiOkResponse({ standardSchema: deviceSchema })
  @ApiErrors(FleetErrors.forbiddenRole(), FleetErrors.notFound('device'), FleetErrors.notFound('group'))
  patch(
    @Principal() p: ManufacturerPrincipal,
    @Param('id', new IdPipe('device')) id: string,
    @Body(new ZodPipe(devicePatchSchema)) body: DevicePatch,
  ) {
    return this.registry.patch(p, id, body);
  }

  /** Quarantined → active with strikes reset; 409 DEVICE.NOT_QUARANTINED otherwise. */
  @Post(':id/release')
  @ApiOkResponse({ standardSchema: deviceSchema })
  @HttpCode(200)
  @ApiErrors(FleetErrors.forbiddenRole(), FleetErrors.notFound('device'), FleetErrors.notQuarantined())
  release(@Principal() p: ManufacturerPrincipal, @Param('id', new IdPipe('device')) id: string) {
    return this.registry.release(p, id);
  }
}
