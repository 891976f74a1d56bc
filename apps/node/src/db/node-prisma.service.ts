import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { NODE_CONFIG, type NodeConfig } from '../config.js';
import { Prisma, PrismaClient } from './generated/prisma/client.js';

export type NodeTx = Prisma.TransactionClient;
export { Prisma };

/** The node's own database (never the platform's). */
@Injectable()
export class NodePrismaService extends PrismaClient implements OnApplicationShutdown {
  constructor(@Inject(NODE_CONFIG) config: NodeConfig) {
    super({ adapter: new PrismaPg({ connectionString: config.NODE_DATABASE_URL, max: 10 }) });
  }

  /**
   * Last: every onModuleDestroy (the pending generator's stop among them) has run by now, so no
   * work in flight reopens the pool behind a closed app.
   */
  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
  }
}

/** True when Postgres refused a duplicate on a unique index. */
export function isUniqueViolation(e: unknown): boolean {
  return e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002';
}
