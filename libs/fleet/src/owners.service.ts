import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { PrismaService, newId, newSecret } from '@idlemint/core';
import { DevicesService } from './devices.service.js';
import { FleetErrors } from './fleet.errors.js';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Appliance owners: claim a device with the code it shows, set where payouts go. */
@Injectable()
export class OwnersService {
  constructor(
    private readonly db: PrismaService,
    private readonly devices: DevicesService,
  ) {}

  async authenticate(token: string | undefined) {
    if (!token || token.length > 200) throw FleetErrors.ownerUnauthorized();
    const owner = await this.db.owner.findUnique({ where: { tokenHash: sha256(token) } });
    if (!owner) throw FleetErrors.ownerUnauthorized();
    return owner;
  }

  /**
   * Claims the device showing `claimCode`. Without a token a new owner is made and its token is
   * returned once; with one the device joins that owner. Claiming one's own device again is a no-op.
   */
  async claim(claimCode: string, existingOwner: { id: string } | null) {
    const device = await this.db.device.findUnique({ where: { claimCode } });
    if (!device || device.status === 'revoked') throw FleetErrors.claimCodeUnknown();
    if (device.ownerId && device.ownerId !== existingOwner?.id) throw FleetErrors.alreadyClaimed();

    const newToken = existingOwner ? undefined : newSecret('imo');
    const ownerId = await this.db.$transaction(async (tx) => {
      const id = existingOwner?.id ?? (await tx.owner.create({ data: { id: newId(), tokenHash: sha256(newToken!) } })).id;
      // Conditional update: two owners racing for one code cannot both win.
      const { count } = await tx.device.updateMany({
        where: { id: device.id, OR: [{ ownerId: null }, { ownerId: id }] },
        data: { ownerId: id },
      });
      if (count !== 1) throw FleetErrors.alreadyClaimed();
      return id;
    });
    this.devices.forget(device.publicKey);
    return { ownerId, deviceId: device.id, ...(newToken ? { ownerToken: newToken } : {}) };
  }

  async setPayoutAddress(ownerId: string, address: string) {
    return this.db.owner.update({ where: { id: ownerId }, data: { payoutAddress: address } });
  }

  devicesOf(ownerId: string) {
    return this.db.device.findMany({ where: { ownerId }, select: { id: true, serial: true, status: true } });
  }
}
