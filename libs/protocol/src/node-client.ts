import { signNodeRequest } from './node-protocol.js';

export class NodeRequestError extends Error {
  constructor(
    readonly status: number | null,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
  /** True when the node may or may not have acted (no answer, or a 5xx). */
  get unclear(): boolean {
    return this.status === null || this.status >= 500;
  }
}

/** HTTP client for a trusted node's `/v1` API, every request signed with the platform key. */
export class NodeClient {
  constructor(
    readonly baseUrl: string,
    private readonly platformSeed: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async request<T>(method: 'GET' | 'POST', pathAndQuery: string, body?: unknown): Promise<T> {
    const raw = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = signNodeRequest(this.platformSeed, method, pathAndQuery, raw);
    if (raw !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(new URL(pathAndQuery, this.baseUrl), {
        method,
        headers,
        body: raw,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: unknown } }).cause?.code;
      const why = typeof cause === 'string' ? ` (${cause})` : '';
      throw new NodeRequestError(null, 'NODE.UNREACHABLE', `${method} ${pathAndQuery}: ${(e as Error).message}${why}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new NodeRequestError(res.status, 'NODE.BAD_RESPONSE', `${method} ${pathAndQuery}: answer is not JSON`);
    }
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new NodeRequestError(res.status, err?.code ?? `HTTP.${res.status}`, err?.message ?? text.slice(0, 200));
    }
    return json as T;
  }
}
