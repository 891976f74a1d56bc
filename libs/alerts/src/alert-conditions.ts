import { Prisma, type Tx } from '@idlemint/core';
import { alertParamsSchemas, type AlertParams, type AlertRuleKindName } from '@idlemint/protocol';

/** The subjects whose condition holds now (with what to tell), and the open ones that cleared. */
export interface ConditionResult {
  fire: Map<string, Record<string, unknown>>;
  clear: Set<string>;
}

export interface RuleState {
  id: string;
  manufacturerId: string;
  kind: AlertRuleKindName;
  params: unknown;
  cursorAt: Date;
}

/** New episodes opened per rule and evaluation at most (a fleet going dark is told over a few ticks). */
export const MAX_NEW_PER_TICK = 200;
/** Canary strikes younger than this wait for the next evaluation (their transaction may not be visible yet). */
export const STRIKE_SETTLE_MS = 2_000;
export const FLEET = 'fleet';

/** A JS instant as a UTC `timestamp` (the columns' type), whatever the session time zone. */
const ts = (d: Date) => Prisma.sql`(${d.toISOString()}::timestamptz AT TIME ZONE 'UTC')`;
const minutesBefore = (now: Date, minutes: number) => new Date(now.getTime() - minutes * 60_000);
const round2 = (x: number) => Math.round(x * 100) / 100;

function paramsOf<K extends AlertRuleKindName>(kind: K, raw: unknown): AlertParams[K] {
  return alertParamsSchemas[kind].parse(raw) as AlertParams[K];
}

/** Evaluates one rule at `now` against the episodes open for it (by subject). */
export async function evaluateCondition(tx: Tx, rule: RuleState, now: Date, open: Set<string>): Promise<ConditionResult> {
  switch (rule.kind) {
    case 'device_offline':
      return deviceOffline(tx, rule, paramsOf('device_offline', rule.params), now, open);
    case 'reject_rate':
      return fleetLevel(open, await rejectRate(tx, rule, paramsOf('reject_rate', rule.params), now));
    case 'canary_strike':
      return canaryStrike(tx, rule, now, open);
    case 'online_share':
      return fleetLevel(open, await onlineShare(tx, rule, paramsOf('online_share', rule.params), now));
  }
}

function fleetLevel(open: Set<string>, holds: Record<string, unknown> | null): ConditionResult {
  const fire = new Map<string, Record<string, unknown>>();
  const clear = new Set<string>();
  if (holds && !open.has(FLEET)) fire.set(FLEET, holds);
  if (!holds && open.has(FLEET)) clear.add(FLEET);
  return { fire, clear };
}

/** Per device: active, and neither a heartbeat nor (never seen) its enrolment within the last N minutes. */
async function deviceOffline(
  tx: Tx,
  rule: RuleState,
  p: AlertParams['device_offline'],
  now: Date,
  open: Set<string>,
): Promise<ConditionResult> {
  const since = minutesBefore(now, p.offlineMinutes);
  const prefix = `${rule.id}:`;
  const newly = await tx.$queryRaw<{ id: string; serial: string; seen: Date }[]>`
    SELECT d."id", d."serial", COALESCE(d."lastSeenAt", d."enrolledAt") AS seen FROM "Device" d
     WHERE d."manufacturerId" = ${rule.manufacturerId} AND d."status" = 'active'
       AND COALESCE(d."lastSeenAt", d."enrolledAt") < ${ts(since)}
       AND NOT EXISTS (SELECT 1 FROM "Alert" a WHERE a."openKey" = ${prefix} || d."id")
     ORDER BY seen ASC LIMIT ${MAX_NEW_PER_TICK}`;
  const fire = new Map(
    newly.map((d) => [d.id, { deviceId: d.id, serial: d.serial, lastSeenAt: d.seen.toISOString(), offlineMinutes: p.offlineMinutes }]),
  );
  const stillOffline =
    open.size === 0
      ? []
      : await tx.$queryRaw<{ id: string }[]>`
          SELECT d."id" FROM "Device" d
           WHERE d."id" = ANY(${[...open]}) AND d."manufacturerId" = ${rule.manufacturerId} AND d."status" = 'active'
             AND COALESCE(d."lastSeenAt", d."enrolledAt") < ${ts(since)}`;
  const still = new Set(stillOffline.map((r) => r.id));
  return { fire, clear: new Set([...open].filter((s) => !still.has(s))) };
}

