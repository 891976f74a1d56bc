import { Module } from '@nestjs/common';
import { AuditModule } from '@idlemint/audit';
import { AlertDeliveryService } from './alert-delivery.service.js';
import { AlertRulesService } from './alert-rules.service.js';
import { AlertsEvaluator } from './alerts-evaluator.service.js';

@Module({
  imports: [AuditModule],
  providers: [AlertRulesService, AlertsEvaluator, AlertDeliveryService],
  exports: [AlertRulesService, AlertsEvaluator, AlertDeliveryService],
})
export class AlertsModule {}
