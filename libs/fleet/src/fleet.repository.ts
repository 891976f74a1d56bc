import { Injectable } from '@nestjs/common';
import { PrismaService, type Prisma } from '@idlemint/core';

/** What the gateway needs to know about a device on every request. */
export interface DeviceContext {
  id: string;
  publicKey: string;
  status: 'active' | 'suspended' | 'quarantined' | 'revoked';
  manufacturerId: string;
  ownerId: string | null;
  model: { id: string; name: string; deviceClass: string; batchSize: number };
  claimCode: string;
}

/** The only place that reads and writes the fleet tables. */
@Injectable()
export class FleetRepository {
  constructor(private readonly db: PrismaService) {}

  async deviceContextByKey(publicKey: string): Promise<DeviceContext | null> {
    const d = await this.db.device.findUnique({ where: { publicKey } });
    if (!d) return null;
    const m = await this.db.deviceModel.findUniqueOrThrow({ where: { id: d.modelId } });
    return {
      id: d.id,
      publicKey: d.publicKey,
      status: d.status,
      manufacturerId: d.manufacturerId,
      ownerId: d.ownerId,
      claimCode: d.claimCode,
      model: { id: m.id, name: m.name, deviceClass: m.deviceClass, batchSize: m.batchSize },
    };
  }

  attestationKey(publicKey: string) {
    return this.db.attestationKey.findUnique({ where: { publicKey } });
  }

  modelByName(name: string) {
    return this.db.deviceModel.findUnique({ where: { name } });
  }

  manufacturer(id: string) {
    return this.db.manufacturer.findUnique({ where: { id } });
  }

  deviceBySerial(serial: string) {
    return this.db.device.findUnique({ where: { serial } });
  }

  createDevice(data: Prisma.DeviceUncheckedCreateInput) {
    return this.db.device.create({ data });
  }

  recordHeartbeat(deviceId: string, firmware: string, telemetry: Prisma.InputJsonValue): Promise<unknown> {
    return this.db.device.update({ where: { id: deviceId }, data: { lastSeenAt: new Date(), firmware, telemetry } });
  }
}
