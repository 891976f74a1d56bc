import { Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiOkResponse } from '@nestjs/swagger';
import { AuditService } from '@idlemint/audit';
import { ApiErrors, ZodPipe } from '@idlemint/core';
import { FleetErrors, ManufacturersService } from '@idlemint/fleet';
import { operatorAuditQuerySchema, pageQuerySchema, type AuditQuery, type PageQuery } from '@idlemint/protocol';
import { OperatorAuthGuard } from '../common/auth.js';
import { IdPipe } from '../common/params.js';
import { deviceStandingSchema, manufacturerPageSchema, manufacturerSchema } from './operator.responses.js';
import { auditPageSchema } from '../manufacturer/manufacturer.responses.js';

const QUERY = 'REQUEST.INVALID_QUERY';

/** Operator API: manufacturers (list, suspend, resume), any device's standing, and the whole platform's audit log. */
@Controller('operator/v1')
@UseGuards(OperatorAuthGuard)
export class OperatorManufacturersController {
  constructor(
    private readonly manufacturers: ManufacturersService,
    private readonly audit: AuditService,
  ) {}

  @Get('manufacturers')
  @ApiOkResponse({ standardSchema: manufacturerPageSchema })
  @ApiErrors(FleetErrors.invalidCursor())
  list(@Query(new ZodPipe(pageQuerySchema, QUERY)) q: PageQuery) {
    return this.manufacturers.list(q);
  }

  /** Its API keys stop working and its devices get no work, within 5 s. */
  @Post('manufacturers/:id/suspend')
  @ApiOkResponse({ standardSchema: manufacturerSchema })
  @HttpCode(200)
  @ApiErrors(FleetErrors.notFound('manufacturer'))
  suspend(@Param('id', new IdPipe('manufacturer')) id: string) {
    return this.manufacturers.suspend(id);
  }

  /** A device's reputation (0..1) and standing, whichever manufacturer it belongs to. */
  @Get('devices/:id')
  @ApiOkResponse({ standardSchema: deviceStandingSchema })
  @ApiErrors(FleetErrors.notFound('device'))
  device(@Param('id', new IdPipe('device')) id: string) {
    return this.manufacturers.deviceStanding(id);
  }

  @Post('manufacturers/:id/resume')
  @ApiOkResponse({ standardSchema: manufacturerSchema })
  @HttpCode(200)
  @ApiErrors(FleetErrors.notFound('manufacturer'))
  resume(@Param('id', new IdPipe('manufacturer')) id: string) {
    return this.manufacturers.resume(id);
  }

  /** Every tenant's audit rows (or one tenant's), newest first. */
  @Get('audit')
  @ApiOkResponse({ standardSchema: auditPageSchema })
  @ApiErrors(FleetErrors.invalidCursor())
  auditLog(@Query(new ZodPipe(operatorAuditQuerySchema, QUERY)) q: AuditQuery) {
    return this.audit.list(q);
  }
}
