/** Ledger account codes. Credits are positive, debits negative; every entry sums to zero. */
export const Accounts = {
  /** Rewards issued: goes negative by every reward posted. */
  rewardPool: 'rewards:pool',
  operator: 'operator',
  /** Paid to a node for execution, outcome not yet confirmed. */
  payoutsInFlight: 'payouts:in-flight',
  /** Confirmed paid out by the node. */
  payoutsSettled: 'payouts:settled',
  device: (id: string) => `device:${id}`,
  /** A device's rewards still maturing: the whole reward, split only when it matures. */
  immature: (deviceId: string) => `immature:${deviceId}`,
  manufacturer: (id: string) => `manufacturer:${id}`,
} as const;

export function kindOf(code: string): string {
  return code.includes(':') && !code.startsWith('rewards') && !code.startsWith('payouts') ? code.split(':')[0]! : 'system';
}
