import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '@idlemint/audit';
import {
  CONFIG,
  PrismaService,
  SecretBox,
  isUniqueViolation,
  type SecretPurpose,
  newId,
  newSecret,
  type Config,
  type Tx,
} from '@idlemint/core';
import { actorOf, assertAdmin, type ManufacturerPrincipal } from '@idlemint/fleet';
import {
  alertParamsSchemas,
  type AlertDeliveryListQuery,
  type AlertListQuery,
  type AlertRuleKindName,
  type CreateAlertRule,
  type UpdateAlertRule,
} from '@idlemint/protocol';
import { resolveAlert } from './alert-episodes.js';
import { AlertErrors } from './alerts.errors.js';
import { assertWebhookUrlAllowed, WebhookForbiddenError } from './webhook-target.js';

type RuleRow = Awaited<ReturnType<PrismaService['alertRule']['findFirstOrThrow']>>;

export interface AlertRuleView {
  id: string;
  name: string;
  kind: AlertRuleKindName;
  params: unknown;
  webhookUrl: string;
  /** The secret's last four characters (it is shown whole only when set or rotated). */
  secretHint: string;
  enabled: boolean;
  evaluatedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The webhook secret is stored sealed (SecretBox); the hint is read from the opened value. */
export const WEBHOOK_SECRET: SecretPurpose = 'alert-webhook-secret';

const viewWith =
  (box: SecretBox) =>
  (r: RuleRow): AlertRuleView => ({
    id: r.id,
    name: r.name,
    kind: r.kind,
    params: r.params,
    webhookUrl: r.webhookUrl,
    secretHint: `…${box.open(WEBHOOK_SECRET, r.secret).slice(-4)}`,
    enabled: r.enabled,
    evaluatedAt: r.evaluatedAt,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  });

/**
 * A manufacturer's alert rules, alerts and webhook deliveries. Every lookup is scoped to the
 * caller's tenant (another tenant's id answers as not found); mutations need the admin role and
 * write an audit row in the same transaction.
 */
@Injectable()
export class AlertRulesService {
  private readonly box: SecretBox;
  private readonly view: (r: RuleRow) => AlertRuleView;

  constructor(
    private readonly db: PrismaService,
    private readonly audit: AuditService,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.box = SecretBox.fromConfig(config);
    this.view = viewWith(this.box);
  }

  async create(p: ManufacturerPrincipal, input: CreateAlertRule): Promise<AlertRuleView & { secret: string }> {
    assertAdmin(p);
    await this.checkUrl(input.webhookUrl);
    const secret = input.secret ?? newSecret('whsec');
    try {
      const rule = await this.db.$transaction(async (tx) => {
        const r = await tx.alertRule.create({
          data: {
            id: newId(),
            manufacturerId: p.manufacturerId,
            name: input.name,
            kind: input.kind,
            params: input.params,
            webhookUrl: input.webhookUrl,
            secret: this.box.seal(WEBHOOK_SECRET, secret),
            enabled: input.enabled,
          },
        });
        await this.record(tx, p, 'alert_rule.create', r.id, undefined, this.view(r));
        return r;
      });
      return { ...this.view(rule), secret };
    } catch (e) {
      if (isUniqueViolation(e)) throw AlertErrors.ruleNameTaken();
      throw e;
    }
  }

  async list(p: ManufacturerPrincipal): Promise<AlertRuleView[]> {
    const rules = await this.db.alertRule.findMany({ where: { manufacturerId: p.manufacturerId }, orderBy: { id: 'asc' } });
    return rules.map(this.view);
  }

  async get(p: ManufacturerPrincipal, id: string): Promise<AlertRuleView> {
    return this.view(await this.find(this.db, p, id));
  }

