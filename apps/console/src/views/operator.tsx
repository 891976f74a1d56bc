import { useState } from 'react';
import { call, qs, type Session } from '../api';
import { count, money as moneyIn, when } from '../format';
import { useSettings } from '../settings';
import { Async, Badge, Confirm, Stat, Table, useApi } from '../ui';
import { Nav } from './nav';

const SECTIONS: [string, string][] = [
  ['payouts', 'Payouts'],
  ['reconciliation', 'Reconciliation'],
  ['nodes', 'Nodes'],
  ['queues', 'Queues'],
  ['manufacturers', 'Manufacturers'],
  ['platform-keys', 'Platform keys'],
];

interface Reconciliation {
  ok: boolean;
  problems: string[];
  ledger: { rewardsIssued: string; inFlight: string; settled: string; sumOfAllAccounts: string };
  units: { verified: number; disputed: number; open: number };
  relay: { delivered: number; expected: number; dead: number };
  payouts: { confirmed: number; confirmedTotal: string; open: number; openTotal: string };
  nodes: { name: string; delivered: number; logLength: number; chainValid: boolean; wrongVerdicts: number; payoutsTotal: string }[];
}
interface Payout {
  id: string;
  ownerId: string;
  address: string;
  amount: string;
  status: string;
  error: string | null;
  createdAt: string;
  resolution: string | null;
}

/** Amounts in the platform's currency (the operator answers carry minor units only). */
function useMoney() {
  const { currency } = useSettings();
  return (v: string) => moneyIn(v, currency);
}

export function OperatorApp({ s, route }: { s: Session; route: string[] }) {
  const [section = 'payouts'] = route;
  return (
    <>
      <Nav items={SECTIONS} current={section} />
      <main>
        {section === 'payouts' && <Payouts s={s} />}
        {section === 'reconciliation' && <Recon s={s} />}
        {section === 'nodes' && <Nodes s={s} />}
        {section === 'queues' && <Queues s={s} />}
        {section === 'manufacturers' && <Manufacturers s={s} />}
        {section === 'platform-keys' && <PlatformKeys s={s} />}
        {!SECTIONS.some(([k]) => k === section) && <p className="state empty">No such page.</p>}
      </main>
    </>
  );
}

function Payouts({ s }: { s: Session }) {
  const money = useMoney();
  const [status, setStatus] = useState<'unclear' | 'pending' | 'confirmed' | 'failed'>('confirmed');
  const halted = useApi(() => call<{ payouts: Payout[] }>(s, 'GET', `/operator/v1/payouts${qs({ status: 'unclear' })}`), [s], 5_000);
  const other = useApi(() => call<{ payouts: Payout[] }>(s, 'GET', `/operator/v1/payouts${qs({ status })}`), [s, status]);
  const [resolving, setResolving] = useState<{ p: Payout; outcome: 'paid' | 'not-paid' } | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const resolve = async () => {
    const r = resolving;
    setResolving(null);
    if (!r) return;
    try {
      await call(s, 'POST', `/operator/v1/payouts/${encodeURIComponent(r.p.id)}/resolve`, { outcome: r.outcome });
      setMessage({ ok: true, text: `Payout ${r.p.id} resolved as ${r.outcome}.` });
    } catch (e) {
      setMessage({ ok: false, text: `Payout ${r.p.id} not resolved: ${(e as Error).message}` });
    }
    halted.reload();
    other.reload();
  };
  const cols = (withActions: boolean) => [
    { key: 'c', label: 'Created', render: (p: Payout) => when(p.createdAt) },
    { key: 'a', label: 'Amount', render: (p: Payout) => money(p.amount), className: 'num' },
    { key: 's', label: 'Status', render: (p: Payout) => <Badge value={p.status} /> },
    ...(withActions
      ? [
          {
            key: 'x',
            label: 'Resolve',
            render: (p: Payout) => (
              <span className="inline">
                <button type="button" onClick={() => setResolving({ p, outcome: 'paid' })}>
                  Paid
                </button>
                <button type="button" onClick={() => setResolving({ p, outcome: 'not-paid' })}>
                  Not paid
                </button>
              </span>
            ),
          },
        ]
      : []),
    { key: 'o', label: 'Owner', render: (p: Payout) => <code>{p.ownerId}</code> },
    { key: 'e', label: 'Why', render: (p: Payout) => p.error ?? p.resolution ?? '—', className: 'wrap' },
  ];
  return (
    <>
      <h1>Payouts</h1>
      <h2>Halted: need a decision</h2>
      <p className="muted">
        The node gave no clear answer: the money stays in flight and the owner’s payouts are halted until you say whether it was paid (the
        node is asked first).
      </p>
      {message && (
        <p className={message.ok ? 'notice' : 'state error'} role="status" data-testid="resolve-result">
          {message.text}
        </p>
      )}
      <Confirm
        open={resolving !== null}
        title={resolving?.outcome === 'paid' ? 'Mark this payout paid?' : 'Mark this payout not paid?'}
        confirmLabel={resolving?.outcome === 'paid' ? 'Yes, it was paid' : 'Yes, not paid'}
        danger
        onConfirm={() => void resolve()}
        onCancel={() => setResolving(null)}
      >
        <p>
          {resolving && money(resolving.p.amount)} to {resolving?.p.address}.{' '}
          {resolving?.outcome === 'paid' ? 'It is settled in the ledger.' : 'The amount goes back to the owner’s devices.'}
        </p>
      </Confirm>
      <Async r={halted} empty="No halted payout." isEmpty={(d) => d.payouts.length === 0}>
        {(d) => <Table caption="Unclear payouts" testId="halted-payouts" rows={d.payouts} rowKey={(p) => p.id} columns={cols(true)} />}
      </Async>
      <div className="row">
        <h2>Others</h2>
        <label className="inline">
          Status
          <select value={status} onChange={(e) => setStatus(e.target.value as typeof status)}>
            <option value="pending">pending</option>
            <option value="confirmed">confirmed</option>
            <option value="failed">failed</option>
            <option value="unclear">unclear</option>
          </select>
        </label>
      </div>
      <Async r={other} empty={`No ${status} payout.`} isEmpty={(d) => d.payouts.length === 0}>
        {(d) => <Table caption={`${status} payouts`} rows={d.payouts} rowKey={(p) => p.id} columns={cols(false)} />}
      </Async>
    </>
  );
}

