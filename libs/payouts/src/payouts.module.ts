import { Module } from '@nestjs/common';
import { LedgerModule } from '@idlemint/ledger';
import { PayoutsService } from './payouts.service.js';
import { ReconciliationService } from './reconciliation.service.js';

@Module({ imports: [LedgerModule], providers: [PayoutsService, ReconciliationService], exports: [PayoutsService, ReconciliationService] })
export class PayoutsModule {}
