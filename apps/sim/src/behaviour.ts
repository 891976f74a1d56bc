import { createHash, randomInt } from 'node:crypto';
import { verifyItem, type TxItem } from '@idlemint/crypto';

/**
 * How a simulated appliance answers. `honest` is real firmware; the rest are the adversaries the
 * platform must catch: answers that look plausible but were not checked, or were checked and
 * then bent, or that come too late; and the patient ones, who behave until they are trusted:
 *
 * - `turncoat`: honest for its first `TURNCOAT_AFTER` results, then flips one real item per unit;
 * - `targeted`: honest except on the transactions it was told to favour, whose verdict it flips;
 * - `cartel`: devices of several owners and origins (one attacker, one brand) that claim at the
 *   same moments and tell each other out of band which units they hold; when two hold one unit
 *   they bend it the same way, otherwise they answer honestly;
 * - `sybil`: many owners with one or two devices each, all bending every unit the same way;
 * - `sleeper`: honest for its first `SLEEPER_AFTER` results, then lies on 2% of real items.
 */
export const BEHAVIOURS = [
  'honest',
  'lazy',
  'random',
  'flipper',
  'ring',
  'replayer',
  'slowpoke',
  'turncoat',
  'targeted',
  'cartel',
  'sybil',
  'sleeper',
] as const;
export type Behaviour = (typeof BEHAVIOURS)[number];
export const ADVERSARIES: Behaviour[] = BEHAVIOURS.filter((b) => b !== 'honest');
/** Adversaries that only start lying once they have built a record. */
export const PATIENT: Behaviour[] = ['turncoat', 'targeted', 'cartel', 'sybil', 'sleeper'];

export const TURNCOAT_AFTER = 15;
export const SLEEPER_AFTER = 40;
export const SLEEPER_LIE_RATE = 0.02;

/** What a device knows when it answers: its own record, and its side's shared secrets. */
export interface AnswerContext {
  pool: ReplayPool;
  /** Results this device has had accepted (202) so far. */
  answered: number;
  /** Secret of the attacker this device serves (the cartel's and the sybils' shared lie). */
  side: string;
  /** For a cartel member: whether another member holds this unit too (agreed out of band). */
  partnered?: boolean;
  /** How the device learns an item's truth: by checking its signature (default), or an oracle's answer. */
  check?: ItemCheck;
}

/** The truth of one item, as the device finds it out. */
export type ItemCheck = (item: TxItem) => boolean;

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

const checked = (items: TxItem[], check: ItemCheck): string => items.map((i) => (check(i) ? '1' : '0')).join('');
const flip = (v: string, i: number): string => v.slice(0, i) + (v[i] === '1' ? '0' : '1') + v.slice(i + 1);

/** The transactions a `targeted` device was told to favour: about one in eight, by message. */
export function favoured(item: TxItem): boolean {
  return createHash('sha256').update(`favour:${item.message}`).digest()[0]! < 32;
}

/**
 * The same bend for the same unit by every device of one side, whatever canaries each was sent:
 * the item is chosen among the items that look like real work to the side (all but the shortest
 * message hashes differ per assignment, so members pick by the item's own content).
 */
function sideBend(items: TxItem[], v: string, side: string): string {
  let pick = 0;
  let best = '';
  items.forEach((it, i) => {
    const h = createHash('sha256').update(`${side}:${it.message}:${it.signature}`).digest('hex');
    if (h > best) {
      best = h;
      pick = i;
    }
  });
  return flip(v, pick);
}

export function answer(b: Behaviour, items: TxItem[], ctx: AnswerContext | ReplayPool): Answer {
  const c: AnswerContext = 'pool' in ctx ? ctx : { pool: ctx, answered: 0, side: 'none' };
  const pool = c.pool;
  const check = c.check ?? verifyItem;
  const honest = (its: TxItem[]) => checked(its, check);
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
    case 'turncoat':
      return c.answered < TURNCOAT_AFTER ? { verdicts: honest(items) } : { verdicts: flip(honest(items), randomInt(items.length)) };
    case 'targeted':
      return { verdicts: items.map((i) => (check(i) !== favoured(i) ? '1' : '0')).join('') };
    case 'cartel':
      return { verdicts: c.partnered && c.answered >= TURNCOAT_AFTER ? sideBend(items, honest(items), c.side) : honest(items) };
    case 'sybil':
      return { verdicts: c.answered < TURNCOAT_AFTER ? honest(items) : sideBend(items, honest(items), c.side) };
    case 'sleeper': {
      if (c.answered < SLEEPER_AFTER) return { verdicts: honest(items) };
      const v = honest(items);
      return { verdicts: [...v].map((x) => (Math.random() < SLEEPER_LIE_RATE ? (x === '1' ? '0' : '1') : x)).join('') };
    }
  }
}

/**
 * The cartel's back channel: members say which unit they hold, and learn whether another member
 * holds the same one within `waitMs` (then both bend it the same way).
 */
export class CartelChannel {
  private readonly holders = new Map<string, { n: number; wake: (() => void)[] }>();

  async join(unitId: string, waitMs: number): Promise<boolean> {
    const h = this.holders.get(unitId) ?? { n: 0, wake: [] };
    this.holders.set(unitId, h);
    h.n++;
    if (h.n >= 2) {
      h.wake.splice(0).forEach((w) => w());
      return true;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      h.wake.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return h.n >= 2;
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
