import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '@idlemint/core';
import { DeviceRegistryService, FleetSummaryService, type ManufacturerPrincipal } from '@idlemint/fleet';
import { LedgerService } from '@idlemint/ledger';

/**
 * One device as its manufacturer sees it: the registry row with its live status and policy
 * layers, what it did (assignments), what it earned (its ledger account) and its telemetry per
 * hour over the last day. Composes the fleet and ledger libs, which do not know each other.
 */
@Injectable()
export class DeviceDetailService {
  constructor(
    private readonly registry: DeviceRegistryService,
    private readonly summaries: FleetSummaryService,
    private readonly ledger: LedgerService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async get(p: ManufacturerPrincipal, id: string) {
    const { device, group, effectivePolicy, policyLayers } = await this.registry.get(p, id);
    const [work, earnings, telemetryHistory] = await Promise.all([
      this.summaries.workStats(id),
      this.ledger.deviceEarnings(id),
      this.summaries.deviceTelemetry(id),
    ]);
    return {
      ...device,
      group,
      live: { online: device.online, lastSeenAt: device.lastSeenAt, firmware: device.firmware, telemetry: device.telemetry },
      work,
      earnings: {
        currency: this.config.CURRENCY,
        credited: earnings.credited.toString(),
        pending: earnings.pending.toString(),
        paid: earnings.paid.toString(),
        balance: (earnings.credited - earnings.paid).toString(),
        last24h: earnings.last24h.toString(),
      },
      effectivePolicy,
      policyLayers,
      telemetryHistory,
    };
  }
}
