/**
 * Diminishing returns per owner (Duino-Coin's "Kolka" in spirit): an owner's first `fullDevices`
 * appliances earn the full reward; each further one earns `stepBps` of the one before it. Farming
 * many devices under one owner buys less and less. Integer arithmetic, rounded down.
 */
export interface Diminishing {
  fullDevices: number;
  stepBps: number;
}

export function diminishedReward(reward: bigint, rank: number, d: Diminishing): { amount: bigint; why: string } {
  if (rank <= d.fullDevices) return { amount: reward, why: `device ${rank} of its owner: full reward ${reward}` };
  const k = BigInt(rank - d.fullDevices);
  const amount = (reward * BigInt(d.stepBps) ** k) / 10_000n ** k;
  return {
    amount,
    why:
      `device ${rank} of its owner: above ${d.fullDevices} devices each further one earns ` +
      `${d.stepBps / 100}% of the previous, ${reward} -> ${amount}`,
  };
}
