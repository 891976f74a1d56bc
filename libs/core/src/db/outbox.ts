import type { OutboxPayloads, OutboxTopic } from '../queues/queues.js';
import type { Tx } from './prisma.service.js';

/**
 * Writes an outbox message in the caller's transaction: the fact and its announcement commit or
 * roll back together. The worker's dispatcher turns messages into jobs after commit. `key` is
 * unique, so announcing the same fact twice is a no-op.
 */
export async function writeOutbox<T extends OutboxTopic>(tx: Tx, topic: T, key: string, payload: OutboxPayloads[T]): Promise<void> {
  await tx.$executeRaw`
    INSERT INTO "OutboxMessage" ("topic", "key", "payload") VALUES (${topic}, ${key}, ${JSON.stringify(payload)}::jsonb)
    ON CONFLICT ("key") DO NOTHING`;
}
