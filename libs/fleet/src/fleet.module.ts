import { Module } from '@nestjs/common';
import { DevicesService } from './devices.service.js';
import { FleetRepository } from './fleet.repository.js';
import { OwnersService } from './owners.service.js';
import { TenantsService } from './tenants.service.js';

@Module({
  providers: [FleetRepository, DevicesService, TenantsService, OwnersService],
  exports: [DevicesService, TenantsService, OwnersService],
})
export class FleetModule {}
