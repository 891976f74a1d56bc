import { SCHEMES, makeItem, type Scheme, type TxItem } from '@idlemint/crypto';
import { makeTransferMessage } from '@idlemint/protocol';
import { randomInt } from 'node:crypto';

export interface Canary {
  item: TxItem;
  valid: boolean;
}

/**
 * A planted item with a known answer, made exactly like a node's transfer (same schemes, message
 * shape and sizes), so a device cannot tell it from real work. The first canary of a unit is
 * always invalid: a device that answers "all valid" without checking is caught on every unit.
 */
export function makeCanaries(count: number): Canary[] {
  return Array.from({ length: count }, (_, i) => makeCanary(i === 0 ? false : randomInt(2) === 1));
}

/** One canary of a random scheme with the given answer. */
export function makeCanary(valid: boolean): Canary {
  const scheme: Scheme = SCHEMES[randomInt(SCHEMES.length)]!;
  return { item: makeItem(scheme, Buffer.from(makeTransferMessage(), 'hex'), valid), valid };
}

/** Real items with the canaries put at random places; returns the items and where each canary went. */
export function plantCanaries(real: TxItem[], canaries: Canary[]): { items: TxItem[]; positions: { index: number; valid: boolean }[] } {
  const items: (TxItem | Canary)[] = [...real];
  for (const c of canaries) items.splice(randomInt(items.length + 1), 0, c);
  const positions: { index: number; valid: boolean }[] = [];
  const flat = items.map((x, index) => {
    if ('valid' in x) {
      positions.push({ index, valid: x.valid });
      return x.item;
    }
    return x;
  });
  return { items: flat, positions };
}
