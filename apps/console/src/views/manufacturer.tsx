import { useMemo, useRef, useState, type FormEvent } from 'react';
import { call, errorText, qs, type Session } from '../api';
import { TimeChart, type Series } from '../chart';
import { ago, count, money, pct, when } from '../format';
import { Async, Badge, Confirm, Stat, Table, useApi } from '../ui';
import { Nav } from './nav';
import { EMPTY_DRAFT, PolicyFields, overrideOf, policyText, type PolicyDraft } from './policy';
import { Alerts, Groups } from './rules';

interface Summary {
  generatedAt: string;
  devices: {
    total: number;
    online: number;
    byStatus: Record<string, number>;
    byModel: { modelId: string; model: string; devices: number; online: number }[];
    byFirmware: { firmware: string | null; devices: number; online: number }[];
  };
  hourly: { hour: string; verifiedUnits: number }[];
}
interface SeriesAnswer {
  metric: string;
  unit: 'count' | 'minor';
  currency?: string;
  through: string | null;
  points: { t: string; value: number | string }[];
}
interface Device {
  id: string;
  serial: string;
  model: string;
  status: string;
  firmware: string | null;
  lastSeenAt: string | null;
  reputation: number;
  online: boolean;
  claimed: boolean;
  tags: string[];
  group: { id: string; name: string } | null;
  /** The device's own work policy override (null: it inherits its group's and model's). */
  policy: unknown;
}

const SECTIONS: [string, string][] = [
  ['overview', 'Overview'],
  ['devices', 'Devices'],
  ['groups', 'Groups'],
  ['alerts', 'Alerts'],
  ['keys', 'API keys'],
  ['audit', 'Audit log'],
];

export function ManufacturerApp({ s, route }: { s: Session; route: string[] }) {
  const [section = 'overview', id] = route;
  return (
    <>
      <Nav items={SECTIONS} current={section} />
      <main>
        {section === 'overview' && <Overview s={s} />}
        {section === 'devices' && !id && <Devices s={s} />}
        {section === 'devices' && id && <DeviceDetail s={s} id={id} />}
        {section === 'groups' && <Groups s={s} />}
        {section === 'alerts' && <Alerts s={s} />}
        {section === 'keys' && <ApiKeys s={s} />}
        {section === 'audit' && <Audit s={s} />}
        {!SECTIONS.some(([k]) => k === section) && <p className="state empty">No such page.</p>}
      </main>
    </>
  );
}

// ---------------------------------------------------------------------------------------------

const COLORS = { heartbeats: '#2f6fdf', units: '#1f9d6b', manufacturer: '#b06a00', owners: '#7a4cc2', online: '#2f6fdf' };

