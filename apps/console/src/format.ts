/** Minor units per major unit: amounts are integers of hundredths (cents) of the currency. */
export const MINOR_DIGITS = 2;

/**
 * An integer amount of minor units (string, bigint or number, as the API sends it) as the
 * currency amount with its unit: "12345" → "123.45 IMT". Exact (BigInt), never a float.
 */
export function money(minor: string | bigint | number | null | undefined, currency: string): string {
  if (minor === null || minor === undefined || minor === '') return '—';
  let v: bigint;
  try {
    v = BigInt(typeof minor === 'number' ? Math.trunc(minor) : minor);
  } catch {
    return String(minor);
  }
  const neg = v < 0n;
  if (neg) v = -v;
  const base = 10n ** BigInt(MINOR_DIGITS);
  const whole = (v / base).toLocaleString('en-US');
  const frac = (v % base).toString().padStart(MINOR_DIGITS, '0');
  return `${neg ? '−' : ''}${whole}.${frac} ${currency}`;
}

export const count = (n: number | null | undefined): string => (n === null || n === undefined ? '—' : n.toLocaleString('en-US'));

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (s < 60) return `${Math.max(0, s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(0)} %`);
