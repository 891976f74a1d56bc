import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TenantsService } from '@idlemint/fleet';
import { QueueRegistry } from './queue-registry.js';

export const BULL_BOARD_PATH = '/admin/queues';
/** New device classes show up on the board within this long. */
const QUEUE_LIST_TTL_MS = 5_000;

/**
 * The operator key, from `x-operator-key` (scripts) or HTTP Basic with any user name and the
 * operator key as password (browsers, which prompt for it after the 401).
 */
export function presentedOperatorKey(req: FastifyRequest): string | undefined {
  const header = req.headers['x-operator-key'];
  if (typeof header === 'string') return header;
  const auth = req.headers.authorization;
  if (typeof auth !== 'string' || !auth.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : undefined;
}

/**
 * Bull Board at /admin/queues (UI and its JSON API under /admin/queues/api), for the operator
 * only: every request passes an onRequest hook that checks the operator key, in a Fastify scope
 * of its own (its view and static plugins stay out of the Nest routes). Shows relay, payouts,
 * ingest, alerts and every work queue; work queues of new device classes are added as they appear.
 */
export async function mountBullBoard(app: NestFastifyApplication): Promise<void> {
  const tenants = app.get(TenantsService);
  const registry = app.get(QueueRegistry);
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  const board = createBullBoard({ queues: [], serverAdapter, options: { uiConfig: { boardTitle: 'IdleMint queues' } } });
  const shown = new Set<string>();
  let listedAt = 0;
  const syncQueues = async () => {
    if (Date.now() - listedAt < QUEUE_LIST_TTL_MS) return;
    listedAt = Date.now();
    for (const { queue } of await registry.all()) {
      if (shown.has(queue.name)) continue;
      board.addQueue(new BullMQAdapter(queue));
      shown.add(queue.name);
    }
  };

  const fastify = app.getHttpAdapter().getInstance();
  await fastify.register(async (scope) => {
    scope.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      try {
        tenants.assertOperator(presentedOperatorKey(req));
      } catch {
        return reply
          .code(401)
          .header('www-authenticate', 'Basic realm="IdleMint queues", charset="UTF-8"')
          .send({ error: { code: 'AUTH.OPERATOR_KEY_INVALID', message: 'missing or wrong operator key' } });
      }
      await syncQueues();
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
  });
}
