import { newId, writeOutbox, type Tx } from '@idlemint/core';
import type { AlertEvent, AlertRuleKindName, AlertWebhookBody } from '@idlemint/protocol';

export interface RuleRef {
  id: string;
  manufacturerId: string;
  name: string;
  kind: AlertRuleKindName;
  webhookUrl: string;
}

interface AlertRow {
  id: string;
  subject: string;
  firedAt: Date;
  details: unknown;
}

export const openKeyOf = (ruleId: string, subject: string): string => `${ruleId}:${subject}`;

/**
 * An episode starts: the alert row (its openKey keeps it the only open one for the rule and
 * subject) and its `alert.fired` delivery, announced through the outbox in the same transaction.
 */
export async function fireAlert(tx: Tx, rule: RuleRef, subject: string, details: Record<string, unknown>, now: Date): Promise<string> {
  const alert = await tx.alert.create({
    data: {
      id: newId(),
      ruleId: rule.id,
      manufacturerId: rule.manufacturerId,
      subject,
      openKey: openKeyOf(rule.id, subject),
      details: details as object,
      firedAt: now,
    },
  });
  await announce(tx, rule, alert, 'alert.fired', null, now);
  return alert.id;
}

/** The episode ends: resolved once, with an `alert.resolved` delivery unless `silent` (rule deleted). */
export async function resolveAlert(tx: Tx, rule: RuleRef, alert: AlertRow, now: Date, reason: string, silent = false): Promise<void> {
  const { count } = await tx.alert.updateMany({
    where: { id: alert.id, status: 'firing' },
    data: { status: 'resolved', openKey: null, resolvedAt: now },
  });
  if (count === 1 && !silent) await announce(tx, rule, alert, 'alert.resolved', reason, now);
}

async function announce(tx: Tx, rule: RuleRef, alert: AlertRow, event: AlertEvent, reason: string | null, now: Date): Promise<void> {
  const id = newId();
  const resolved = event === 'alert.resolved';
  const body: AlertWebhookBody = {
    id,
    event,
    createdAt: now.toISOString(),
    manufacturerId: rule.manufacturerId,
    rule: { id: rule.id, name: rule.name, kind: rule.kind },
    alert: {
      id: alert.id,
      subject: alert.subject,
      status: resolved ? 'resolved' : 'firing',
      firedAt: alert.firedAt.toISOString(),
      resolvedAt: resolved ? now.toISOString() : null,
      details: { ...(alert.details as Record<string, unknown>), ...(reason ? { resolvedBecause: reason } : {}) },
    },
  };
  await tx.alertDelivery.create({
    data: {
      id,
      manufacturerId: rule.manufacturerId,
      ruleId: rule.id,
      alertId: alert.id,
      event,
      url: rule.webhookUrl,
      body: JSON.stringify(body),
    },
  });
  await writeOutbox(tx, 'alert.delivery', `alert.delivery:${id}`, { deliveryId: id });
}