function Recon({ s }: { s: Session }) {
  const money = useMoney();
  const r = useApi(() => call<Reconciliation>(s, 'GET', '/operator/v1/reconciliation'), [s], 10_000);
  return (
    <>
      <h1>Reconciliation</h1>
      <Async r={r}>
        {(d) => (
          <>
            <p className={d.ok ? 'notice' : 'state error'} data-testid="recon-status">
              {d.ok ? 'The ledger agrees with every node.' : `${d.problems.length} problem${d.problems.length === 1 ? '' : 's'}`}
            </p>
            {d.problems.length > 0 && (
              <ul>
                {d.problems.map((p) => (
                  <li key={p}>{p}</li>
                ))}
              </ul>
            )}
            <section className="stats">
              <Stat label="Rewards issued" value={money(d.ledger.rewardsIssued)} />
              <Stat label="Paid out" value={money(d.ledger.settled)} />
              <Stat label="In flight" value={money(d.ledger.inFlight)} />
              <Stat
                label="Accounts sum"
                value={money(d.ledger.sumOfAllAccounts)}
                tone={d.ledger.sumOfAllAccounts === '0' ? 'good' : 'bad'}
              />
              <Stat label="Units verified" value={count(d.units.verified)} />
              <Stat label="Relayed" value={`${count(d.relay.delivered)} / ${count(d.relay.expected)}`} />
              <Stat label="Dead deliveries" value={count(d.relay.dead)} tone={d.relay.dead > 0 ? 'bad' : undefined} />
              <Stat label="Open payouts" value={`${count(d.payouts.open)} (${money(d.payouts.openTotal)})`} />
            </section>
          </>
        )}
      </Async>
    </>
  );
}

