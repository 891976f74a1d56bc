import { Injectable } from '@nestjs/common';
import { ed25519VerifyHex } from '@idlemint/crypto';
import { isUniqueViolation, newId } from '@idlemint/core';
import {
  certificateSigningString,
  type BirthCertificate,
  type EnrollResponse,
  type HeartbeatBody,
  type WorkPolicy,
} from '@idlemint/protocol';
import { randomInt } from 'node:crypto';
import { TtlCache } from './device-cache.js';
import { FleetErrors } from './fleet.errors.js';
import { FleetRepository, liveOf, type DeviceContext } from './fleet.repository.js';
import { HeartbeatBuffer } from './heartbeat-buffer.js';
import { mayWork } from './policy.js';

const CLAIM_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'; // no 0/O, 1/I: read off a fridge's display

/** How long a gateway trusts its cached view of a device (revocation reaches it within this). */
export const DEVICE_CACHE_MS = 5_000;
/** Seconds between heartbeats the gateway asks for; a device is online within twice that. */
export const HEARTBEAT_INTERVAL_S = 60;
export const ONLINE_WITHIN_MS = 2 * HEARTBEAT_INTERVAL_S * 1000;

@Injectable()
export class DevicesService {
  private readonly cache = new TtlCache<DeviceContext | null>(DEVICE_CACHE_MS);

  constructor(
    private readonly repo: FleetRepository,
    private readonly heartbeats: HeartbeatBuffer,
  ) {}

  /** The device behind a request key, from a short cache; null when not enrolled. */
  async byKey(publicKey: string): Promise<DeviceContext | null> {
    const hit = this.cache.get(publicKey);
    if (hit !== undefined) return hit;
    const ctx = await this.repo.deviceContextByKey(publicKey);
    this.cache.set(publicKey, ctx);
    return ctx;
  }

  forget(publicKey: string): void {
    this.cache.delete(publicKey);
  }

  /** Drops this process's whole view (a model or group policy, or a manufacturer, changed). */
  forgetAll(): void {
    this.cache.clear();
  }

  /** The merged work policy (device > group > model > default), from the cached context. */
  policyOf(device: DeviceContext): WorkPolicy {
    return device.policy;
  }

  /**
   * Whether the device may be given work now: merged policy (idle only, local hours, power
   * budget), the latest heartbeat and the manufacturer's status, all from the cached context.
   */
  mayWorkNow(device: DeviceContext, at: Date = new Date()): boolean {
    return mayWork(device, at);
  }

  /**
   * Just-in-time enrollment from a birth certificate. Idempotent: the same key enrolling again
   * gets its device back (`created: false`).
   */
  async enroll(requestKey: string, cert: BirthCertificate): Promise<{ created: boolean; body: EnrollResponse }> {
    if (cert.devicePublicKey !== requestKey) throw FleetErrors.keyMismatch();
    const existing = await this.repo.deviceContextByKey(requestKey);
    if (existing) return this.alreadyEnrolled(existing);

    if (!ed25519VerifyHex(cert.attestationKey, certificateSigningString(cert), cert.signature)) {
      throw FleetErrors.certSignatureInvalid();
    }
    const attestation = await this.repo.attestationKey(cert.attestationKey);
    if (!attestation) throw FleetErrors.attestationKeyUnknown();
    if (attestation.revokedAt) throw FleetErrors.attestationKeyRevoked();
    const model = await this.repo.modelByName(attestation.manufacturerId, cert.model);
    if (!model) throw (await this.repo.modelNameExists(cert.model)) ? FleetErrors.attestationKeyMismatch() : FleetErrors.modelUnknown();
    const manufacturer = await this.repo.manufacturer(model.manufacturerId);
    if (manufacturer?.status !== 'active') throw FleetErrors.manufacturerSuspended();
    const bySerial = await this.repo.deviceBySerial(model.manufacturerId, cert.serial);
    if (bySerial) {
      // The serial bound to this very key is a concurrent enroll that committed first (idempotent).
      const raced = bySerial.publicKey === requestKey ? await this.repo.deviceContextByKey(requestKey) : null;
      if (raced) return this.alreadyEnrolled(raced);
      throw FleetErrors.serialTaken();
    }

    try {
      await this.repo.createDevice({
        id: newId(),
        manufacturerId: model.manufacturerId,
        modelId: model.id,
        attestationKeyId: attestation.id,
        serial: cert.serial,
        publicKey: cert.devicePublicKey,
        claimCode: newClaimCode(),
        certIssuedAt: new Date(cert.issuedAt),
      });
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      // A concurrent enroll of the same key won the race (idempotent), or the serial was taken.
      const raced = await this.repo.deviceContextByKey(requestKey);
      if (raced) return this.alreadyEnrolled(raced);
      throw FleetErrors.serialTaken();
    }
    this.forget(requestKey);
    const created = await this.repo.deviceContextByKey(requestKey);
    if (!created) throw new Error('device vanished right after enrollment');
    return { created: true, body: this.enrollBody(created) };
  }

  async heartbeat(device: DeviceContext, body: HeartbeatBody): Promise<{ policy: WorkPolicy; nextHeartbeatS: number }> {
    const telemetry = { idle: body.idle, uptimeS: body.uptimeS, ...(body.metrics ?? {}) };
    await this.heartbeats.add({ deviceId: device.id, firmware: body.firmware, telemetry, at: new Date() });
    // This gateway's claims see the new idle flag and power draw at once (others within the TTL).
    const live = liveOf(telemetry);
    this.cache.update(device.publicKey, (ctx) => (ctx ? { ...ctx, live } : ctx));
    return { policy: this.policyOf(device), nextHeartbeatS: HEARTBEAT_INTERVAL_S };
  }

  /**
   * The idempotent answer. This request's guard may have cached "not enrolled" for the key while a
   * concurrent enroll committed: drop that, so the device's next request is not refused.
   */
  private alreadyEnrolled(d: DeviceContext): { created: boolean; body: EnrollResponse } {
    this.forget(d.publicKey);
    return { created: false, body: this.enrollBody(d) };
  }

  private enrollBody(d: DeviceContext): EnrollResponse {
    if (d.status === 'revoked') throw FleetErrors.revoked();
    return {
      deviceId: d.id,
      status: 'active',
      manufacturerId: d.manufacturerId,
      model: d.model.name,
      claimCode: d.claimCode,
      policy: this.policyOf(d),
    };
  }
}

function newClaimCode(): string {
  let s = '';
  for (let i = 0; i < 12; i++) s += CLAIM_ALPHABET[randomInt(CLAIM_ALPHABET.length)];
  return s;
}
