import { policyOverrideSchema, type PolicyOverride, type WorkPolicy } from '@idlemint/protocol';

/** The policy a device gets when nothing more specific is set: idle only, any hour, a unit per claim. */
export function defaultPolicy(batchSize: number): WorkPolicy {
  return { idleOnly: true, hours: { from: 0, to: 24 }, powerBudgetW: null, maxItems: batchSize };
}

/** A stored override (JSONB) as a PolicyOverride; anything unreadable counts as "sets nothing". */
export function readOverride(stored: unknown): PolicyOverride | null {
  if (stored === null || stored === undefined) return null;
  const parsed = policyOverrideSchema.safeParse(stored);
  return parsed.success ? parsed.data : null;
}

export interface PolicyLayers {
  model: PolicyOverride | null;
  group: PolicyOverride | null;
  device: PolicyOverride | null;
}

/**
 * The effective policy: default, then the model's, the group's and the device's overrides, each
 * field taken from the most specific level that sets it (device > group > model > default).
 */
export function mergePolicy(batchSize: number, layers: PolicyLayers): WorkPolicy {
  const merged = defaultPolicy(batchSize);
  for (const layer of [layers.model, layers.group, layers.device]) {
    if (!layer) continue;
    if (layer.idleOnly !== undefined) merged.idleOnly = layer.idleOnly;
    if (layer.hours !== undefined) merged.hours = { ...layer.hours };
    if (layer.powerBudgetW !== undefined) merged.powerBudgetW = layer.powerBudgetW;
    if (layer.maxItems !== undefined) merged.maxItems = layer.maxItems;
  }
  return merged;
}

const hourFormats = new Map<string, Intl.DateTimeFormat>();

/** The hour (0..23) it is at `at` in IANA time zone `timeZone` (UTC when the zone is unknown). */
export function localHour(timeZone: string, at: Date): number {
  let f = hourFormats.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', { timeZone, hour: 'numeric', hourCycle: 'h23' });
    } catch {
      return at.getUTCHours();
    }
    hourFormats.set(timeZone, f);
  }
  const h = Number(f.formatToParts(at).find((p) => p.type === 'hour')?.value);
  return Number.isInteger(h) ? h % 24 : at.getUTCHours();
}

/** Whether local hour `h` is inside [from, to); a window with from > to wraps past midnight. */
export function inHours(h: number, hours: WorkPolicy['hours']): boolean {
  return hours.from < hours.to ? h >= hours.from && h < hours.to : h >= hours.from || h < hours.to;
}

/** What the gateway knows of a device when it asks for work (all of it from the cached context). */
export interface WorkingState {
  manufacturerActive: boolean;
  status: string;
  timezone: string;
  policy: WorkPolicy;
  /** From the latest heartbeat; null when the device never said. */
  live: { idle: boolean | null; powerW: number | null };
}

/**
 * Whether the device may be given work now. The gateway refuses on evidence only: a device that
 * never reported idleness or power is trusted to follow the policy it was sent; one whose latest
 * heartbeat said busy (idleOnly) or above its power budget is not given work, nor is one outside
 * its hours, nor any device of a suspended manufacturer.
 */
export function mayWork(d: WorkingState, at: Date): boolean {
  if (!d.manufacturerActive || d.status !== 'active') return false;
  const p = d.policy;
  if (p.idleOnly && d.live.idle === false) return false;
  if (p.powerBudgetW !== null && d.live.powerW !== null && d.live.powerW > p.powerBudgetW) return false;
  return inHours(localHour(d.timezone, at), p.hours);
}
