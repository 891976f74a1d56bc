import { Inject, Injectable } from '@nestjs/common';
import type { NodeStats } from '@idlemint/protocol';
import { NODE_CONFIG, type NodeConfig } from '../config.js';
import { PayoutsRepository, TREASURY } from '../payouts/payouts.repository.js';
import { PendingRepository } from '../pending/pending.repository.js';
import { LogRepository } from '../relay/log.repository.js';

/** What the node can tell anyone: work waiting, the log and whether it holds, verdict quality, money. */
@Injectable()
export class StatsService {
  constructor(
    @Inject(NODE_CONFIG) private readonly config: NodeConfig,
    private readonly pending: PendingRepository,
    private readonly log: LogRepository,
    private readonly payouts: PayoutsRepository,
  ) {}

  async stats(): Promise<NodeStats> {
    const head = await this.log.head();
    const [pending, chainValid, verdicts, payouts, treasury] = await Promise.all([
      this.pending.countUnverified(),
      this.log.chainValid(head.length, head.hash),
      this.pending.verdictCounts(),
      this.payouts.confirmedTotals(),
      this.payouts.balanceOf(TREASURY),
    ]);
    return {
      name: this.config.NODE_NAME,
      pending,
      logLength: head.length,
      headHash: head.hash,
      chainValid,
      verdicts,
      payouts,
      treasury,
    };
  }
}
