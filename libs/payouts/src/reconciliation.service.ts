import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, PlatformKeys, PrismaService, type Config } from '@idlemint/core';
import { Accounts, LedgerService } from '@idlemint/ledger';
import { NodeClient, type NodeStats } from '@idlemint/protocol';

export interface Reconciliation {
  ok: boolean;
  problems: string[];
  ledger: { rewardsIssued: string; inFlight: string; settled: string; sumOfAllAccounts: string };
  units: { verified: number; disputed: number; open: number };
  /** Real transactions with an agreed verdict, and wrong canary answers caught. */
  work: { itemsChecked: number; canariesCaught: number };
  relay: { delivered: number; expected: number; dead: number };
  payouts: { confirmed: number; confirmedTotal: string; open: number; openTotal: string };
  nodes: { name: string; delivered: number; logLength: number; chainValid: boolean; wrongVerdicts: number; payoutsTotal: string }[];
}

/**
 * Compares the ledger with what the trusted nodes confirm: every verified unit in every node's
 * log, no wrong verdict recorded, chains intact, and the payouts the node executed equal to what
 * the ledger settled.
 */
@Injectable()
export class ReconciliationService {
  constructor(
    private readonly db: PrismaService,
    private readonly keys: PlatformKeys,
    private readonly ledger: LedgerService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async reconcile(): Promise<Reconciliation> {
    const problems: string[] = [];
    const totals = await this.ledger.totals();
    const get = (code: string) => totals.get(code) ?? 0n;
    const sumAll = [...totals.values()].reduce((s, v) => s + v, 0n);
    if (sumAll !== 0n) problems.push(`ledger accounts sum to ${sumAll}, not 0`);

    const [verified, disputed, open] = await Promise.all(
      (['verified', 'disputed', 'open'] as const).map((status) => this.db.workUnit.count({ where: { status } })),
    );
    const payoutSums = await this.db.$queryRaw<{ status: string; n: bigint; total: string | null }[]>`
      SELECT "status"::text AS status, COUNT(*) AS n, SUM("amount")::text AS total FROM "Payout" GROUP BY "status"`;
    const payout = (s: string) => payoutSums.find((r) => r.status === s);
    const confirmedTotal = BigInt(payout('confirmed')?.total ?? '0');
    const openTotal = BigInt(payout('pending')?.total ?? '0') + BigInt(payout('unclear')?.total ?? '0');
    if (get(Accounts.payoutsSettled) !== confirmedTotal) {
      problems.push(`ledger settled ${get(Accounts.payoutsSettled)} but confirmed payouts total ${confirmedTotal}`);
    }
    if (get(Accounts.payoutsInFlight) !== openTotal) {
      problems.push(`ledger in flight ${get(Accounts.payoutsInFlight)} but open payouts total ${openTotal}`);
    }

    const [itemsChecked, canariesCaught, dead] = await Promise.all([
      this.db.sourceTx.count({ where: { verdict: { not: null } } }),
      this.db.assignment.count({ where: { outcome: 'canary_failed' } }),
      this.db.relayDelivery.count({ where: { status: 'dead' } }),
    ]);
    if (dead > 0) problems.push(`${dead} relay deliveries dead-lettered`);
    const nodes: Reconciliation['nodes'] = [];
    const payoutNodeIds = new Set((await this.db.payout.findMany({ select: { nodeId: true }, distinct: ['nodeId'] })).map((p) => p.nodeId));
    for (const node of await this.db.trustedNode.findMany({ where: { status: 'active' }, orderBy: { createdAt: 'asc' } })) {
      const delivered = await this.db.relayDelivery.count({ where: { nodeId: node.id, status: 'delivered' } });
      let stats: NodeStats;
      try {
        stats = await new NodeClient(node.url, await this.keys.currentSeed()).request<NodeStats>('GET', '/v1/stats');
      } catch (e) {
        problems.push(`node ${node.name} unreachable: ${(e as Error).message}`);
        continue;
      }
      nodes.push({
        name: node.name,
        delivered,
        logLength: Number(stats.logLength),
        chainValid: stats.chainValid,
        wrongVerdicts: Number(stats.verdicts.wrong),
        payoutsTotal: String(stats.payouts.total),
      });
      if (delivered !== verified) problems.push(`node ${node.name}: ${delivered} of ${verified} verified units delivered`);
      if (Number(stats.logLength) !== verified)
        problems.push(`node ${node.name}: log holds ${stats.logLength} units, ledger verified ${verified}`);
      if (!stats.chainValid) problems.push(`node ${node.name}: hash chain broken`);
      if (Number(stats.verdicts.wrongUnretracted) !== 0)
        problems.push(`node ${node.name}: ${stats.verdicts.wrongUnretracted} wrong verdicts recorded and not retracted`);
      const expectedPaid = payoutNodeIds.has(node.id) ? confirmedTotal : 0n;
      if (BigInt(stats.payouts.total) !== expectedPaid) {
        problems.push(`node ${node.name}: paid ${stats.payouts.total}, ledger settled ${expectedPaid}`);
      }
    }
    return {
      ok: problems.length === 0,
      problems,
      ledger: {
        rewardsIssued: (-get(Accounts.rewardPool)).toString(),
        inFlight: get(Accounts.payoutsInFlight).toString(),
        settled: get(Accounts.payoutsSettled).toString(),
        sumOfAllAccounts: sumAll.toString(),
      },
      units: { verified, disputed, open },
      work: { itemsChecked, canariesCaught },
      relay: { delivered: nodes.reduce((s, n) => s + n.delivered, 0), expected: verified * nodes.length, dead },
      payouts: {
        confirmed: Number(payout('confirmed')?.n ?? 0n),
        confirmedTotal: confirmedTotal.toString(),
        open: Number((payout('pending')?.n ?? 0n) + (payout('unclear')?.n ?? 0n)),
        openTotal: openTotal.toString(),
      },
      nodes,
    };
  }
}