  async update(p: ManufacturerPrincipal, id: string, patch: UpdateAlertRule): Promise<AlertRuleView & { secret?: string }> {
    assertAdmin(p);
    if (patch.webhookUrl !== undefined) await this.checkUrl(patch.webhookUrl);
    const secret = patch.rotateSecret ? newSecret('whsec') : patch.secret;
    try {
      const rule = await this.db.$transaction(async (tx) => {
        const before = await this.find(tx, p, id, true);
        let params: object | undefined;
        if (patch.params !== undefined) {
          const parsed = alertParamsSchemas[before.kind].safeParse(patch.params);
          if (!parsed.success)
            throw AlertErrors.paramsInvalid(parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
          params = parsed.data;
        }
        const now = new Date();
        const after = await tx.alertRule.update({
          where: { id },
          data: {
            ...(patch.name !== undefined ? { name: patch.name } : {}),
            ...(params !== undefined ? { params } : {}),
            ...(patch.webhookUrl !== undefined ? { webhookUrl: patch.webhookUrl } : {}),
            ...(secret !== undefined ? { secret: this.box.seal(WEBHOOK_SECRET, secret) } : {}),
            ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
            // Re-enabled: canary strikes from while it was off are not news.
            ...(patch.enabled === true && !before.enabled ? { cursorAt: now } : {}),
            updatedAt: now,
          },
        });
        if (before.enabled && !after.enabled) await this.closeOpen(tx, after, now, 'rule_disabled', false);
        await this.record(tx, p, 'alert_rule.update', id, this.view(before), this.view(after));
        return after;
      });
      return { ...this.view(rule), ...(patch.rotateSecret && secret !== undefined ? { secret } : {}) };
    } catch (e) {
      if (isUniqueViolation(e)) throw AlertErrors.ruleNameTaken();
      throw e;
    }
  }

  /** Deletes a rule: its open alerts close without a webhook, its undelivered messages are dropped. */
  async remove(p: ManufacturerPrincipal, id: string): Promise<{ id: string; deleted: true }> {
    assertAdmin(p);
    await this.db.$transaction(async (tx) => {
      const rule = await this.find(tx, p, id, true);
      await this.closeOpen(tx, rule, new Date(), 'rule_deleted', true);
      await tx.alertDelivery.updateMany({ where: { ruleId: id, status: 'pending' }, data: { status: 'dead', lastError: 'rule deleted' } });
      await tx.alertRule.delete({ where: { id } });
      await this.record(tx, p, 'alert_rule.delete', id, this.view(rule), undefined);
    });
    return { id, deleted: true };
  }

  async alerts(p: ManufacturerPrincipal, q: AlertListQuery) {
    const alerts = await this.db.alert.findMany({
      where: listWhere(p, q),
      orderBy: { id: 'desc' },
      take: q.limit,
      omit: { openKey: true },
    });
    return { alerts, next: nextCursor(alerts, q.limit) };
  }

  async deliveries(p: ManufacturerPrincipal, q: AlertDeliveryListQuery) {
    const deliveries = await this.db.alertDelivery.findMany({
      where: listWhere(p, q),
      orderBy: { id: 'desc' },
      take: q.limit,
      omit: { body: true },
    });
    return { deliveries, next: nextCursor(deliveries, q.limit) };
  }

  /** One delivery with its exact body and every attempt. */
  async delivery(p: ManufacturerPrincipal, id: string) {
    const d = await this.db.alertDelivery.findFirst({ where: { id, manufacturerId: p.manufacturerId } });
    if (!d) throw AlertErrors.deliveryNotFound();
    const attempts = await this.db.alertDeliveryAttempt.findMany({
      where: { deliveryId: id },
      orderBy: { attempt: 'asc' },
      omit: { deliveryId: true },
    });
    return { ...d, attempts };
  }

  private async find(db: Tx | PrismaService, p: ManufacturerPrincipal, id: string, lock = false): Promise<RuleRow> {
    if (lock) await db.$queryRaw`SELECT 1 FROM "AlertRule" WHERE "id" = ${id} AND "manufacturerId" = ${p.manufacturerId} FOR UPDATE`;
    const rule = await db.alertRule.findFirst({ where: { id, manufacturerId: p.manufacturerId } });
    if (!rule) throw AlertErrors.ruleNotFound();
    return rule;
  }

  private async closeOpen(tx: Tx, rule: RuleRow, now: Date, reason: string, silent: boolean): Promise<void> {
    const open = await tx.alert.findMany({
      where: { ruleId: rule.id, status: 'firing' },
      select: { id: true, subject: true, firedAt: true, details: true },
    });
    for (const alert of open) await resolveAlert(tx, rule, alert, now, reason, silent);
  }

  private async checkUrl(url: string): Promise<void> {
    try {
      await assertWebhookUrlAllowed(url, this.config.ALLOW_PRIVATE_WEBHOOKS);
    } catch (e) {
      if (e instanceof WebhookForbiddenError) throw AlertErrors.webhookUrlForbidden(url, e.reason);
      throw e;
    }
  }

  private record(
    tx: Tx,
    p: ManufacturerPrincipal,
    action: string,
    id: string,
    before: AlertRuleView | undefined,
    after: AlertRuleView | undefined,
  ) {
    return this.audit.record(tx, {
      manufacturerId: p.manufacturerId,
      actor: actorOf(p),
      action,
      targetType: 'alert_rule',
      targetIds: [id],
      ...(before ? { before } : {}),
      ...(after ? { after } : {}),
    });
  }
}

/** Newest first, one tenant's, optionally by status and rule, below a cursor id. */
function listWhere<S extends string>(p: ManufacturerPrincipal, q: { status?: S; ruleId?: string; before?: string }) {
  return {
    manufacturerId: p.manufacturerId,
    ...(q.status ? { status: q.status } : {}),
    ...(q.ruleId ? { ruleId: q.ruleId } : {}),
    ...(q.before ? { id: { lt: q.before } } : {}),
  };
}

/** The cursor of the next page: the last id when the page is full. */
function nextCursor(rows: { id: string }[], limit: number): string | null {
  return rows.length === limit ? (rows.at(-1)?.id ?? null) : null;
}