function Overview({ s }: { s: Session }) {
  const summary = useApi(() => call<Summary>(s, 'GET', '/manufacturer/v1/fleet/summary'), [s], 5_000);
  const [bucket, setBucket] = useState<'hour' | 'day'>('hour');
  const series = useApi(
    async () => {
      const get = (metric: string) => call<SeriesAnswer>(s, 'GET', `/manufacturer/v1/fleet/series${qs({ metric, bucket })}`);
      const [heartbeats, units, manufacturer, owners] = await Promise.all([
        get('heartbeats'),
        get('units_verified'),
        get('rewards_manufacturer'),
        get('rewards_owners'),
      ]);
      return { heartbeats, units, manufacturer, owners };
    },
    [s, bucket],
    15_000,
  );
  // The live view: samples of the summary while this page is open.
  const samples = useRef<{ t: number; online: number; verified24h: number }[]>([]);
  const live = useMemo(() => {
    const d = summary.data;
    if (d) {
      const last = samples.current[samples.current.length - 1];
      const t = Math.floor(new Date(d.generatedAt).getTime() / 1000);
      if (!last || last.t !== t) {
        samples.current = [
          ...samples.current,
          { t, online: d.devices.online, verified24h: d.hourly.reduce((a, h) => a + h.verifiedUnits, 0) },
        ].slice(-120);
      }
    }
    return samples.current;
  }, [summary.data]);

  return (
    <>
      <h1>Fleet overview</h1>
      <Async r={summary}>
        {(d) => (
          <>
            <section className="stats" aria-label="Devices">
              <Stat label="Devices" value={count(d.devices.total)} testId="stat-total" />
              <Stat label="Online now" value={count(d.devices.online)} testId="stat-online" tone="good" />
              <Stat label="Active" value={count(d.devices.byStatus.active)} testId="stat-active" />
              <Stat label="Suspended" value={count(d.devices.byStatus.suspended)} testId="stat-suspended" tone="warn" />
              <Stat label="Quarantined" value={count(d.devices.byStatus.quarantined)} testId="stat-quarantined" tone="bad" />
              <Stat label="Revoked" value={count(d.devices.byStatus.revoked)} testId="stat-revoked" />
              <Stat
                label="Units verified, 24 h"
                value={count(d.hourly.reduce((a, h) => a + h.verifiedUnits, 0))}
                testId="stat-verified-24h"
              />
            </section>
            <div className="grid2">
              <Table
                caption="By model"
                rows={d.devices.byModel}
                rowKey={(m) => m.modelId}
                columns={[
                  { key: 'm', label: 'Model', render: (m) => m.model },
                  { key: 'd', label: 'Devices', render: (m) => count(m.devices), className: 'num' },
                  { key: 'o', label: 'Online', render: (m) => count(m.online), className: 'num' },
                ]}
              />
              <Table
                caption="By firmware"
                rows={d.devices.byFirmware}
                rowKey={(f) => f.firmware ?? '(none)'}
                columns={[
                  { key: 'f', label: 'Firmware', render: (f) => f.firmware ?? '(not reported)' },
                  { key: 'd', label: 'Devices', render: (f) => count(f.devices), className: 'num' },
                  { key: 'o', label: 'Online', render: (f) => count(f.online), className: 'num' },
                ]}
              />
            </div>
          </>
        )}
      </Async>
      <section aria-labelledby="trends">
        <div className="row">
          <h2 id="trends">Trends</h2>
          <div role="group" aria-label="Range" className="seg">
            <button type="button" aria-pressed={bucket === 'hour'} onClick={() => setBucket('hour')}>
              24 h, hourly
            </button>
            <button type="button" aria-pressed={bucket === 'day'} onClick={() => setBucket('day')}>
              30 days, daily
            </button>
          </div>
        </div>
        <Async r={series}>{(d) => <Trends d={d} />}</Async>
      </section>
      {live.length > 1 && (
        <TimeChart
          title="Live: devices online (sampled every 5 s while this page is open)"
          times={live.map((x) => x.t)}
          series={[{ label: 'online', values: live.map((x) => x.online), color: COLORS.online }]}
          height={140}
          testId="chart-live"
        />
      )}
    </>
  );
}

function Trends({ d }: { d: { heartbeats: SeriesAnswer; units: SeriesAnswer; manufacturer: SeriesAnswer; owners: SeriesAnswer } }) {
  const times = useMemo(() => d.units.points.map((p) => new Date(p.t).getTime() / 1000), [d]);
  const num = (a: SeriesAnswer) => a.points.map((p) => Number(p.value));
  const currency = d.owners.currency ?? '';
  const hb = useMemo<Series[]>(() => [{ label: 'heartbeats', values: num(d.heartbeats), color: COLORS.heartbeats }], [d]);
  const units = useMemo<Series[]>(() => [{ label: 'units verified', values: num(d.units), color: COLORS.units }], [d]);
  const rewards = useMemo<Series[]>(
    () => [
      { label: 'manufacturer share', values: num(d.manufacturer), color: COLORS.manufacturer },
      { label: 'owners’ share', values: num(d.owners), color: COLORS.owners },
    ],
    [d],
  );
  // Axis ticks without the unit (the title has it); at least 1.00 high so zero days read as 0.00.
  const moneyAxis = useMemo(() => (v: number) => money(Math.round(v), currency).replace(` ${currency}`, ''), [currency]);
  const totalM = d.manufacturer.points.reduce((a, p) => a + BigInt(p.value), 0n);
  const totalO = d.owners.points.reduce((a, p) => a + BigInt(p.value), 0n);
  return (
    <>
      <p className="muted">
        From the hourly rollup, up to {when(d.units.through)}. Rewards in range: manufacturer{' '}
        <strong data-testid="rewards-manufacturer">{money(totalM, currency)}</strong>, owners{' '}
        <strong data-testid="rewards-owners">{money(totalO, currency)}</strong>.
      </p>
      <div className="grid3">
        <TimeChart title="Heartbeats" times={times} series={hb} bars testId="chart-heartbeats" />
        <TimeChart title="Units verified" times={times} series={units} bars testId="chart-units" />
        <TimeChart title={`Rewards (${currency})`} times={times} series={rewards} format={moneyAxis} minTop={100} testId="chart-rewards" />
      </div>
    </>
  );
}

