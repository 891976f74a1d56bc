import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, PlatformKeys, PrismaService, newId, type Config } from '@idlemint/core';
import { NodeClient, type NodePendingPage } from '@idlemint/protocol';
import type { TxItem } from '@idlemint/crypto';
import { AssignmentsService } from './assignments.service.js';
import { WorkRepository } from './work.repository.js';

interface ClassDemand {
  deviceClass: string;
  batchSize: number;
  devices: number;
  open: number;
}

/**
 * Ingest: pulls pending transactions from the trusted nodes and cuts them into work units sized
 * per device class, each announcing its `QUORUM` replicas through the outbox in the same transaction.
 */
@Injectable()
export class UnitsService {
  private readonly log = new Logger(UnitsService.name);

  constructor(
    private readonly db: PrismaService,
    private readonly keys: PlatformKeys,
    private readonly work: WorkRepository,
    private readonly assignments: AssignmentsService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async ingest(): Promise<{ fetched: number; units: number }> {
    const open = await this.db.workUnit.count({ where: { status: 'open' } });
    if (open >= this.config.INGEST_MAX_OPEN_UNITS) return { fetched: 0, units: 0 };
    const fetched = await this.pullFromNodes();
    const units = await this.cutUnits(this.config.INGEST_MAX_OPEN_UNITS - open);
    return { fetched, units };
  }

  private async pullFromNodes(): Promise<number> {
    const nodes = await this.db.trustedNode.findMany({ where: { status: 'active' } });
    let fetched = 0;
    for (const node of nodes) {
      const client = new NodeClient(node.url, await this.keys.currentSeed());
      let page: NodePendingPage;
      try {
        page = await client.request<NodePendingPage>('GET', `/v1/pending?after=${node.ingestCursor}&limit=${this.config.INGEST_BATCH}`);
      } catch (e) {
        this.log.warn(`ingest from ${node.name}: ${(e as Error).message}`);
        continue;
      }
      if (page.transactions.length === 0) continue;
      await this.db.$transaction([
        this.db.sourceTx.createMany({
          data: page.transactions.map((t) => ({
            id: newId(),
            nodeId: node.id,
            externalId: t.id,
            scheme: t.scheme,
            publicKey: t.publicKey,
            message: t.message,
            signature: t.signature,
          })),
          skipDuplicates: true,
        }),
        this.db.trustedNode.update({ where: { id: node.id }, data: { ingestCursor: BigInt(page.next) } }),
      ]);
      fetched += page.transactions.length;
    }
    return fetched;
  }

  /** Device classes with active devices, and how much open work each already has. */
  private async demand(): Promise<ClassDemand[]> {
    const rows = await this.db.$queryRaw<{ deviceClass: string; batchSize: number; devices: bigint; open: bigint }[]>`
      SELECT m."deviceClass", MIN(m."batchSize")::int AS "batchSize", COUNT(d."id") AS devices,
             (SELECT COUNT(*) FROM "WorkUnit" u WHERE u."deviceClass" = m."deviceClass" AND u."status" = 'open') AS open
        FROM "DeviceModel" m JOIN "Device" d ON d."modelId" = m."id" AND d."status" = 'active'
       GROUP BY m."deviceClass"`;
    return rows.map((r) => ({ deviceClass: r.deviceClass, batchSize: r.batchSize, devices: Number(r.devices), open: Number(r.open) }));
  }

  private async cutUnits(max: number): Promise<number> {
    const classes = await this.demand();
    let made = 0;
    while (made < max && classes.length > 0) {
      // The class with the least open work per device gets the next unit.
      classes.sort((a, b) => a.open / a.devices - b.open / b.devices);
      const target = classes[0]!;
      if (!(await this.cutOne(target))) break;
      target.open++;
      made++;
    }
    return made;
  }

  /** Room is left for the canaries planted per assignment, so no device gets more than its batch size. */
  private realItemsPerUnit(batchSize: number): number {
    return Math.max(1, batchSize - Math.max(this.config.CANARIES_UNTRUSTED, this.config.CANARIES_TRUSTED));
  }

  /**
   * One unit of the class's batch size, with `QUORUM` replicas: no device's answer stands alone.
   * Where the class has devices of several manufacturers, its agreement must span two of them.
   */
  private async cutOne(c: ClassDemand): Promise<boolean> {
    const minManufacturers = (await this.assignments.manufacturersOf(c.deviceClass)) >= 2 ? 2 : 1;
    return this.db.$transaction(async (tx) => {
      const txs = await tx.$queryRaw<{ id: string; scheme: string; publicKey: string; message: string; signature: string }[]>`
        SELECT "id", "scheme", "publicKey", "message", "signature" FROM "SourceTx"
         WHERE "unitId" IS NULL ORDER BY "createdAt", "id" LIMIT ${this.realItemsPerUnit(c.batchSize)} FOR UPDATE SKIP LOCKED`;
      if (txs.length === 0) return false;
      const items: TxItem[] = txs.map(({ scheme, publicKey, message, signature }) => ({ scheme, publicKey, message, signature }));
      const unitId = newId();
      await tx.workUnit.create({
        data: {
          id: unitId,
          kind: 'tx-verify',
          deviceClass: c.deviceClass,
          quorum: this.config.QUORUM,
          minManufacturers,
          maxReplicas: Math.max(this.config.MAX_REPLICAS, this.config.QUORUM),
          replicasIssued: this.config.QUORUM,
          items: items as object[],
          reward: this.config.UNIT_REWARD.toString(),
        },
      });
      await tx.$executeRaw`
        UPDATE "SourceTx" s SET "unitId" = ${unitId}, "itemIndex" = (t.n - 1)::int
          FROM unnest(${txs.map((t) => t.id)}::text[]) WITH ORDINALITY AS t(id, n)
         WHERE s."id" = t.id`;
      await this.work.announceReplicas(tx, { id: unitId, deviceClass: c.deviceClass }, 1, this.config.QUORUM);
      return true;
    });
  }
}
