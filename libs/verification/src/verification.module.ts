import { Module } from '@nestjs/common';
import { LedgerModule } from '@idlemint/ledger';
import { WorkModule } from '@idlemint/work';
import { ReputationService } from './reputation.service.js';
import { VerificationService } from './verification.service.js';

@Module({
  imports: [LedgerModule, WorkModule],
  providers: [VerificationService, ReputationService],
  exports: [VerificationService, ReputationService],
})
export class VerificationModule {}
