import { Body, Controller, Delete, Get, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { ApiErrors, ZodPipe } from '@idlemint/core';
import { FleetErrors, GroupsService, type ManufacturerPrincipal } from '@idlemint/fleet';
import { createGroupSchema, groupPatchSchema, type GroupPatch } from '@idlemint/protocol';
import type { z } from 'zod';
import { ManufacturerAuthGuard, Principal } from '../common/auth.js';
import { IdPipe } from '../common/params.js';

/** Manufacturer API, device groups (membership is set on devices, one by one or in bulk). */
@Controller('manufacturer/v1/groups')
@UseGuards(ManufacturerAuthGuard)
export class GroupsController {
  constructor(private readonly groups: GroupsService) {}

  @Get()
  async list(@Principal() p: ManufacturerPrincipal) {
    return { groups: await this.groups.list(p) };
  }

  @Post()
  @ApiErrors(FleetErrors.forbiddenRole(), FleetErrors.nameTaken('group'))
  create(@Principal() p: ManufacturerPrincipal, @Body(new ZodPipe(createGroupSchema)) body: z.infer<typeof createGroupSchema>) {
    return this.groups.create(p, body);
  }

  @Get(':id')
  @ApiErrors(FleetErrors.notFound('group'))
  get(@Principal() p: ManufacturerPrincipal, @Param('id', new IdPipe('group')) id: string) {
    return this.groups.get(p, id);
  }

  @Patch(':id')
  @ApiErrors(FleetErrors.forbiddenRole(), FleetErrors.notFound('group'), FleetErrors.nameTaken('group'))
  update(
    @Principal() p: ManufacturerPrincipal,
    @Param('id', new IdPipe('group')) id: string,
    @Body(new ZodPipe(groupPatchSchema)) body: GroupPatch,
  ) {
    return this.groups.update(p, id, body);
  }

  /** Its devices are left in no group, in the same transaction. */
  @Delete(':id')
  @ApiErrors(FleetErrors.forbiddenRole(), FleetErrors.notFound('group'))
  remove(@Principal() p: ManufacturerPrincipal, @Param('id', new IdPipe('group')) id: string) {
    return this.groups.remove(p, id);
  }
}
