import { Module } from '@nestjs/common';
import { AssignmentsService } from './assignments.service.js';
import { UnitsService } from './units.service.js';
import { WorkQueues } from './work-queues.js';

@Module({
  providers: [WorkQueues, AssignmentsService, UnitsService],
  exports: [WorkQueues, AssignmentsService, UnitsService],
})
export class WorkModule {}
