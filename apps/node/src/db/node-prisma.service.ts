import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { NODE_CONFIG, type NodeConfig } from '../config.js';
import { Prisma, PrismaClient } from './generated/prisma/client.js';

export type NodeTx = Prisma.TransactionClient;
export { Prisma };

/** The node's own database (never the platform's). */
@Injectable()
export class NodePrismaService extends PrismaClient implements OnModuleDestroy {
  constructor(@Inject(NODE_CONFIG) config: NodeConfig) {
    super({ adapter: new PrismaPg({ connectionString: config.NODE_DATABASE_URL, max: 10 }) });
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
  }
}

/** True when Postgres refused a duplicate on a unique index. */
export function isUniqueViolation(e: unknown): boolean {
  return e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002';
}
