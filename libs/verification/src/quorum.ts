/** One submitted answer to a unit. */
export interface Answer {
  assignmentId: string;
  deviceId: string;
  ownerId: string | null;
  manufacturerId?: string | null;
  origin?: string | null;
  verdicts: string;
}

export type QuorumDecision =
  | { kind: 'verified'; verdicts: string; agreeing: Answer[]; disagreeing: Answer[] }
  | { kind: 'wait' }
  | { kind: 'more'; replicas: number }
  | { kind: 'disputed' };

export interface QuorumRule {
  /** Independent answers that must carry one verdict string (never fewer than 2 in production). */
  quorum: number;
  /** Distinct manufacturers among them (2 where the class had several when the unit was cut). */
  minManufacturers?: number;
}

/** Two answers are independent when they come from distinct devices, owners and network origins. */
function independent(a: Answer, b: Answer): boolean {
  if (a.deviceId === b.deviceId) return false;
  if (a.ownerId !== null && a.ownerId === b.ownerId) return false;
  if (a.origin != null && a.origin === b.origin) return false;
  return true;
}

/** The answers of one verdict string that count: each independent of those before it. */
export function independentSupport(answers: Answer[]): Answer[] {
  const out: Answer[] = [];
  for (const a of answers) if (out.every((b) => independent(a, b))) out.push(a);
  return out;
}

const manufacturersOf = (answers: Answer[]) => new Set(answers.map((a) => a.manufacturerId ?? `device:${a.deviceId}`)).size;

function groupByVerdicts(answers: Answer[]): Map<string, Answer[]> {
  const raw = new Map<string, Answer[]>();
  for (const a of answers) raw.set(a.verdicts, [...(raw.get(a.verdicts) ?? []), a]);
  return new Map([...raw].map(([v, g]) => [v, independentSupport(g)]));
}

/**
 * Decides a unit from its answers that passed the canaries. A verdict string is verified when
 * `quorum` independent answers carry it and they span `minManufacturers` manufacturers. When every
 * issued replica has answered without that, more replicas are asked for up to `maxReplicas`; past
 * that the unit is disputed and nothing of it is relayed.
 */
export function decide(
  answers: Answer[],
  opts: QuorumRule & { answered: number; replicasIssued: number; maxReplicas: number },
): QuorumDecision {
  const minManufacturers = opts.minManufacturers ?? 1;
  const groups = groupByVerdicts(answers);
  const shortOf = (g: Answer[]) => Math.max(opts.quorum - g.length, minManufacturers - manufacturersOf(g), 0);
  let best: [string, Answer[]] | undefined;
  // The verdict closest to its quorum; among those, the one with the most independent support.
  const better = (a: Answer[], b: Answer[]) => shortOf(a) < shortOf(b) || (shortOf(a) === shortOf(b) && a.length > b.length);
  for (const entry of groups) if (!best || better(entry[1], best[1])) best = entry;
  if (best && shortOf(best[1]) === 0) {
    const agreeing = best[1];
    const disagreeing = answers.filter((a) => a.verdicts !== best[0]);
    return { kind: 'verified', verdicts: best[0], agreeing, disagreeing };
  }
  if (opts.answered < opts.replicasIssued) return { kind: 'wait' };
  const missing = best ? shortOf(best[1]) : Math.max(opts.quorum, minManufacturers);
  const replicas = Math.min(missing, opts.maxReplicas - opts.replicasIssued);
  return replicas > 0 ? { kind: 'more', replicas } : { kind: 'disputed' };
}

export type AuditSettlement =
  | { kind: 'upheld'; agreeing: Answer[]; dissenting: Answer[] }
  | { kind: 'overturned'; verdicts: string; winners: Answer[]; losers: Answer[] }
  | { kind: 'undecided' };

/**
 * Settles a contested audit: the answers that made the relayed verdict, the auditor's and the
 * tie-break replicas', each counted once per independent source. The relayed verdict holds only
 * with strictly more independent support than any other; another verdict with strictly more
 * overturns it; a tie is undecided (the verdict is withdrawn, nobody is struck).
 */
export function settleAudit(relayed: string, answers: Answer[]): AuditSettlement {
  const groups = groupByVerdicts(answers);
  const forRelayed = groups.get(relayed) ?? [];
  let rival: [string, Answer[]] | undefined;
  for (const entry of groups) if (entry[0] !== relayed && (!rival || entry[1].length > rival[1].length)) rival = entry;
  const against = rival?.[1].length ?? 0;
  if (forRelayed.length > against) {
    return {
      kind: 'upheld',
      agreeing: answers.filter((a) => a.verdicts === relayed),
      dissenting: answers.filter((a) => a.verdicts !== relayed),
    };
  }
  if (rival && against > forRelayed.length) {
    return {
      kind: 'overturned',
      verdicts: rival[0],
      winners: answers.filter((a) => a.verdicts === rival[0]),
      losers: answers.filter((a) => a.verdicts === relayed),
    };
  }
  return { kind: 'undecided' };
}

/** True when the verdicts give every canary its known answer. */
export function passesCanaries(verdicts: string, canaries: { index: number; valid: boolean }[]): boolean {
  return canaries.every((c) => verdicts[c.index] === (c.valid ? '1' : '0'));
}
