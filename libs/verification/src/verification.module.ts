import { Module } from '@nestjs/common';
import { LedgerModule } from '@idlemint/ledger';
import { WorkModule } from '@idlemint/work';
import { VerificationService } from './verification.service.js';

@Module({ imports: [LedgerModule, WorkModule], providers: [VerificationService], exports: [VerificationService] })
export class VerificationModule {}
