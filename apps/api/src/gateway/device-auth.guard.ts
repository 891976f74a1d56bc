import { Inject, Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { CONFIG, DomainError, REDIS, type Config } from '@idlemint/core';
import { ed25519VerifyHexAsync, sha256Hex } from '@idlemint/crypto';
import { DevicesService, FleetErrors, type DeviceContext } from '@idlemint/fleet';
import { DEVICE_HEADERS, NONCE_RE, requestSigningString } from '@idlemint/protocol';

export type DeviceRequest = FastifyRequest & { rawBody?: Buffer; device?: DeviceContext | null; deviceKey?: string };

const ALLOW_UNENROLLED = 'device:allow-unenrolled';
/** Marks the one route a key that is not enrolled may call (enroll). */
export const AllowUnenrolled = () => SetMetadata(ALLOW_UNENROLLED, true);

const HEX32 = /^[0-9a-f]{64}$/;
const HEX64 = /^[0-9a-f]{128}$/;
const TS = /^\d{1,16}$/;

const authError = (code: string, message: string) => new DomainError(code, 'unauthorized', message);

/**
 * Authenticates every device request (protocol: Signed requests). Cheapest checks first: header
 * shapes, clock window, the cached device, then the Ed25519 signature, and last one Redis round
 * trip that both claims the nonce and counts the request against the device's rate limit.
 */
@Injectable()
export class DeviceAuthGuard implements CanActivate {
  constructor(
    private readonly devices: DevicesService,
    private readonly reflector: Reflector,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<DeviceRequest>();
    const key = req.headers[DEVICE_HEADERS.key];
    const ts = req.headers[DEVICE_HEADERS.timestamp];
    const nonce = req.headers[DEVICE_HEADERS.nonce];
    const sig = req.headers[DEVICE_HEADERS.signature];
    if (typeof key !== 'string' || !HEX32.test(key))
      throw authError('DEVICE.KEY_INVALID', 'x-device-key must be 32 bytes of lowercase hex');
    if (typeof ts !== 'string' || !TS.test(ts)) throw authError('DEVICE.TIMESTAMP_INVALID', 'x-device-timestamp must be Unix milliseconds');
    if (typeof nonce !== 'string' || !NONCE_RE.test(nonce))
      throw authError('DEVICE.NONCE_INVALID', 'x-device-nonce must be 8 to 64 of [A-Za-z0-9_-]');
    if (typeof sig !== 'string' || !HEX64.test(sig))
      throw authError('DEVICE.SIGNATURE_INVALID', 'x-device-signature must be 64 bytes of lowercase hex');
    const skew = this.config.DEVICE_CLOCK_SKEW_MS;
    if (Math.abs(Date.now() - Number(ts)) > skew)
      throw authError('DEVICE.TIMESTAMP_OUT_OF_WINDOW', `timestamp is more than ${skew} ms from the gateway clock`);

    const device = await this.devices.byKey(key);
    const allowUnenrolled = this.reflector.get<boolean | undefined>(ALLOW_UNENROLLED, ctx.getHandler()) === true;
    if (!device && !allowUnenrolled) throw FleetErrors.notEnrolled();
    if (device?.status === 'revoked') throw FleetErrors.revoked();

    const signing = requestSigningString(req.method, req.url, ts, nonce, sha256Hex(req.rawBody ?? ''));
    if (!(await ed25519VerifyHexAsync(key, signing, sig))) throw authError('DEVICE.SIGNATURE_INVALID', 'request signature does not verify');

    const p = this.config.REDIS_KEY_PREFIX;
    const window = Math.floor(Date.now() / 60_000);
    // Redis Cluster: the device's nonce and rate keys share its hash tag (one slot, one MULTI);
    // the manufacturer's fleet counter lives in the manufacturer's slot, counted alongside.
    const tag = `${p}{d:${key}}`;
    const rateKey = `${tag}:rate:${window}`;
    const fleetKey = `${p}{m:${device?.manufacturerId ?? 'unenrolled'}}:rate:${window}`;
    const [replies, fleet] = await Promise.all([
      this.redis
        .multi()
        .set(`${tag}:nonce:${nonce}`, '1', 'PX', 2 * skew, 'NX')
        .incr(rateKey)
        .pexpire(rateKey, 61_000)
        .exec(),
      this.redis.multi().incr(fleetKey).pexpire(fleetKey, 61_000).exec(),
    ]);
    if (!replies || replies[0]?.[1] !== 'OK') throw authError('DEVICE.NONCE_REUSED', 'nonce was already used');
    const retryAfterS = 60 - (Math.floor(Date.now() / 1000) % 60);
    if (Number(replies[1]?.[1]) > this.config.DEVICE_RATE_PER_MIN) {
      throw new DomainError('DEVICE.RATE_LIMITED', 'rate_limited', 'too many requests from this device', { retryAfterS });
    }
    if (Number(fleet?.[0]?.[1]) > this.config.MANUFACTURER_DEVICE_RATE_PER_MIN) {
      throw new DomainError('DEVICE.FLEET_RATE_LIMITED', 'rate_limited', "too many requests from this manufacturer's fleet", {
        retryAfterS,
      });
    }
    req.device = device;
    req.deviceKey = key;
    return true;
  }
}
