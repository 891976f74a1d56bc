import { Agent, request } from 'node:http';
import { signDeviceRequest } from '@idlemint/protocol';

export interface HttpAnswer<T = unknown> {
  status: number;
  body: T;
}

const defaultAgent = new Agent({ keepAlive: true });
const originAgents = new Map<string, Agent>();

/**
 * The connection pool of one network origin: every request through it leaves from `localAddress`
 * (an address of the loopback range, 127.0.0.0/8), so the platform sees each simulated household
 * as its own network origin, as it would see real ones.
 */
export function originAgent(localAddress?: string): Agent {
  if (!localAddress) return defaultAgent;
  let agent = originAgents.get(localAddress);
  if (!agent) {
    agent = new Agent({ keepAlive: true, localAddress });
    originAgents.set(localAddress, agent);
  }
  return agent;
}

/** JSON over HTTP/1.1; the body string sent is exactly the one signed. */
export function call<T = unknown>(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  agent: Agent = defaultAgent,
): Promise<HttpAnswer<T>> {
  const raw = body === undefined ? undefined : JSON.stringify(body);
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent,
        timeout: 30_000,
        headers: {
          ...(raw !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(raw) } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : undefined) as T });
          } catch (e) {
            reject(e as Error);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 30 s`)));
    req.on('error', reject);
    req.end(raw);
  });
}

export function deviceCall<T = unknown>(
  baseUrl: string,
  keys: { secretKey: string; publicKey: string },
  method: string,
  path: string,
  body?: unknown,
  agent?: Agent,
): Promise<HttpAnswer<T>> {
  const raw = body === undefined ? undefined : JSON.stringify(body);
  const headers = signDeviceRequest(keys, method, path, raw);
  return call<T>(baseUrl, method, path, body, headers, agent);
}

/** Fails loudly on an unexpected status, with the error code the API gave. */
export function expectStatus<T>(a: HttpAnswer<T>, ok: number[], what: string): T {
  if (!ok.includes(a.status)) throw new Error(`${what}: HTTP ${a.status} ${JSON.stringify(a.body)}`);
  return a.body;
}
