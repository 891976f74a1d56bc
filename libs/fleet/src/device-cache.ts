/**
 * A small time-bounded cache for the device request path. Entries live `ttlMs` at most, so a
 * revocation made by any process reaches every gateway within that time.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly max = 100_000,
  ) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expires < Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V): void {
    if (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expires: Date.now() + this.ttlMs });
  }

  /**
   * Replaces a live entry's value and keeps its expiry: news from the device itself (a heartbeat)
   * must not extend how long a revocation elsewhere can go unseen.
   */
  update(key: string, fn: (value: V) => V): void {
    const e = this.entries.get(key);
    if (e && e.expires >= Date.now()) e.value = fn(e.value);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
