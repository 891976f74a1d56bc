import { Module } from '@nestjs/common';
import { AssignmentsService } from './assignments.service.js';
import { CanaryStock } from './canary-stock.js';
import { ReplicaRecovery } from './replica-recovery.service.js';
import { UnitsService } from './units.service.js';
import { WorkQueues } from './work-queues.js';
import { WorkRepository } from './work.repository.js';

@Module({
  providers: [WorkQueues, WorkRepository, AssignmentsService, UnitsService, CanaryStock, ReplicaRecovery],
  exports: [WorkQueues, WorkRepository, AssignmentsService, UnitsService, CanaryStock, ReplicaRecovery],
})
export class WorkModule {}
