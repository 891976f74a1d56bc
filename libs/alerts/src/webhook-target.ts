import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { isPublicAddress } from './webhook-address.js';

/** A webhook URL that must never be called (not public, or not http/https). Permanent. */
export class WebhookForbiddenError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`webhook URL forbidden: ${reason}`);
  }
}

export interface WebhookTarget {
  url: URL;
  /** The address to connect to: checked, and pinned so a second DNS answer cannot differ. */
  address: string;
  family: 4 | 6;
}

const bare = (hostname: string): string => (hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname);

/**
 * Checks a webhook URL: the scheme, the literal host, then every address its name resolves to.
 * With `allowPrivate` (config ALLOW_PRIVATE_WEBHOOKS) any address passes. DNS failures throw a
 * plain Error (worth retrying), forbidden targets a WebhookForbiddenError.
 */
export async function resolveWebhookTarget(raw: string, allowPrivate: boolean): Promise<WebhookTarget> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookForbiddenError(raw, 'not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new WebhookForbiddenError(raw, `scheme ${url.protocol} is not http or https`);
  const host = bare(url.hostname);
  const literal = isIP(host);
  if (literal !== 0) {
    if (!allowPrivate && !isPublicAddress(host)) throw new WebhookForbiddenError(raw, `address ${host} is not public`);
    return { url, address: host, family: literal === 6 ? 6 : 4 };
  }
  if (!allowPrivate && (host === 'localhost' || host.endsWith('.localhost'))) throw new WebhookForbiddenError(raw, `${host} is loopback`);
  const addresses = await lookup(host, { all: true, verbatim: true });
  if (addresses.length === 0) throw new Error(`${host} resolves to no address`);
  const refused = allowPrivate ? undefined : addresses.find((a) => !isPublicAddress(a.address));
  if (refused) throw new WebhookForbiddenError(raw, `${host} resolves to ${refused.address}, which is not public`);
  const first = addresses[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/**
 * The check made when a rule is saved: forbidden targets are refused at once; a name that does
 * not resolve (yet) is accepted, since every delivery checks again.
 */
export async function assertWebhookUrlAllowed(raw: string, allowPrivate: boolean): Promise<void> {
  try {
    await resolveWebhookTarget(raw, allowPrivate);
  } catch (e) {
    if (e instanceof WebhookForbiddenError) throw e;
  }
}
