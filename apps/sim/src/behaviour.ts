import { verifyItem, type TxItem } from '@idlemint/crypto';

/** How a simulated appliance answers a unit. */
export type Behaviour = 'honest' | 'lazy';

export const BEHAVIOURS: Record<Behaviour, (items: TxItem[]) => string> = {
  /** Checks every signature, as real firmware does. */
  honest: (items) => items.map((i) => (verifyItem(i) ? '1' : '0')).join(''),
  /** A liar: answers "all valid" without checking anything. */
  lazy: (items) => '1'.repeat(items.length),
};
