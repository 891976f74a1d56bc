import { Module } from '@nestjs/common';
import { LedgerModule } from '@idlemint/ledger';
import { StratumCredentialsService } from './credentials.service.js';
import { DeviceSharesService } from './device-shares.service.js';
import { HashJobsService } from './jobs.service.js';
import { ShareCreditService } from './share-credit.service.js';
import { SharesRepository } from './shares.repository.js';
import { SharesService } from './shares.service.js';

/** The `hash-share` work kind: jobs, miners, share checks, vardiff, pay-per-share batches, block relay. */
@Module({
  imports: [LedgerModule],
  providers: [SharesRepository, HashJobsService, SharesService, ShareCreditService, StratumCredentialsService, DeviceSharesService],
  exports: [HashJobsService, SharesService, ShareCreditService, StratumCredentialsService, DeviceSharesService],
})
export class SharesModule {}
