import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { CONFIG, type Config } from '../config/config.js';
import { Prisma, PrismaClient } from './generated/prisma/client.js';

export type Tx = Prisma.TransactionClient;

@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  constructor(@Inject(CONFIG) config: Config) {
    super({ adapter: new PrismaPg({ connectionString: config.DATABASE_URL, max: 20 }) });
  }

  /**
   * Last: services stop their loops and wait for work in flight in onModuleDestroy, which Nest runs
   * for every module before any onApplicationShutdown, so nothing reopens the pool after this.
   */
  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
  }
}

/** True when `e` is Postgres refusing a duplicate on a unique index. */
export function isUniqueViolation(e: unknown): boolean {
  return e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002';
}

/** True when Postgres aborted the transaction to break a deadlock or a serialization conflict (P2034). */
export function isWriteConflict(e: unknown): boolean {
  return e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2034';
}

/**
 * Runs `transaction` again (up to `attempts` times) when Postgres aborted it for a deadlock or a
 * serialization conflict: nothing of an aborted transaction was kept, so running it again is what
 * Postgres asks for ("please retry your transaction"), and the caller sees an answer, not a 500.
 */
export async function retryWriteConflicts<T>(transaction: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (e) {
      if (!isWriteConflict(e) || attempt >= attempts) throw e;
    }
  }
}
