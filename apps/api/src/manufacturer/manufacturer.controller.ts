import { Body, Controller, Get, Headers, Param, Post, Query } from '@nestjs/common';
import { ZodPipe } from '@idlemint/core';
import { TenantsService } from '@idlemint/fleet';
import { attestationKeySchema, deviceModelSchema, listQuerySchema } from '@idlemint/protocol';
import type { z } from 'zod';

/** Manufacturer API: every lookup is scoped to the key's own tenant. */
@Controller('manufacturer/v1')
export class ManufacturerController {
  constructor(private readonly tenants: TenantsService) {}

  @Post('attestation-keys')
  async addAttestationKey(@Headers('x-api-key') key: string | undefined, @Body(new ZodPipe(attestationKeySchema)) body: z.infer<typeof attestationKeySchema>) {
    const p = await this.tenants.authenticateApiKey(key);
    return this.tenants.addAttestationKey(p, body.publicKey);
  }

  @Post('models')
  async addModel(@Headers('x-api-key') key: string | undefined, @Body(new ZodPipe(deviceModelSchema)) body: z.infer<typeof deviceModelSchema>) {
    const p = await this.tenants.authenticateApiKey(key);
    return this.tenants.addModel(p, body);
  }

  @Get('devices')
  async devices(@Headers('x-api-key') key: string | undefined, @Query(new ZodPipe(listQuerySchema, 'REQUEST.INVALID_QUERY')) q: z.infer<typeof listQuerySchema>) {
    const p = await this.tenants.authenticateApiKey(key);
    return { devices: await this.tenants.listDevices(p, q.limit) };
  }

  @Get('devices/:id')
  async device(@Headers('x-api-key') key: string | undefined, @Param('id') id: string) {
    const p = await this.tenants.authenticateApiKey(key);
    return this.tenants.device(p, id);
  }
}
