import { Module } from '@nestjs/common';
import { AuditModule } from '@idlemint/audit';
import { NodesService } from './nodes.service.js';
import { PlatformKeyRotation } from './platform-key-rotation.service.js';

@Module({ imports: [AuditModule], providers: [NodesService, PlatformKeyRotation], exports: [NodesService, PlatformKeyRotation] })
export class NodesModule {}
