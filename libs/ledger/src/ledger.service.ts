import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config, type Tx } from '@idlemint/core';
import { Accounts } from './accounts.js';
import { LedgerErrors } from './ledger.errors.js';
import { LedgerRepository, type PostingInput } from './ledger.repository.js';
import { splitReward, type Shares } from './reward-split.js';

/** Double-entry ledger in integer minor units. Every write runs inside the caller's transaction. */
@Injectable()
export class LedgerService {
  readonly shares: Shares;

  constructor(
    private readonly repo: LedgerRepository,
    @Inject(CONFIG) config: Config,
  ) {
    this.shares = {
      ownerBps: config.OWNER_SHARE_BPS,
      manufacturerBps: config.MANUFACTURER_SHARE_BPS,
      operatorBps: config.OPERATOR_SHARE_BPS,
    };
  }

  /** Posts a balanced entry once per idempotency key; false when it was already posted. */
  async post(
    tx: Tx,
    entry: { idempotencyKey: string; kind: string; memo: string; unitId?: string },
    postings: PostingInput[],
  ): Promise<boolean> {
    if (postings.length < 2) throw LedgerErrors.empty();
    const sum = postings.reduce((s, p) => s + p.amount, 0n);
    if (sum !== 0n) throw LedgerErrors.unbalanced(sum);
    return this.repo.appendTransaction(
      tx,
      entry,
      postings.filter((p) => p.amount !== 0n),
    );
  }

  deviceBalances(tx: Tx, deviceIds: string[]): Promise<Map<string, bigint>> {
    return this.repo.balancesOf(tx, deviceIds.map(Accounts.device));
  }

  /** Moves owner balances into flight toward the node that executes the payout. */
  async postPayout(tx: Tx, payoutId: string, amounts: Map<string, bigint>): Promise<void> {
    const total = [...amounts.values()].reduce((s, a) => s + a, 0n);
    await this.post(tx, { idempotencyKey: `payout:${payoutId}`, kind: 'payout', memo: `payout ${payoutId} sent for execution` }, [
      ...[...amounts].map(([deviceId, a]) => ({ account: Accounts.device(deviceId), amount: -a, memo: `paid out in ${payoutId}` })),
      { account: Accounts.payoutsInFlight, amount: total, memo: `payout ${payoutId} in flight` },
    ]);
  }

  async settlePayout(tx: Tx, payoutId: string, amount: bigint): Promise<void> {
    await this.post(
      tx,
      { idempotencyKey: `payout-settled:${payoutId}`, kind: 'payout', memo: `payout ${payoutId} confirmed by the node` },
      [
        { account: Accounts.payoutsInFlight, amount: -amount, memo: `payout ${payoutId} confirmed` },
        { account: Accounts.payoutsSettled, amount, memo: `payout ${payoutId} confirmed` },
      ],
    );
  }

  /** Only for an outcome the node reported as definitely not executed. */
  async reversePayout(tx: Tx, payoutId: string, amounts: Map<string, bigint>, reason: string): Promise<void> {
    const total = [...amounts.values()].reduce((s, a) => s + a, 0n);
    await this.post(
      tx,
      { idempotencyKey: `payout-reversed:${payoutId}`, kind: 'payout', memo: `payout ${payoutId} refused by the node: ${reason}` },
      [
        { account: Accounts.payoutsInFlight, amount: -total, memo: `payout ${payoutId} refused` },
        ...[...amounts].map(([deviceId, a]) => ({
          account: Accounts.device(deviceId),
          amount: a,
          memo: `payout ${payoutId} refused: ${reason}`,
        })),
      ],
    );
  }

  /** Owner-share earnings of a device: matured (credited), maturing (pending), paid, last 24 h. */
  async deviceEarnings(deviceId: string): Promise<{ credited: bigint; pending: bigint; paid: bigint; last24h: bigint }> {
    const code = Accounts.device(deviceId);
    const [credited, debits, last24h, immature] = await Promise.all([
      this.repo.balanceOf(code, undefined, 'credits'),
      this.repo.balanceOf(code, undefined, 'debits'),
      this.repo.balanceOf(code, new Date(Date.now() - 86_400_000), 'credits'),
      this.repo.balanceOf(Accounts.immature(deviceId)),
    ]);
    return { credited, pending: splitReward(immature, this.shares).owner, paid: -debits, last24h };
  }

  /** What a payout took from each device account (device id to amount), for a reversal. */
  async payoutAmounts(tx: Tx, payoutId: string): Promise<Map<string, bigint>> {
    return this.repo.entryDebits(tx, `payout:${payoutId}`, 'device:');
  }

  lines(codes: string[], limit = 100) {
    return this.repo.linesOf(codes, limit);
  }

  totals(): Promise<Map<string, bigint>> {
    return this.repo.totalsByAccount();
  }
}
