/** One submitted answer to a unit. */
export interface Answer {
  assignmentId: string;
  deviceId: string;
  ownerId: string | null;
  verdicts: string;
}

export type QuorumDecision =
  | { kind: 'verified'; verdicts: string; agreeing: Answer[]; disagreeing: Answer[] }
  | { kind: 'wait' }
  | { kind: 'more'; replicas: number }
  | { kind: 'disputed' };

/**
 * Decides a unit from its answers that passed the canaries. A verdict string is verified when
 * `quorum` independent answers (distinct devices, distinct owners where owned) carry it. When
 * every issued replica has answered without that, more replicas are asked for up to `maxReplicas`;
 * past that the unit is disputed and nothing of it is relayed.
 */
export function decide(
  answers: Answer[],
  opts: { quorum: number; answered: number; replicasIssued: number; maxReplicas: number },
): QuorumDecision {
  const groups = new Map<string, Answer[]>();
  for (const a of answers) {
    const g = groups.get(a.verdicts) ?? [];
    if (!g.some((b) => b.deviceId === a.deviceId || (a.ownerId !== null && b.ownerId === a.ownerId))) g.push(a);
    groups.set(a.verdicts, g);
  }
  let best: [string, Answer[]] | undefined;
  for (const entry of groups) if (!best || entry[1].length > best[1].length) best = entry;
  if (best && best[1].length >= opts.quorum) {
    const agreeing = best[1];
    const disagreeing = answers.filter((a) => a.verdicts !== best[0]);
    return { kind: 'verified', verdicts: best[0], agreeing, disagreeing };
  }
  if (opts.answered < opts.replicasIssued) return { kind: 'wait' };
  const missing = opts.quorum - (best?.[1].length ?? 0);
  const replicas = Math.min(missing, opts.maxReplicas - opts.replicasIssued);
  return replicas > 0 ? { kind: 'more', replicas } : { kind: 'disputed' };
}

/** True when the verdicts give every canary its known answer. */
export function passesCanaries(verdicts: string, canaries: { index: number; valid: boolean }[]): boolean {
  return canaries.every((c) => verdicts[c.index] === (c.valid ? '1' : '0'));
}
