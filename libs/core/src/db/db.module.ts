import { Global, Module } from '@nestjs/common';
import { PlatformKeys } from '../keys/platform-keys.js';
import { PrismaService } from './prisma.service.js';

/** The platform database, and the signing key read from it (PlatformKeys needs nothing else). */
@Global()
@Module({ providers: [PrismaService, PlatformKeys], exports: [PrismaService, PlatformKeys] })
export class DbModule {}
