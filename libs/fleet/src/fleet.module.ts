import { Module } from '@nestjs/common';
import { AuditModule } from '@idlemint/audit';
import { ApiKeysService } from './api-keys.service.js';
import { BulkActionsService } from './bulk-actions.service.js';
import { CatalogService } from './catalog.service.js';
import { DeviceRegistryService } from './device-registry.service.js';
import { DevicesService } from './devices.service.js';
import { FleetInsightsRepository } from './fleet-insights.repository.js';
import { FleetRepository } from './fleet.repository.js';
import { FleetRollupRepository } from './fleet-rollup.repository.js';
import { FleetSeriesService } from './fleet-series.service.js';
import { FleetSummaryService } from './fleet-summary.service.js';
import { GroupsService } from './groups.service.js';
import { HeartbeatBuffer } from './heartbeat-buffer.js';
import { ManufacturersService } from './manufacturers.service.js';
import { OwnersService } from './owners.service.js';
import { TenantsService } from './tenants.service.js';

const services = [
  DevicesService,
  TenantsService,
  OwnersService,
  ApiKeysService,
  CatalogService,
  DeviceRegistryService,
  GroupsService,
  BulkActionsService,
  ManufacturersService,
  FleetSummaryService,
  FleetSeriesService,
];

@Module({
  imports: [AuditModule],
  providers: [FleetRepository, FleetInsightsRepository, FleetRollupRepository, HeartbeatBuffer, ...services],
  exports: services,
})
export class FleetModule {}
