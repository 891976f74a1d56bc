import { createHash, randomInt } from 'node:crypto';
import { verifyItem, type TxItem } from '@idlemint/crypto';

/**
 * How a simulated appliance answers. `honest` is real firmware; the rest are the adversaries the
 * platform must catch: answers that look plausible but were not checked, or were checked and
 * then bent, or that come too late.
 */
export const BEHAVIOURS = ['honest', 'lazy', 'random', 'flipper', 'ring', 'replayer', 'slowpoke'] as const;
export type Behaviour = (typeof BEHAVIOURS)[number];
export const ADVERSARIES: Behaviour[] = BEHAVIOURS.filter((b) => b !== 'honest');

export interface Answer {
  verdicts: string;
  /** Send this instead of a signature of our own (the replayer's stolen one). */
  stolenSignature?: string;
  /** Hold the answer this long after the deadline (the slowpoke). */
  lateByMs?: number;
}

/** Results seen on the wire, for the replayer to reuse. Shared by the whole simulated fleet. */
export interface ReplayPool {
  remember(verdicts: string, resultSignature: string): void;
  pick(length: number): { verdicts: string; resultSignature: string } | undefined;
}

export function replayPool(max = 500): ReplayPool {
  const byLength = new Map<number, { verdicts: string; resultSignature: string }[]>();
  return {
    remember(verdicts, resultSignature) {
      const list = byLength.get(verdicts.length) ?? [];
      list.push({ verdicts, resultSignature });
      if (list.length > max) list.shift();
      byLength.set(verdicts.length, list);
    },
    pick(length) {
      const list = byLength.get(length);
      return list?.length ? list[randomInt(list.length)] : undefined;
    },
  };
}

const honest = (items: TxItem[]): string => items.map((i) => (verifyItem(i) ? '1' : '0')).join('');
const flip = (v: string, i: number): string => v.slice(0, i) + (v[i] === '1' ? '0' : '1') + v.slice(i + 1);

export function answer(b: Behaviour, items: TxItem[], pool: ReplayPool): Answer {
  switch (b) {
    case 'honest':
      return { verdicts: honest(items) };
    case 'lazy':
      return { verdicts: '1'.repeat(items.length) };
    case 'random':
      return { verdicts: items.map(() => String(randomInt(2))).join('') };
    case 'flipper':
      return { verdicts: flip(honest(items), randomInt(items.length)) };
    case 'ring': {
      // Every ring member bends the same unit the same way, so members would agree with each other.
      const digest = createHash('sha256').update(JSON.stringify(items)).digest();
      return { verdicts: flip(honest(items), digest[0]! % items.length) };
    }
    case 'replayer': {
      const seen = pool.pick(items.length);
      if (!seen) return { verdicts: '1'.repeat(items.length) };
      // Half the time another device's signature, half the time an old answer signed afresh.
      return randomInt(2) === 0 ? { verdicts: seen.verdicts, stolenSignature: seen.resultSignature } : { verdicts: seen.verdicts };
    }
    case 'slowpoke':
      return { verdicts: honest(items), lateByMs: 1_000 };
  }
}

/** Parses `lazy=0.05,ring=0.03` into fractions per adversary. */
export function parseMix(spec: string): Partial<Record<Behaviour, number>> {
  const mix: Partial<Record<Behaviour, number>> = {};
  for (const part of spec.split(',').filter(Boolean)) {
    const [name, value] = part.split('=');
    if (!ADVERSARIES.includes(name as Behaviour)) throw new Error(`unknown adversary "${name}" (one of ${ADVERSARIES.join(', ')})`);
    const f = Number(value);
    if (!(f >= 0 && f <= 1)) throw new Error(`adversary share must be 0..1: ${part}`);
    mix[name as Behaviour] = f;
  }
  return mix;
}
