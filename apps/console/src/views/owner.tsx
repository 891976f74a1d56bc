import { useState, type FormEvent } from 'react';
import { call, type Session } from '../api';
import { money, when } from '../format';
import { useSettings } from '../settings';
import { Async, Badge, Stat, Table, useApi } from '../ui';

interface Earnings {
  ownerId: string;
  payoutsHalted: boolean;
  payoutAddress: string | null;
  currency: string | null;
  totals: { pending: string; credited: string; paid: string };
  devices: { id: string; serial: string; status: string; earnings: { pending: string; credited: string; paid: string; last24h: string } }[];
  lines: { account: string; amount: string; kind: string; why: string; at: string }[];
}

export function OwnerApp({ s }: { s: Session; route: string[] }) {
  const r = useApi(() => call<Earnings>(s, 'GET', '/owner/v1/earnings'), [s], 10_000);
  const settings = useSettings();
  return (
    <main>
      <h1>My appliances</h1>
      <Async r={r}>
        {(d) => {
          const cur = d.currency ?? settings.currency;
          return (
            <>
              {d.payoutsHalted && (
                <p className="state error" role="alert">
                  Your payouts are on hold while the platform checks one whose outcome is unclear. Nothing is lost.
                </p>
              )}
              <section className="stats" aria-label="Balance">
                <Stat label="Pending" value={money(d.totals.pending, cur)} testId="owner-pending" />
                <Stat label="Credited" value={money(d.totals.credited, cur)} testId="owner-credited" tone="good" />
                <Stat label="Paid" value={money(d.totals.paid, cur)} testId="owner-paid" />
              </section>
              <p className="muted">
                Pending rewards are maturing or wait for other devices to confirm the same work; credited ones are paid out once they pass
                the payout threshold.
              </p>
              <Table
                caption="Devices"
                rows={d.devices}
                rowKey={(x) => x.id}
                columns={[
                  { key: 's', label: 'Serial', render: (x) => x.serial },
                  { key: 'st', label: 'Status', render: (x) => <Badge value={x.status} /> },
                  { key: 'p', label: 'Pending', render: (x) => money(x.earnings.pending, cur), className: 'num' },
                  { key: 'c', label: 'Credited', render: (x) => money(x.earnings.credited, cur), className: 'num' },
                  { key: 'pd', label: 'Paid', render: (x) => money(x.earnings.paid, cur), className: 'num' },
                  { key: 'l', label: 'Last 24 h', render: (x) => money(x.earnings.last24h, cur), className: 'num' },
                ]}
              />
              <h2>Ledger lines</h2>
              {d.lines.length === 0 ? (
                <p className="state empty">No earnings yet: lines appear when your appliances’ work is verified and its reward matures.</p>
              ) : (
                <Table
                  caption="Latest lines, with why"
                  testId="owner-lines"
                  rows={d.lines.map((l, i) => ({ ...l, i }))}
                  rowKey={(l) => String(l.i)}
                  columns={[
                    { key: 'w', label: 'When', render: (l) => when(l.at) },
                    { key: 'a', label: 'Amount', render: (l) => money(l.amount, cur), className: 'num' },
                    { key: 'k', label: 'Kind', render: (l) => l.kind },
                    { key: 'y', label: 'Why', render: (l) => l.why, className: 'wrap' },
                  ]}
                />
              )}
              <PayoutAddress s={s} current={d.payoutAddress} onSaved={r.reload} />
            </>
          );
        }}
      </Async>
      <Claim s={s} onClaimed={r.reload} />
    </main>
  );
}

function PayoutAddress({ s, current, onSaved }: { s: Session; current: string | null; onSaved: () => void }) {
  const [address, setAddress] = useState(current ?? '');
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await call(s, 'PUT', '/owner/v1/payout-address', { address: address.trim() });
      setMsg({ ok: true, text: 'Payout address saved.' });
      onSaved();
    } catch (err) {
      setMsg({ ok: false, text: (err as Error).message });
    }
  };
  return (
    <form className="card" onSubmit={(e) => void save(e)} aria-label="Payout address">
      <h2>Payout address</h2>
      <label>
        Address on the payout network
        <input value={address} onChange={(e) => setAddress(e.target.value)} required spellCheck={false} />
      </label>
      <button type="submit">Save</button>
      {msg && (
        <p className={msg.ok ? 'notice' : 'state error'} role="status">
          {msg.text}
        </p>
      )}
    </form>
  );
}

function Claim({ s, onClaimed }: { s: Session; onClaimed: () => void }) {
  const [code, setCode] = useState('');
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const claim = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const r = await call<{ deviceId?: string }>(s, 'POST', '/owner/v1/claim', { claimCode: code.trim().toUpperCase() });
      setMsg({ ok: true, text: `Claimed${r.deviceId ? ` device ${r.deviceId}` : ''}.` });
      setCode('');
      onClaimed();
    } catch (err) {
      setMsg({ ok: false, text: (err as Error).message });
    }
  };
  return (
    <form className="card" onSubmit={(e) => void claim(e)} aria-label="Claim another appliance">
      <h2>Claim another appliance</h2>
      <label>
        Claim code (printed on the appliance)
        <input value={code} onChange={(e) => setCode(e.target.value)} required autoComplete="off" spellCheck={false} />
      </label>
      <button type="submit">Claim</button>
      {msg && (
        <p className={msg.ok ? 'notice' : 'state error'} role="status">
          {msg.text}
        </p>
      )}
    </form>
  );
}
