import { Module } from '@nestjs/common';
import { AuditModule } from '@idlemint/audit';
import { LedgerModule } from '@idlemint/ledger';
import { PayoutRecovery } from './payout-recovery.service.js';
import { PayoutResolutionService } from './payout-resolution.service.js';
import { PayoutsService } from './payouts.service.js';
import { ReconciliationService } from './reconciliation.service.js';

@Module({
  imports: [LedgerModule, AuditModule],
  providers: [PayoutsService, ReconciliationService, PayoutResolutionService, PayoutRecovery],
  exports: [PayoutsService, ReconciliationService, PayoutResolutionService, PayoutRecovery],
})
export class PayoutsModule {}