/** Fleet: share of decided results (agreed, disagreed, canary_failed) of the window that were rejected. */
async function rejectRate(tx: Tx, rule: RuleState, p: AlertParams['reject_rate'], now: Date): Promise<Record<string, unknown> | null> {
  const [row] = await tx.$queryRaw<{ rejected: bigint; decided: bigint }[]>`
    SELECT COUNT(*) FILTER (WHERE a."outcome" IN ('disagreed', 'canary_failed')) AS rejected, COUNT(*) AS decided
      FROM "Assignment" a JOIN "Device" d ON d."id" = a."deviceId"
     WHERE d."manufacturerId" = ${rule.manufacturerId} AND a."status" = 'submitted' AND a."outcome" IS NOT NULL
       AND a."submittedAt" >= ${ts(minutesBefore(now, p.windowMinutes))}`;
  const rejected = Number(row?.rejected ?? 0n);
  const decided = Number(row?.decided ?? 0n);
  if (decided < p.minResults) return null;
  const ratePct = (rejected * 100) / decided;
  if (ratePct <= p.thresholdPct) return null;
  return { rejected, decided, ratePct: round2(ratePct), thresholdPct: p.thresholdPct, windowMinutes: p.windowMinutes };
}

/** Per device: canary_failed results submitted since the previous evaluation (the rule's cursor). */
async function canaryStrike(tx: Tx, rule: RuleState, now: Date, open: Set<string>): Promise<ConditionResult> {
  const until = new Date(now.getTime() - STRIKE_SETTLE_MS);
  const rows =
    until <= rule.cursorAt
      ? []
      : await tx.$queryRaw<{ deviceId: string; serial: string; strikes: bigint; last: Date }[]>`
          SELECT a."deviceId", d."serial", COUNT(*) AS strikes, MAX(a."submittedAt") AS last
            FROM "Assignment" a JOIN "Device" d ON d."id" = a."deviceId"
           WHERE d."manufacturerId" = ${rule.manufacturerId} AND a."outcome" = 'canary_failed'
             AND a."submittedAt" > ${ts(rule.cursorAt)} AND a."submittedAt" <= ${ts(until)}
           GROUP BY a."deviceId", d."serial" ORDER BY last DESC LIMIT 10000`;
  const struck = new Set(rows.map((r) => r.deviceId));
  const fire = new Map<string, Record<string, unknown>>();
  for (const r of rows) {
    if (open.has(r.deviceId) || fire.size >= MAX_NEW_PER_TICK) continue;
    fire.set(r.deviceId, { deviceId: r.deviceId, serial: r.serial, strikes: Number(r.strikes), lastStrikeAt: r.last.toISOString() });
  }
  return { fire, clear: new Set([...open].filter((s) => !struck.has(s))) };
}

/** Fleet: share of active devices seen within the last M minutes. */
async function onlineShare(tx: Tx, rule: RuleState, p: AlertParams['online_share'], now: Date): Promise<Record<string, unknown> | null> {
  const [row] = await tx.$queryRaw<{ online: bigint; active: bigint }[]>`
    SELECT COUNT(*) FILTER (WHERE d."lastSeenAt" >= ${ts(minutesBefore(now, p.onlineWithinMinutes))}) AS online, COUNT(*) AS active
      FROM "Device" d WHERE d."manufacturerId" = ${rule.manufacturerId} AND d."status" = 'active'`;
  const online = Number(row?.online ?? 0n);
  const active = Number(row?.active ?? 0n);
  if (active === 0) return null;
  const sharePct = (online * 100) / active;
  if (sharePct >= p.thresholdPct) return null;
  return { online, active, sharePct: round2(sharePct), thresholdPct: p.thresholdPct, onlineWithinMinutes: p.onlineWithinMinutes };
}

/** The cursor after an evaluation at `now` (canary strikes are counted up to the settled instant). */
export function nextCursor(rule: RuleState, now: Date): Date {
  const settled = new Date(now.getTime() - STRIKE_SETTLE_MS);
  return settled > rule.cursorAt ? settled : rule.cursorAt;
}
