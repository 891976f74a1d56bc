/**
 * Variable difficulty per device: aim at one share every `targetS` seconds. The parameters are
 * node-stratum-pool's (NOMP) defaults, which Miningcore and most Stratum pools for small miners
 * ship: target 15 s, retarget every 90 s, no change while the mean interval is within 30 % of the
 * target. Chosen because the miners we want to take unchanged (NerdMiner, Bitaxe, ESP boards) are
 * tuned against such pools, and 15 s gives a steady share stream without flooding the gateway.
 * A retarget moves by the ratio target / observed interval, at most ×4 or ÷4 at once (so one lucky
 * burst cannot throw a microcontroller off by orders of magnitude), within [minDiff, maxDiff].
 */
export interface VardiffPolicy {
  targetS: number;
  retargetS: number;
  variancePct: number;
  minDiff: number;
  maxDiff: number;
}

export interface VardiffState {
  difficulty: number;
  /** When the window began (ms) and how many shares arrived in it. */
  windowStart: number;
  shares: number;
}

const MAX_STEP = 4;

export function startVardiff(difficulty: number, now: number): VardiffState {
  return { difficulty, windowStart: now, shares: 0 };
}

export function clampDifficulty(d: number, p: VardiffPolicy): number {
  return Math.min(p.maxDiff, Math.max(p.minDiff, roundDifficulty(d)));
}

/** Eight significant digits: keeps notify payloads short and difficulties comparable. */
export function roundDifficulty(d: number): number {
  return Number(d.toPrecision(8));
}

/**
 * Records one accepted share at `now` and, once a retarget window has passed, returns the new
 * difficulty (or null when it stays). Also call it with `share = false` on a timer, so a device
 * that finds nothing at its difficulty is eased down.
 */
export function vardiffTick(state: VardiffState, p: VardiffPolicy, now: number, share: boolean): number | null {
  if (share) state.shares += 1;
  const elapsedS = (now - state.windowStart) / 1000;
  if (elapsedS < p.retargetS) return null;
  // No share in the window: treat the window itself as the (lower bound of the) interval.
  const meanS = elapsedS / Math.max(state.shares, 1);
  state.windowStart = now;
  state.shares = 0;
  const low = p.targetS * (1 - p.variancePct / 100);
  const high = p.targetS * (1 + p.variancePct / 100);
  if (meanS >= low && meanS <= high) return null;
  const ratio = Math.min(MAX_STEP, Math.max(1 / MAX_STEP, p.targetS / meanS));
  const next = clampDifficulty(state.difficulty * ratio, p);
  if (next === state.difficulty) return null;
  state.difficulty = next;
  return next;
}

/** `mining.suggest_difficulty` and the like: honoured within the policy's bounds. */
export function suggestedDifficulty(suggested: number, p: VardiffPolicy): number | null {
  if (!Number.isFinite(suggested) || suggested <= 0) return null;
  return clampDifficulty(suggested, p);
}
