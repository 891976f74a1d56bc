import { Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiOkResponse } from '@nestjs/swagger';
import { ApiErrors, ZodBody } from '@idlemint/core';
import { NodesErrors, NodesService, PlatformKeyRotation } from '@idlemint/nodes';
import { rotatePlatformKeySchema, type RotatePlatformKey } from '@idlemint/protocol';
import { OperatorAuthGuard } from '../common/auth.js';
import { IdPipe } from '../common/params.js';
import { nodeSchema, platformKeyListSchema, platformKeyRotationSchema } from './operator.responses.js';

/** Operator API: trusted node status and the platform's node signing keys (docs/operator-api.md). */
@Controller('operator/v1')
@UseGuards(OperatorAuthGuard)
export class OperatorNodesController {
  constructor(
    private readonly nodes: NodesService,
    private readonly rotation: PlatformKeyRotation,
  ) {}

  /** Stops ingest from, relays to and new payouts through the node. Idempotent. */
  @Post('nodes/:id/disable')
  @ApiOkResponse({ standardSchema: nodeSchema })
  @HttpCode(200)
  @ApiErrors(NodesErrors.notFound())
  disable(@Param('id', new IdPipe('node')) id: string) {
    return this.nodes.disable(id);
  }

  /** Brings the node's platform keys up to date, then makes it active again. Idempotent. */
  @Post('nodes/:id/enable')
  @ApiOkResponse({ standardSchema: nodeSchema })
  @HttpCode(200)
  @ApiErrors(NodesErrors.notFound(), NodesErrors.syncFailed('', ''))
  enable(@Param('id', new IdPipe('node')) id: string) {
    return this.nodes.enable(id);
  }

  /** The platform's signing keys toward the nodes, newest first (never their seeds). */
  @Get('platform-keys')
  @ApiOkResponse({ standardSchema: platformKeyListSchema })
  async keys() {
    return { keys: await this.rotation.list() };
  }

  /** Rotates the signing key; the old one stays valid at the nodes for `overlapS` seconds. */
  @Post('platform-keys/rotate')
  @ApiOkResponse({ standardSchema: platformKeyRotationSchema })
  @HttpCode(200)
  @ApiErrors(NodesErrors.rotationInProgress(), NodesErrors.announceFailed('', []))
  rotate(@ZodBody(rotatePlatformKeySchema) body: RotatePlatformKey) {
    return this.rotation.rotate(body.overlapS);
  }
}
