import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, PrismaService, SecretBox, newId, type Config } from '@idlemint/core';
import { WEBHOOK_HEADERS } from '@idlemint/protocol';
import { WEBHOOK_SECRET } from './alert-rules.service.js';
import { postWebhook } from './webhook-client.js';
import { signWebhook } from './webhook-signature.js';
import { resolveWebhookTarget } from './webhook-target.js';

export type DeliveryOutcome = 'delivered' | 'done';

/**
 * Sends one alert webhook message (the `alerts.deliver` job): the stored body, signed with the
 * rule's secret at send time, to the rule's URL after checking every address it resolves to. Every
 * attempt is logged; a non-2xx answer or a network failure throws (BullMQ retries with backoff),
 * a forbidden URL throws WebhookForbiddenError (permanent), the last failure marks it dead.
 */
@Injectable()
export class AlertDeliveryService {
  private readonly box: SecretBox;

  constructor(
    private readonly db: PrismaService,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.box = SecretBox.fromConfig(config);
  }

  async deliver(deliveryId: string): Promise<DeliveryOutcome> {
    const d = await this.db.alertDelivery.findUnique({ where: { id: deliveryId } });
    if (!d || d.status !== 'pending') return 'done';
    const rule = await this.db.alertRule.findUnique({ where: { id: d.ruleId } });
    if (!rule) {
      await this.markDead(deliveryId, 'rule deleted');
      return 'done';
    }
    const [row] = await this.db.$queryRaw<{ attempts: number }[]>`
      UPDATE "AlertDelivery" SET "attempts" = "attempts" + 1, "url" = ${rule.webhookUrl} WHERE "id" = ${deliveryId} RETURNING "attempts"`;
    const attempt = row!.attempts;
    const started = Date.now();
    let status: number | null = null;
    try {
      const target = await resolveWebhookTarget(rule.webhookUrl, this.config.ALLOW_PRIVATE_WEBHOOKS);
      const timestamp = Math.floor(Date.now() / 1000);
      const headers = {
        [WEBHOOK_HEADERS.signature]: signWebhook(this.box.open(WEBHOOK_SECRET, rule.secret), timestamp, d.body),
        [WEBHOOK_HEADERS.timestamp]: String(timestamp),
        [WEBHOOK_HEADERS.event]: d.event,
        [WEBHOOK_HEADERS.delivery]: d.id,
        'user-agent': 'IdleMint-Alerts/1',
      };
      status = (await postWebhook(target, headers, d.body, this.config.ALERT_WEBHOOK_TIMEOUT_MS)).status;
      if (status < 200 || status >= 300) throw new Error(`receiver answered HTTP ${status}`);
    } catch (e) {
      await this.log(deliveryId, attempt, status, started, e instanceof Error ? e.message : String(e));
      throw e;
    }
    await this.log(deliveryId, attempt, status, started, null, true);
    return 'delivered';
  }

  /** After the last attempt, or at once for a forbidden URL. */
  async markDead(deliveryId: string, error: string): Promise<void> {
    await this.db.alertDelivery.updateMany({
      where: { id: deliveryId, status: 'pending' },
      data: { status: 'dead', lastError: error.slice(0, 500) },
    });
  }

  private async log(
    deliveryId: string,
    attempt: number,
    statusCode: number | null,
    started: number,
    error: string | null,
    delivered = false,
  ): Promise<void> {
    const durationMs = Date.now() - started;
    await this.db.$transaction([
      this.db.alertDeliveryAttempt.create({
        data: { id: newId(), deliveryId, attempt, statusCode, error: error?.slice(0, 500) ?? null, durationMs },
      }),
      this.db.alertDelivery.updateMany({
        where: { id: deliveryId, status: 'pending' },
        data: {
          lastStatusCode: statusCode,
          lastError: error?.slice(0, 500) ?? null,
          ...(delivered ? { status: 'delivered', deliveredAt: new Date() } : {}),
        },
      }),
    ]);
  }
}