function Nodes({ s }: { s: Session }) {
  const nodes = useApi(
    () =>
      call<{ nodes: { id: string; name: string; url: string; status: string; ingestCursor: string }[] }>(s, 'GET', '/operator/v1/nodes'),
    [s],
    10_000,
  );
  const recon = useApi(() => call<Reconciliation>(s, 'GET', '/operator/v1/reconciliation'), [s], 10_000);
  return (
    <>
      <h1>Trusted nodes</h1>
      <Async r={nodes} empty="No node registered." isEmpty={(d) => d.nodes.length === 0}>
        {(d) => (
          <Table
            caption="Nodes and delivery health"
            rows={d.nodes}
            rowKey={(n) => n.id}
            columns={[
              { key: 'n', label: 'Name', render: (n) => n.name },
              { key: 's', label: 'Status', render: (n) => <Badge value={n.status} /> },
              { key: 'u', label: 'URL', render: (n) => <code>{n.url}</code> },
              { key: 'i', label: 'Ingested up to', render: (n) => n.ingestCursor, className: 'num' },
              {
                key: 'd',
                label: 'Delivered / expected',
                render: (n) => {
                  const h = recon.data?.nodes.find((x) => x.name === n.name);
                  return h ? `${count(h.delivered)} / ${count(recon.data?.units.verified)}` : '—';
                },
                className: 'num',
              },
              {
                key: 'c',
                label: 'Chain',
                render: (n) => {
                  const h = recon.data?.nodes.find((x) => x.name === n.name);
                  return h ? (h.chainValid ? 'valid' : 'BROKEN') : '—';
                },
              },
              {
                key: 'w',
                label: 'Wrong verdicts',
                render: (n) => count(recon.data?.nodes.find((x) => x.name === n.name)?.wrongVerdicts),
                className: 'num',
              },
            ]}
          />
        )}
      </Async>
    </>
  );
}

function Queues({ s }: { s: Session }) {
  const r = useApi(
    () => call<{ queues: { name: string; kind: string; counts: Record<string, number> }[] }>(s, 'GET', '/operator/v1/queues'),
    [s],
    5_000,
  );
  const states = ['waiting', 'active', 'delayed', 'failed', 'completed'];
  return (
    <>
      <h1>Queues</h1>
      <p>
        <a href="/admin/queues" target="_blank" rel="noreferrer">
          Open the queue dashboard
        </a>{' '}
        <span className="muted">(it asks for the operator key as the password)</span>
      </p>
      <Async r={r}>
        {(d) => (
          <Table
            caption="Jobs per state"
            rows={d.queues}
            rowKey={(q) => q.name}
            columns={[
              { key: 'n', label: 'Queue', render: (q) => q.name },
              ...states.map((st) => ({
                key: st,
                label: st,
                render: (q: { counts: Record<string, number> }) => count(q.counts[st] ?? 0),
                className: 'num',
              })),
            ]}
          />
        )}
      </Async>
    </>
  );
}

function Manufacturers({ s }: { s: Session }) {
  const r = useApi(
    () =>
      call<{ manufacturers: { id: string; name: string; status: string; devices: number; activeApiKeys: number; createdAt: string }[] }>(
        s,
        'GET',
        '/operator/v1/manufacturers',
      ),
    [s],
  );
  return (
    <>
      <h1>Manufacturers</h1>
      <Async r={r} empty="No manufacturer yet." isEmpty={(d) => d.manufacturers.length === 0}>
        {(d) => (
          <Table
            caption="Manufacturers"
            rows={d.manufacturers}
            rowKey={(m) => m.id}
            columns={[
              { key: 'n', label: 'Name', render: (m) => m.name },
              { key: 's', label: 'Status', render: (m) => <Badge value={m.status} /> },
              { key: 'd', label: 'Devices', render: (m) => count(m.devices), className: 'num' },
              { key: 'k', label: 'Active keys', render: (m) => count(m.activeApiKeys), className: 'num' },
              { key: 'c', label: 'Since', render: (m) => when(m.createdAt) },
            ]}
          />
        )}
      </Async>
    </>
  );
}

function PlatformKeys({ s }: { s: Session }) {
  const r = useApi(
    () =>
      call<{
        keys: {
          id: string | null;
          publicKey: string;
          status: string;
          source: string;
          activeFrom: string | null;
          retiresAt: string | null;
        }[];
      }>(s, 'GET', '/operator/v1/platform-keys'),
    [s],
  );
  return (
    <>
      <h1>Platform signing keys</h1>
      <p className="muted">
        Public halves only; nodes check relayed units against them. Rotate with POST /operator/v1/platform-keys/rotate.
      </p>
      <Async r={r}>
        {(d) => (
          <Table
            caption="Keys"
            rows={d.keys}
            rowKey={(k) => k.publicKey}
            columns={[
              { key: 'p', label: 'Public key', render: (k) => <code className="wrap">{k.publicKey}</code> },
              { key: 's', label: 'Status', render: (k) => <Badge value={k.status} /> },
              { key: 'o', label: 'Source', render: (k) => k.source },
              { key: 'f', label: 'Active from', render: (k) => when(k.activeFrom) },
              { key: 'r', label: 'Retires', render: (k) => when(k.retiresAt) },
            ]}
          />
        )}
      </Async>
    </>
  );
}
