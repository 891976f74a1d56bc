import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse } from '@nestjs/swagger';
import { AuditService } from '@idlemint/audit';
import { ApiErrors, ZodPipe } from '@idlemint/core';
import {
  ApiKeysService,
  CatalogService,
  FleetErrors,
  FleetSeriesService,
  FleetSummaryService,
  TenantsService,
  type ManufacturerPrincipal,
} from '@idlemint/fleet';
import {
  attestationKeySchema,
  auditQuerySchema,
  createApiKeySchema,
  deviceModelSchema,
  fleetSeriesQuerySchema,
  modelPatchSchema,
} from '@idlemint/protocol';
import type { z } from 'zod';
import { ManufacturerAuthGuard, Principal } from '../common/auth.js';
import { IdPipe } from '../common/params.js';
import {
  apiKeyCreatedSchema,
  apiKeyListSchema,
  apiKeyRotatedSchema,
  apiKeySchema,
  attestationKeyListSchema,
  attestationKeyRevokedSchema,
  attestationKeyViewSchema,
  auditPageSchema,
  deviceModelListSchema,
  deviceModelViewSchema,
  fleetSeriesSchema,
  fleetSummarySchema,
} from './manufacturer.responses.js';

/**
 * Manufacturer API, the account: API keys, attestation keys, device models, the fleet summary and
 * the audit log. Every lookup is scoped to the key's own tenant; reads admit admin and viewer
 * keys, changes only admin keys (ManufacturerAuthGuard).
 */
@Controller('manufacturer/v1')
@UseGuards(ManufacturerAuthGuard)
export class ManufacturerController {
  constructor(
    private readonly tenants: TenantsService,
    private readonly apiKeys: ApiKeysService,
    private readonly catalog: CatalogService,
    private readonly summaries: FleetSummaryService,
    private readonly series: FleetSeriesService,
    private readonly audit: AuditService,
  ) {}

  @Get('api-keys')
  @ApiOkResponse({ standardSchema: apiKeyListSchema })
  async listApiKeys(@Principal() p: ManufacturerPrincipal) {
    return { apiKeys: await this.apiKeys.list(p) };
  }

  /** The secret is in this answer only. */
  @Post('api-keys')
  @ApiCreatedResponse({ description: 'the secret is in this answer only', standardSchema: apiKeyCreatedSchema })
  @ApiErrors(FleetErrors.forbiddenRole())
  async createApiKey(
    @Principal() p: ManufacturerPrincipal,
    @Body(new ZodPipe(createApiKeySchema)) body: z.infer<typeof createApiKeySchema>,
  ) {
    const { apiKey, secret } = await this.apiKeys.create(p, body);
    return { ...apiKey, secret };
  }

  /** A new secret with the same role and name; the old key is revoked. The secret is in this answer only. */
  @Post('api-keys/:id/rotate')
  @ApiCreatedResponse({ description: 'the secret is in this answer only', standardSchema: apiKeyRotatedSchema })
  @ApiErrors(FleetErrors.forbiddenRole(), FleetErrors.notFound('api_key'), FleetErrors.apiKeyRevoked())
  async rotateApiKey(@Principal() p: ManufacturerPrincipal, @Param('id', new IdPipe('api_key')) id: string) {
    const { apiKey, secret, rotatedFrom } = await this.apiKeys.rotate(p, id);
    return { ...apiKey, secret, rotatedFrom };
  }

  @Post('api-keys/:id/revoke')
  @ApiOkResponse({ standardSchema: apiKeySchema })
  @HttpCode(200)
  @ApiErrors(FleetErrors.forbiddenRole(), FleetErrors.notFound('api_key'), FleetErrors.apiKeyRevoked(), FleetErrors.lastAdminKey())
  revokeApiKey(@Principal() p: ManufacturerPrincipal, @Param('id', new IdPipe('api_key')) id: string) {
    return this.apiKeys.revoke(p, id);
  }

  @Delete('api-keys/:id')
  @ApiOkResponse({ standardSchema: apiKeySchema })
  @ApiErrors(FleetErrors.forbiddenRole(), FleetErrors.notFound('api_key'), FleetErrors.apiKeyRevoked(), FleetErrors.lastAdminKey())
  deleteApiKey(@Principal() p: ManufacturerPrincipal, @Param('id', new IdPipe('api_key')) id: string) {
    return this.apiKeys.revoke(p, id);
  }

