import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ZodPipe } from '@idlemint/core';
import { nodeKeyAnnouncementSchema, type NodeKeyAnnouncement, type NodeKeysAnswer } from '@idlemint/protocol';
import { PlatformKeysService } from './platform-keys.service.js';

/** Platform key rotation (libs/protocol platform-keys.ts): signed by a key the node accepts now. */
@Controller('v1/platform-keys')
export class PlatformKeysController {
  constructor(private readonly keys: PlatformKeysService) {}

  @Post()
  @HttpCode(200)
  announce(@Body(new ZodPipe(nodeKeyAnnouncementSchema)) body: NodeKeyAnnouncement): Promise<NodeKeysAnswer> {
    return this.keys.announce(body);
  }

  @Get()
  list(): NodeKeysAnswer {
    return this.keys.view();
  }
}
