/** Shares in basis points; they add up to 10,000. */
export interface Shares {
  ownerBps: number;
  manufacturerBps: number;
  operatorBps: number;
}

export interface Split {
  owner: bigint;
  manufacturer: bigint;
  operator: bigint;
}

/**
 * Splits an integer reward by basis points, rounding the owner's and manufacturer's shares down;
 * the operator takes the remainder, so the parts always add up to the whole, to the minor unit.
 */
export function splitReward(reward: bigint, s: Shares): Split {
  if (reward < 0n) throw new RangeError('reward must not be negative');
  if (s.ownerBps + s.manufacturerBps + s.operatorBps !== 10_000) throw new RangeError('shares must add up to 10000 bps');
  const owner = (reward * BigInt(s.ownerBps)) / 10_000n;
  const manufacturer = (reward * BigInt(s.manufacturerBps)) / 10_000n;
  return { owner, manufacturer, operator: reward - owner - manufacturer };
}
