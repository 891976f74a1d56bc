/**
 * Device reputation, BOINC style: a run of consecutive valid results earns trust, a strike resets
 * the run, strikes decay with later valid work, and enough strikes quarantine the device. Pure:
 * the service applies these transitions inside the verdict's transaction.
 */
export interface Reputation {
  consecutiveValid: number;
  strikes: number;
  quarantineCount: number;
}

export interface ReputationPolicy {
  /** Consecutive agreed results (and no strike) before a device is trusted. */
  trustAfter: number;
  /** One strike is forgiven after this many consecutive agreed results. */
  strikeDecayEvery: number;
  quarantineStrikes: number;
  /** A device quarantined this many times is revoked for good. */
  revokeAfterQuarantines: number;
}

export type ReputationAction = 'none' | 'quarantine' | 'revoke';

export function afterAgreed(r: Reputation, p: ReputationPolicy): Reputation {
  const consecutiveValid = r.consecutiveValid + 1;
  const decay = r.strikes > 0 && consecutiveValid % p.strikeDecayEvery === 0 ? 1 : 0;
  return { ...r, consecutiveValid, strikes: r.strikes - decay };
}

export function afterStrike(r: Reputation, p: ReputationPolicy): { next: Reputation; action: ReputationAction } {
  const next = { ...r, consecutiveValid: 0, strikes: r.strikes + 1 };
  if (next.strikes < p.quarantineStrikes) return { next, action: 'none' };
  const quarantined = { ...next, quarantineCount: r.quarantineCount + 1 };
  return { next: quarantined, action: quarantined.quarantineCount >= p.revokeAfterQuarantines ? 'revoke' : 'quarantine' };
}

export function isTrusted(r: Pick<Reputation, 'strikes' | 'consecutiveValid'>, trustAfter: number): boolean {
  return r.strikes === 0 && r.consecutiveValid >= trustAfter;
}

/** 0 (new or striking) to 1 (proven, clean), for operators and manufacturers to read. */
export function reputationScore(r: Reputation, p: ReputationPolicy): number {
  const proven = Math.min(1, r.consecutiveValid / p.trustAfter);
  return Math.round((proven / (1 + r.strikes)) * 1000) / 1000;
}

/** Daily work quota, BOINC `max_jobs_per_day`: doubles on valid work, halves on errors and on missed deadlines. */
export function nextQuota(quota: number, event: 'agreed' | 'strike' | 'missed', max: number): number {
  switch (event) {
    case 'agreed':
      return Math.min(max, quota * 2);
    case 'strike':
    case 'missed':
      return Math.max(1, Math.floor(quota / 2));
  }
}