  @Post('attestation-keys')
  @ApiCreatedResponse({ standardSchema: attestationKeyViewSchema })
  @ApiErrors(FleetErrors.forbiddenRole(), FleetErrors.attestationProofInvalid(), FleetErrors.attestationKeyTaken())
  addAttestationKey(
    @Principal() p: ManufacturerPrincipal,
    @Body(new ZodPipe(attestationKeySchema)) body: z.infer<typeof attestationKeySchema>,
  ) {
    return this.tenants.addAttestationKey(p, body.publicKey, body.proof);
  }

  @Get('attestation-keys')
  @ApiOkResponse({ standardSchema: attestationKeyListSchema })
  async listAttestationKeys(@Principal() p: ManufacturerPrincipal) {
    return { attestationKeys: await this.catalog.listAttestationKeys(p) };
  }

  /** Revokes the key and, in the same transaction, every device enrolled under it. */
  @Post('attestation-keys/:id/revoke')
  @ApiOkResponse({ standardSchema: attestationKeyRevokedSchema })
  @HttpCode(200)
  @ApiErrors(FleetErrors.forbiddenRole(), FleetErrors.notFound('attestation_key'))
  revokeAttestationKey(@Principal() p: ManufacturerPrincipal, @Param('id', new IdPipe('attestation_key')) id: string) {
    return this.catalog.revokeAttestationKey(p, id);
  }

  @Delete('attestation-keys/:id')
  @ApiOkResponse({ standardSchema: attestationKeyRevokedSchema })
  @ApiErrors(FleetErrors.forbiddenRole(), FleetErrors.notFound('attestation_key'))
  deleteAttestationKey(@Principal() p: ManufacturerPrincipal, @Param('id', new IdPipe('attestation_key')) id: string) {
    return this.catalog.revokeAttestationKey(p, id);
  }

  @Post('models')
  @ApiCreatedResponse({ standardSchema: deviceModelViewSchema })
  @ApiErrors(FleetErrors.forbiddenRole(), FleetErrors.nameTaken('model'))
  addModel(@Principal() p: ManufacturerPrincipal, @Body(new ZodPipe(deviceModelSchema)) body: z.infer<typeof deviceModelSchema>) {
    return this.tenants.addModel(p, body);
  }

  @Get('models')
  @ApiOkResponse({ standardSchema: deviceModelListSchema })
  async listModels(@Principal() p: ManufacturerPrincipal) {
    return { models: await this.catalog.listModels(p) };
  }

  /** The model's work policy override (null clears it). */
  @Patch('models/:id')
  @ApiOkResponse({ standardSchema: deviceModelViewSchema })
  @ApiErrors(FleetErrors.forbiddenRole(), FleetErrors.notFound('model'))
  setModelPolicy(
    @Principal() p: ManufacturerPrincipal,
    @Param('id', new IdPipe('model')) id: string,
    @Body(new ZodPipe(modelPatchSchema)) body: z.infer<typeof modelPatchSchema>,
  ) {
    return this.catalog.setModelPolicy(p, id, body.policy);
  }

  @Get('fleet/summary')
  @ApiOkResponse({ standardSchema: fleetSummarySchema })
  summary(@Principal() p: ManufacturerPrincipal) {
    return this.summaries.summary(p);
  }

  /**
   * One metric of the fleet per hour or day, from the hourly rollup the worker keeps (about half a
   * minute behind; `through` says how far). Counts are numbers, rewards decimal strings of minor units.
   */
  @Get('fleet/series')
  @ApiOkResponse({ standardSchema: fleetSeriesSchema })
  @ApiErrors(FleetErrors.seriesTooLong(1_000))
  fleetSeries(
    @Principal() p: ManufacturerPrincipal,
    @Query(new ZodPipe(fleetSeriesQuerySchema, 'REQUEST.INVALID_QUERY')) q: z.infer<typeof fleetSeriesQuerySchema>,
  ) {
    return this.series.series(p, q);
  }

  /** This tenant's audit log, newest first. */
  @Get('audit')
  @ApiOkResponse({ standardSchema: auditPageSchema })
  @ApiErrors(FleetErrors.invalidCursor())
  auditLog(
    @Principal() p: ManufacturerPrincipal,
    @Query(new ZodPipe(auditQuerySchema, 'REQUEST.INVALID_QUERY')) q: z.infer<typeof auditQuerySchema>,
  ) {
    return this.audit.list({ ...q, manufacturerId: p.manufacturerId });
  }
}
