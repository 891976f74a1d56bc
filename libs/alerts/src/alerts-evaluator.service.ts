import { Injectable, Logger } from '@nestjs/common';
import { PrismaService } from '@idlemint/core';
import { evaluateCondition, nextCursor } from './alert-conditions.js';
import { fireAlert, resolveAlert } from './alert-episodes.js';

export interface EvaluationSummary {
  rules: number;
  fired: number;
  resolved: number;
}

/**
 * Evaluates every enabled rule of every active manufacturer (the `alerts.evaluate` job). Each rule
 * is evaluated in its own transaction holding its row lock (SKIP LOCKED: a second worker running
 * the same tick passes over it), and compares the condition with the rule's open episodes: a
 * subject fires once when its condition starts to hold and resolves once when it stops, never on
 * every tick in between.
 */
@Injectable()
export class AlertsEvaluator {
  private readonly log = new Logger(AlertsEvaluator.name);

  constructor(private readonly db: PrismaService) {}

  async evaluateAll(now: Date = new Date()): Promise<EvaluationSummary> {
    const rules = await this.db.$queryRaw<{ id: string }[]>`
      SELECT r."id" FROM "AlertRule" r JOIN "Manufacturer" m ON m."id" = r."manufacturerId" AND m."status" = 'active'
       WHERE r."enabled" ORDER BY r."id"`;
    const summary: EvaluationSummary = { rules: 0, fired: 0, resolved: 0 };
    for (const { id } of rules) {
      try {
        const r = await this.evaluateRule(id, now);
        if (!r) continue;
        summary.rules++;
        summary.fired += r.fired;
        summary.resolved += r.resolved;
      } catch (e) {
        this.log.error(`alert rule ${id}: ${(e as Error).message}`);
      }
    }
    return summary;
  }

  /** One rule; null when it is disabled, gone, or being evaluated by another worker right now. */
  evaluateRule(ruleId: string, now: Date = new Date()): Promise<{ fired: number; resolved: number } | null> {
    return this.db.$transaction(
      async (tx) => {
        const locked = await tx.$queryRaw<{ id: string }[]>`
          SELECT "id" FROM "AlertRule" WHERE "id" = ${ruleId} AND "enabled" FOR UPDATE SKIP LOCKED`;
        if (locked.length === 0) return null;
        const rule = await tx.alertRule.findUniqueOrThrow({ where: { id: ruleId } });
        const open = await tx.alert.findMany({
          where: { ruleId, status: 'firing' },
          select: { id: true, subject: true, firedAt: true, details: true },
        });
        const result = await evaluateCondition(tx, rule, now, new Set(open.map((a) => a.subject)));
        for (const [subject, details] of result.fire) await fireAlert(tx, rule, subject, details, now);
        for (const alert of open) if (result.clear.has(alert.subject)) await resolveAlert(tx, rule, alert, now, 'condition_cleared');
        await tx.alertRule.update({ where: { id: ruleId }, data: { evaluatedAt: now, cursorAt: nextCursor(rule, now) } });
        return { fired: result.fire.size, resolved: result.clear.size };
      },
      { timeout: 60_000 },
    );
  }
}
