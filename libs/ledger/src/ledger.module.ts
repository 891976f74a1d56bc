import { Module } from '@nestjs/common';
import { LedgerRepository } from './ledger.repository.js';
import { LedgerService } from './ledger.service.js';
import { RewardsService } from './rewards.service.js';

@Module({ providers: [LedgerRepository, LedgerService, RewardsService], exports: [LedgerService, RewardsService] })
export class LedgerModule {}
