import { Body, Controller, Delete, Get, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse } from '@nestjs/swagger';
import { ApiErrors, ZodPipe } from '@idlemint/core';
import { FleetErrors, GroupsService, type ManufacturerPrincipal } from '@idlemint/fleet';
import { createGroupSchema, groupPatchSchema, type GroupPatch } from '@idlemint/protocol';
import type { z } from 'zod';
import { ManufacturerAuthGuard, Principal } from '../common/auth.js';
import { IdPipe } from '../common/params.js';
import { groupListSchema, groupRemovedSchema, groupSchema } from './manufacturer.responses.js';

/** Manufacturer API, device groups (membership is set on devices, one by one or in bulk). */
@Controller('manufacturer/v1/groups')
@UseGuards(ManufacturerAuthGuard)
export class GroupsController {
  constructor(private readonly groups: GroupsService) {}

  @Get()
  @ApiOkResponse({ standardSchema: groupListSchema })
  async list(@Principal() p: ManufacturerPrincipal) {
    return { groups: await this.groups.list(p) };
  }

  @Post()
  @ApiCreatedResponse({ standardSchema: groupSchema })
  @ApiErrors(FleetErrors.forbiddenRole(), FleetErrors.nameTaken('group'))
  create(@Principal() p: ManufacturerPrincipal, @Body(new ZodPipe(createGroupSchema)) body: z.infer<typeof createGroupSchema>) {
    return this.groups.create(p, body);
  }

  @Get(':id')
  @ApiOkResponse({ standardSchema: groupSchema })
  @ApiErrors(FleetErrors.notFound('group'))
  get(@Principal() p: ManufacturerPrincipal, @Param('id', new IdPipe('group')) id: string) {
    return this.groups.get(p, id);
  }

  @Patch(':id')
  @ApiOkResponse({ standardSchema: groupSchema })
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
  @ApiOkResponse({ standardSchema: groupRemovedSchema })
  @ApiErrors(FleetErrors.forbiddenRole(), FleetErrors.notFound('group'))
  remove(@Principal() p: ManufacturerPrincipal, @Param('id', new IdPipe('group')) id: string) {
    return this.groups.remove(p, id);
  }
}
