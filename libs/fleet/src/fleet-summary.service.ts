import { Injectable } from '@nestjs/common';
import { ONLINE_WITHIN_MS } from './devices.service.js';
import { FleetInsightsRepository, type TelemetryHour, type WorkStats } from './fleet-insights.repository.js';
import type { ManufacturerPrincipal } from './tenants.service.js';

const HOUR_MS = 3_600_000;

/** The first instant of each of the last `n` UTC hours, oldest first (the current hour last). */
export function lastHours(now: Date, n = 24): Date[] {
  const current = Math.floor(now.getTime() / HOUR_MS) * HOUR_MS;
  return Array.from({ length: n }, (_, i) => new Date(current - (n - 1 - i) * HOUR_MS));
}

const round = (v: number | null) => (v === null ? null : Math.round(v * 100) / 100);
function telemetryView(t: TelemetryHour | undefined) {
  return {
    heartbeats: t?.heartbeats ?? 0,
    idle: t?.idle ?? 0,
    temp: { avg: round(t?.tempAvg ?? null), min: t?.tempMin ?? null, max: t?.tempMax ?? null },
    power: { avg: round(t?.powerAvg ?? null), min: t?.powerMin ?? null, max: t?.powerMax ?? null },
    load: { avg: round(t?.loadAvg ?? null), min: t?.loadMin ?? null, max: t?.loadMax ?? null },
  };
}

/** Fleet summary and per-device statistics for the manufacturer API. */
@Injectable()
export class FleetSummaryService {
  constructor(private readonly insights: FleetInsightsRepository) {}

  workStats(deviceId: string): Promise<WorkStats> {
    return this.insights.workStats(deviceId);
  }

  /** The device's telemetry per hour over the last 24 h (hours without heartbeats left out). */
  async deviceTelemetry(deviceId: string, now = new Date()) {
    const rows = await this.insights.deviceTelemetry(deviceId, lastHours(now)[0]!);
    return rows.map((r) => ({ hour: r.hour.toISOString(), ...telemetryView(r) }));
  }

  /**
   * Devices by status, model and firmware with the online count; then, for each of the last 24
   * hours: units verified, reward credits (manufacturer share and owners' device shares) and
   * telemetry from the rollups.
   */
  async summary(p: ManufacturerPrincipal, now = new Date()) {
    const hours = lastHours(now);
    const since = hours[0]!;
    const m = p.manufacturerId;
    const [counts, verified, earnings, telemetry] = await Promise.all([
      this.insights.fleetCounts(m, new Date(now.getTime() - ONLINE_WITHIN_MS)),
      this.insights.verifiedPerHour(m, since),
      this.insights.earningsPerHour(m, since),
      this.insights.fleetTelemetry(m, since),
    ]);
    const byStatus: Record<string, number> = { active: 0, suspended: 0, quarantined: 0, revoked: 0 };
    const byModel = new Map<string, { modelId: string; model: string; devices: number; online: number }>();
    const byFirmware = new Map<string | null, { firmware: string | null; devices: number; online: number }>();
    let total = 0;
    let online = 0;
    for (const c of counts) {
      total += c.devices;
      online += c.online;
      byStatus[c.status] = (byStatus[c.status] ?? 0) + c.devices;
      const mm = byModel.get(c.modelId) ?? { modelId: c.modelId, model: c.model, devices: 0, online: 0 };
      mm.devices += c.devices;
      mm.online += c.online;
      byModel.set(c.modelId, mm);
      const f = byFirmware.get(c.firmware) ?? { firmware: c.firmware, devices: 0, online: 0 };
      f.devices += c.devices;
      f.online += c.online;
      byFirmware.set(c.firmware, f);
    }
    const at = <T extends { hour: Date }>(rows: T[]) => new Map(rows.map((r) => [r.hour.getTime(), r]));
    const v = at(verified);
    const e = at(earnings);
    const t = at(telemetry);
    return {
      generatedAt: now.toISOString(),
      devices: {
        total,
        online,
        byStatus,
        byModel: [...byModel.values()].sort((a, b) => b.devices - a.devices),
        byFirmware: [...byFirmware.values()].sort((a, b) => b.devices - a.devices),
      },
      hourly: hours.map((h) => ({
        hour: h.toISOString(),
        verifiedUnits: v.get(h.getTime())?.units ?? 0,
        verifiedResults: v.get(h.getTime())?.results ?? 0,
        earnings: { manufacturer: e.get(h.getTime())?.manufacturer ?? '0', devices: e.get(h.getTime())?.devices ?? '0' },
        telemetry: telemetryView(t.get(h.getTime())),
      })),
    };
  }
}
