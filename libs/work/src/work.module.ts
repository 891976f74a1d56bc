import { Module } from '@nestjs/common';
import { AssignmentsService } from './assignments.service.js';
import { CanaryStock } from './canary-stock.js';
import { UnitsService } from './units.service.js';
import { WorkQueues } from './work-queues.js';
import { WorkRepository } from './work.repository.js';

@Module({
  providers: [WorkQueues, WorkRepository, AssignmentsService, UnitsService, CanaryStock],
  exports: [WorkQueues, WorkRepository, AssignmentsService, UnitsService, CanaryStock],
})
export class WorkModule {}