// ---------------------------------------------------------------------------------------------

type BulkKind = 'suspend' | 'resume' | 'tag' | 'set-group' | 'set-policy';
const BULK_LABEL: Record<BulkKind, string> = {
  suspend: 'suspend',
  resume: 'resume',
  tag: 'tag',
  'set-group': 'set the group of',
  'set-policy': 'apply a policy to',
};
interface BulkResult {
  action: string;
  matched: number;
  changed: number;
  skipped: number;
}

function Devices({ s }: { s: Session }) {
  const [status, setStatus] = useState('');
  const [model, setModel] = useState('');
  const [tag, setTag] = useState('');
  const [online, setOnline] = useState('');
  const [sort, setSort] = useState('enrolledAt');
  const [order, setOrder] = useState<'asc' | 'desc'>('desc');
  const [cursors, setCursors] = useState<string[]>([]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [pending, setPending] = useState<{ action: BulkKind; value?: string } | null>(null);
  const [result, setResult] = useState<string | null>(null);
  const [bulkError, setBulkError] = useState<string | null>(null);
  const [tagInput, setTagInput] = useState('');
  const [groupInput, setGroupInput] = useState('');
  const [policyDraft, setPolicyDraft] = useState<PolicyDraft>(EMPTY_DRAFT);
  const [busy, setBusy] = useState(false);
  const cursor = cursors[cursors.length - 1];
  const list = useApi(
    () =>
      call<{ devices: Device[]; nextCursor: string | null }>(
        s,
        'GET',
        `/manufacturer/v1/devices${qs({ status, model, tag, online, sort, order, limit: 25, cursor })}`,
      ),
    [s, status, model, tag, online, sort, order, cursor],
  );
  const groups = useApi(() => call<{ groups: { id: string; name: string }[] }>(s, 'GET', '/manufacturer/v1/groups'), [s]);
  const resetPaging = () => {
    setCursors([]);
    setSelected(new Set());
  };
  const toggle = (id: string) =>
    setSelected((cur) => {
      const n = new Set(cur);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  const pageIds = list.data?.devices.map((d) => d.id) ?? [];
  const allOnPage = pageIds.length > 0 && pageIds.every((id) => selected.has(id));
  const run = async () => {
    if (!pending) return;
    const ids = [...selected];
    const body =
      pending.action === 'tag'
        ? { action: 'tag', tags: [pending.value], ids }
        : pending.action === 'set-group'
          ? { action: 'set-group', groupId: pending.value || null, ids }
          : pending.action === 'set-policy'
            ? { action: 'set-policy', policy: overrideOf(policyDraft), ids }
            : { action: pending.action, ids };
    setBulkError(null);
    setBusy(true);
    try {
      const r = await call<BulkResult>(s, 'POST', '/manufacturer/v1/devices/bulk', body, {
        'idempotency-key': `console-${crypto.randomUUID()}`,
      });
      // The dialog stays open on a refusal (the error shows in it, the input kept to correct).
      setPending(null);
      setResult(`${r.action}: ${r.matched} selected, ${r.changed} changed, ${r.skipped} skipped (already so or not applicable).`);
      setSelected(new Set());
      list.reload();
    } catch (e) {
      setBulkError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const cancel = () => {
    setPending(null);
    setBulkError(null);
  };
  const filterChange = (f: (v: string) => void) => (e: { target: { value: string } }) => {
    f(e.target.value);
    resetPaging();
  };

  return (
    <>
      <h1>Devices</h1>
      <form className="filters" aria-label="Filter devices" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select value={status} onChange={filterChange(setStatus)} name="status">
            <option value="">any</option>
            {['active', 'suspended', 'quarantined', 'revoked'].map((v) => (
              <option key={v}>{v}</option>
            ))}
          </select>
        </label>
        <label>
          Model
          <input value={model} onChange={filterChange(setModel)} name="model" placeholder="model name" />
        </label>
        <label>
          Tag
          <input value={tag} onChange={filterChange(setTag)} name="tag" placeholder="tag" />
        </label>
        <label>
          Online
          <select value={online} onChange={filterChange(setOnline)} name="online">
            <option value="">any</option>
            <option value="true">online</option>
            <option value="false">offline</option>
          </select>
        </label>
        <label>
          Sort
          <select value={sort} onChange={filterChange(setSort)} name="sort">
            <option value="enrolledAt">enrolled</option>
            <option value="lastSeenAt">last seen</option>
            <option value="serial">serial</option>
          </select>
        </label>
        <label>
          Order
          <select value={order} onChange={(e) => (setOrder(e.target.value as 'asc' | 'desc'), resetPaging())} name="order">
            <option value="desc">descending</option>
            <option value="asc">ascending</option>
          </select>
        </label>
      </form>

      <div className="bulkbar" role="group" aria-label="Bulk actions">
        <span data-testid="selected-count">{selected.size} selected</span>
        <button type="button" disabled={selected.size === 0} onClick={() => setPending({ action: 'suspend' })}>
          Suspend
        </button>
        <button type="button" disabled={selected.size === 0} onClick={() => setPending({ action: 'resume' })}>
          Resume
        </button>
        <span className="inline">
          <input aria-label="Tag to add" placeholder="tag" value={tagInput} onChange={(e) => setTagInput(e.target.value)} />
          <button
            type="button"
            disabled={selected.size === 0 || !tagInput.trim()}
            onClick={() => setPending({ action: 'tag', value: tagInput.trim() })}
          >
            Tag
          </button>
        </span>
        <span className="inline">
          <select aria-label="Group" value={groupInput} onChange={(e) => setGroupInput(e.target.value)}>
            <option value="">(no group)</option>
            {groups.data?.groups.map((g) => (
              <option key={g.id} value={g.id}>
                {g.name}
              </option>
            ))}
          </select>
          <button type="button" disabled={selected.size === 0} onClick={() => setPending({ action: 'set-group', value: groupInput })}>
            Set group
          </button>
        </span>
        <button type="button" disabled={selected.size === 0} onClick={() => setPending({ action: 'set-policy' })}>
          Apply policy…
        </button>
      </div>
      {result && (
        <p className="notice" role="status" data-testid="bulk-result">
          {result}
        </p>
      )}
      <Confirm
        open={pending !== null}
        title={`${pending ? BULK_LABEL[pending.action] : ''} ${selected.size} device${selected.size === 1 ? '' : 's'}?`}
        confirmLabel={pending?.action === 'set-policy' ? 'Yes, apply policy' : `Yes, ${pending?.action ?? ''}`}
        danger={pending?.action === 'suspend'}
        busy={busy}
        onConfirm={() => void run()}
        onCancel={cancel}
      >
        <p>
          {pending?.action === 'suspend' && 'Suspended devices get no work until resumed.'}
          {pending?.action === 'resume' && 'Suspended devices become active again; others are skipped.'}
          {pending?.action === 'tag' && `Adds the tag “${pending.value ?? ''}”.`}
          {pending?.action === 'set-group' && 'Moves the devices to the chosen group (its policy applies).'}
          {pending?.action === 'set-policy' &&
            'Sets each device’s own policy override to this (replacing the one it has); fields left to inherit come from its group, then its model.'}
        </p>
        {pending?.action === 'set-policy' && (
          <PolicyFields legend="Policy for these devices" value={policyDraft} onChange={setPolicyDraft} />
        )}
        {bulkError && (
          <p className="state error" role="alert" data-testid="bulk-error">
            {bulkError}
          </p>
        )}
      </Confirm>

      <Async r={list} empty="No device matches these filters." isEmpty={(d) => d.devices.length === 0}>
        {(d) => (
          <>
            <Table
              caption="Devices"
              testId="device-table"
              rows={d.devices}
              rowKey={(r) => r.id}
              columns={[
                {
                  key: 'sel',
                  label: '',
                  render: (r) => (
                    <input type="checkbox" aria-label={`Select ${r.serial}`} checked={selected.has(r.id)} onChange={() => toggle(r.id)} />
                  ),
                },
                {
                  key: 'serial',
                  label: 'Serial',
                  render: (r) => (
                    <a href={`#/devices/${r.id}`} data-testid="device-link">
                      {r.serial}
                    </a>
                  ),
                },
                { key: 'status', label: 'Status', render: (r) => <Badge value={r.status} /> },
                { key: 'online', label: 'Online', render: (r) => (r.online ? 'yes' : 'no') },
                { key: 'model', label: 'Model', render: (r) => r.model },
                { key: 'fw', label: 'Firmware', render: (r) => r.firmware ?? '—' },
                { key: 'rep', label: 'Reputation', render: (r) => pct(r.reputation), className: 'num' },
                { key: 'seen', label: 'Last seen', render: (r) => ago(r.lastSeenAt) },
                { key: 'tags', label: 'Tags', render: (r) => r.tags.join(', ') || '—' },
                { key: 'group', label: 'Group', render: (r) => r.group?.name ?? '—' },
                { key: 'policy', label: 'Own policy', render: (r) => (r.policy ? policyText(r.policy) : '—') },
              ]}
            />
            <div className="row pager">
              <label className="inline">
                <input
                  type="checkbox"
                  checked={allOnPage}
                  onChange={() =>
                    setSelected((cur) => {
                      const n = new Set(cur);
                      for (const id of pageIds) {
                        if (allOnPage) n.delete(id);
                        else n.add(id);
                      }
                      return n;
                    })
                  }
                />{' '}
                Select all on this page
              </label>
              <span>
                <button type="button" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>
                  ← Previous
                </button>
                <button type="button" disabled={!d.nextCursor} onClick={() => d.nextCursor && setCursors((c) => [...c, d.nextCursor!])}>
                  Next →
                </button>
              </span>
            </div>
          </>
        )}
      </Async>
    </>
  );
}

// ---------------------------------------------------------------------------------------------

interface Detail extends Device {
  strikes: number;
  validResults: number;
  consecutiveValid: number;
  quarantineCount: number;
  quarantinedAt: string | null;
  dailyQuota: number;
  enrolledAt: string;
  timezone: string;
  live: { telemetry: Record<string, unknown> | null };
  work: { claimed: number; done: number; verified: number; rejected: number; canaryStrikes: number; pending: number; expired: number };
  earnings: { currency: string; credited: string; pending: string; paid: string; balance: string; last24h: string };
  effectivePolicy: { idleOnly: boolean; hours: { from: number; to: number }; powerBudgetW: number | null; maxItems: number };
  telemetryHistory: {
    hour: string;
    heartbeats: number;
    temp: { avg: number | null };
    power: { avg: number | null };
    load: { avg: number | null };
  }[];
}

/** The first second of each of the last 24 UTC hours (the current one last), as the API buckets them. */
function last24Hours(now = Date.now()): number[] {
  const current = Math.floor(now / 3_600_000) * 3_600;
  return Array.from({ length: 24 }, (_, i) => current - (23 - i) * 3_600);
}

function DeviceDetail({ s, id }: { s: Session; id: string }) {
  const r = useApi(() => call<Detail>(s, 'GET', `/manufacturer/v1/devices/${encodeURIComponent(id)}`), [s, id], 10_000);
  const [busy, setBusy] = useState<string | null>(null);
  const act = async (action: 'suspend' | 'resume') => {
    setBusy(action);
    try {
      await call(
        s,
        'POST',
        '/manufacturer/v1/devices/bulk',
        { action, ids: [id] },
        { 'idempotency-key': `console-${crypto.randomUUID()}` },
      );
      r.reload();
    } finally {
      setBusy(null);
    }
  };
  return (
    <>
      <p>
        <a href="#/devices">← Devices</a>
      </p>
      <Async r={r}>
        {(d) => {
          const hours = last24Hours();
          const byHour = new Map(d.telemetryHistory.map((h) => [new Date(h.hour).getTime() / 1000, h]));
          const times = hours;
          const at = <T,>(f: (h: Detail['telemetryHistory'][number]) => T, none: T) =>
            hours.map((t) => {
              const h = byHour.get(t);
              return h ? f(h) : none;
            });
          const seen = d.telemetryHistory.length > 0;
          return (
            <>
              <h1>
                {d.serial} <Badge value={d.status} />
              </h1>
              <p className="muted">
                {d.model} · firmware {d.firmware ?? '—'} · {d.online ? 'online' : 'offline'}, last seen {ago(d.lastSeenAt)} · enrolled{' '}
                {when(d.enrolledAt)}
              </p>
              <div className="row">
                <button type="button" disabled={busy !== null || d.status !== 'active'} onClick={() => void act('suspend')}>
                  Suspend
                </button>
                <button type="button" disabled={busy !== null || d.status !== 'suspended'} onClick={() => void act('resume')}>
                  Resume
                </button>
              </div>
              <section className="stats" aria-label="Reputation">
                <Stat label="Reputation" value={pct(d.reputation)} testId="device-reputation" />
                <Stat label="Valid results" value={count(d.validResults)} />
                <Stat label="Valid in a row" value={count(d.consecutiveValid)} />
                <Stat label="Strikes" value={count(d.strikes)} tone={d.strikes > 0 ? 'bad' : undefined} />
                <Stat label="Quarantines" value={count(d.quarantineCount)} />
                <Stat label="Daily quota" value={count(d.dailyQuota)} />
              </section>
              <p className="muted">
                Reputation grows with valid results (and streaks of them) and falls with strikes: a wrong canary answer or a disagreement
                with the quorum.
              </p>
              <div className="grid2">
                <Table
                  caption="Work"
                  rows={Object.entries(d.work)}
                  rowKey={([k]) => k}
                  columns={[
                    { key: 'k', label: 'What', render: ([k]) => k },
                    { key: 'v', label: 'Count', render: ([, v]) => count(v), className: 'num' },
                  ]}
                />
                <Table
                  caption="Earnings (owner’s share)"
                  rows={(['credited', 'pending', 'paid', 'balance', 'last24h'] as const).map((k) => [k, d.earnings[k]] as const)}
                  rowKey={([k]) => k}
                  columns={[
                    { key: 'k', label: 'What', render: ([k]) => (k === 'last24h' ? 'last 24 h' : k) },
                    { key: 'v', label: 'Amount', render: ([, v]) => money(v, d.earnings.currency), className: 'num' },
                  ]}
                />
              </div>
              <h2>Telemetry, last 24 h</h2>
              {!seen ? (
                <p className="state empty">No heartbeat in the last 24 hours.</p>
              ) : (
                <div className="grid2">
                  <TimeChart
                    title="Heartbeats per hour"
                    times={times}
                    bars
                    series={[{ label: 'heartbeats', values: at((h) => h.heartbeats, 0), color: COLORS.heartbeats }]}
                    testId="chart-telemetry"
                  />
                  <TimeChart
                    title="Temperature °C, power W, load (hourly averages)"
                    times={times}
                    series={[
                      { label: 'temp', values: at((h) => h.temp.avg, null), color: '#d0453a' },
                      { label: 'power', values: at((h) => h.power.avg, null), color: '#b06a00' },
                      { label: 'load', values: at((h) => h.load.avg, null), color: '#2f6fdf' },
                    ]}
                  />
                </div>
              )}
              <h2>Work policy in force</h2>
              <p>
                {d.effectivePolicy.idleOnly ? 'Only when idle' : 'Also when busy'}, hours {d.effectivePolicy.hours.from}–
                {d.effectivePolicy.hours.to} ({d.timezone}), at most {d.effectivePolicy.maxItems} items per unit
                {d.effectivePolicy.powerBudgetW !== null ? `, power budget ${d.effectivePolicy.powerBudgetW} W` : ''}.
              </p>
            </>
          );
        }}
      </Async>
    </>
  );
}

// ---------------------------------------------------------------------------------------------

function ApiKeys({ s }: { s: Session }) {
  const r = useApi(
    () =>
      call<{ apiKeys: { id: string; name: string | null; role: string; createdAt: string; revokedAt: string | null }[] }>(
        s,
        'GET',
        '/manufacturer/v1/api-keys',
      ),
    [s],
  );
  const [role, setRole] = useState<'viewer' | 'admin'>('viewer');
  const [name, setName] = useState('');
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);
  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const k = await call<{ secret: string }>(s, 'POST', '/manufacturer/v1/api-keys', {
        role,
        ...(name.trim() ? { name: name.trim() } : {}),
      });
      setSecret(k.secret);
      setName('');
      r.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const revoke = async () => {
    const id = revoking;
    setRevoking(null);
    if (!id) return;
    try {
      await call(s, 'POST', `/manufacturer/v1/api-keys/${encodeURIComponent(id)}/revoke`);
      r.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <>
      <h1>API keys</h1>
      <form className="row" onSubmit={(e) => void create(e)} aria-label="New API key">
        <label className="inline">
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as 'viewer' | 'admin')}>
            <option value="viewer">viewer (read only)</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <label className="inline">
          Name <input value={name} onChange={(e) => setName(e.target.value)} placeholder="optional" />
        </label>
        <button type="submit">Create key</button>
      </form>
      {secret && (
        <div className="notice secret" role="status">
          <p>
            <strong>Copy this key now: it is shown only once.</strong>
          </p>
          <code data-testid="new-key-secret">{secret}</code>
          <button type="button" onClick={() => setSecret(null)}>
            I have copied it
          </button>
        </div>
      )}
      {error && (
        <p className="state error" role="alert">
          {error}
        </p>
      )}
      <Confirm
        open={revoking !== null}
        title="Revoke this key?"
        confirmLabel="Revoke"
        danger
        onConfirm={() => void revoke()}
        onCancel={() => setRevoking(null)}
      >
        <p>Scripts using it stop working at once.</p>
      </Confirm>
      <Async r={r}>
        {(d) => (
          <Table
            caption="Keys"
            rows={d.apiKeys}
            rowKey={(k) => k.id}
            columns={[
              { key: 'n', label: 'Name', render: (k) => k.name ?? '—' },
              { key: 'r', label: 'Role', render: (k) => k.role },
              { key: 'c', label: 'Created', render: (k) => when(k.createdAt) },
              { key: 's', label: 'State', render: (k) => (k.revokedAt ? `revoked ${when(k.revokedAt)}` : 'active') },
              {
                key: 'a',
                label: '',
                render: (k) =>
                  k.revokedAt ? null : (
                    <button type="button" onClick={() => setRevoking(k.id)}>
                      Revoke
                    </button>
                  ),
              },
            ]}
          />
        )}
      </Async>
    </>
  );
}

function Audit({ s }: { s: Session }) {
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const r = useApi(
    () =>
      call<{
        entries: { id: string; at: string; actor: string; action: string; targetType: string; targetIds: string[] }[];
        nextCursor?: string | null;
        next?: string | null;
      }>(s, 'GET', `/manufacturer/v1/audit${qs({ limit: 25, cursor })}`),
    [s, cursor],
  );
  return (
    <>
      <h1>Audit log</h1>
      <Async r={r} empty="Nothing changed yet." isEmpty={(d) => d.entries.length === 0}>
        {(d) => {
          const next = d.nextCursor ?? d.next ?? null;
          return (
            <>
              <Table
                caption="Changes, newest first"
                rows={d.entries}
                rowKey={(e) => e.id}
                columns={[
                  { key: 'w', label: 'When', render: (e) => when(e.at) },
                  { key: 'a', label: 'Action', render: (e) => e.action },
                  { key: 'by', label: 'By', render: (e) => e.actor },
                  { key: 't', label: 'Target', render: (e) => `${e.targetType} ×${e.targetIds.length}` },
                ]}
              />
              <div className="row pager">
                <button type="button" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>
                  ← Newer
                </button>
                <button type="button" disabled={!next} onClick={() => next && setCursors((c) => [...c, next])}>
                  Older →
                </button>
              </div>
            </>
          );
        }}
      </Async>
    </>
  );
}
