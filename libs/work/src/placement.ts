import { createHash, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * Who gets which replica is the platform's choice, not the fastest claimer's. Every replica job
 * gets a priority drawn from a seeded hash of its job id, so the queue hands replicas out in a
 * random order: two replicas of one unit sit at unrelated places, and devices that claim at the
 * same instant get unrelated units. With the same seed the order is the same (tests).
 *
 * BullMQ priorities run from 1 (first) to 2^21.
 */
const MAX_PRIORITY = 2 ** 21;

/** 0 ≤ x < 1, uniform, from a seed and a label. */
export function seededUniform(seed: string, label: string): number {
  const h = createHash('sha256').update(seed).update('\n').update(label).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

export function placementPriority(seed: string, jobId: string): number {
  return 1 + Math.floor(seededUniform(seed, `placement:${jobId}`) * (MAX_PRIORITY - 1));
}

/** Whether a verified unit is sampled for audit (seeded, so a test can reproduce the sample). */
export function auditSampled(seed: string, unitId: string, rate: number): boolean {
  return rate > 0 && seededUniform(seed, `audit:${unitId}`) < rate;
}

/** The configured seed, or a fresh one per process. */
export function placementSeed(configured: string): string {
  return configured || randomBytes(16).toString('hex');
}

/**
 * A request's network origin as replicas are kept apart by: an IPv4 address as it is (a household
 * behind one NAT is one origin), an IPv6 address by its /64 (one subscriber's prefix). Unknown or
 * unparsable addresses give null, which separates nothing.
 */
export function networkOrigin(ip: string | undefined | null): string | null {
  if (!ip) return null;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const addr = mapped ? mapped[1]! : ip;
  switch (isIP(addr)) {
    case 4:
      return addr;
    case 6:
      return `${expandIpv6(addr).slice(0, 4).join(':')}::/64`;
    default:
      return null;
  }
}

function expandIpv6(addr: string): string[] {
  const [head, tail] = addr.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array.from({ length: 8 - left.length - right.length }, () => '0');
  return [...left, ...fill, ...right].map((h) => (parseInt(h, 16) || 0).toString(16));
}
