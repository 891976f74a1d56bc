import { useState, type FormEvent, type ReactNode } from 'react';
import { call, errorText, type Session } from '../api';
import { count, when } from '../format';
import { Async, Badge, Confirm, Table, useApi } from '../ui';
import { EMPTY_DRAFT, PolicyFields, draftOf, overrideOf, policyText, type PolicyDraft } from './policy';

/**
 * The manufacturer's rules: groups and the work policies of groups and models, and alert rules.
 * Create, edit and delete go through the same public routes scripts use; what the API refuses is
 * shown beside the form, field by field, with the input kept.
 */

interface Group {
  id: string;
  name: string;
  devices: number;
  policy: unknown;
  createdAt: string;
}
interface Model {
  id: string;
  name: string;
  deviceClass: string;
  batchSize: number;
  policy: unknown;
}

/** A form's frame: its title, its fields, Save and Cancel, and the API's refusal if any. */
function EditForm({
  label,
  error,
  busy,
  onSubmit,
  onCancel,
  children,
}: {
  label: string;
  error: string | null;
  busy: boolean;
  onSubmit: () => void;
  onCancel: () => void;
  children: ReactNode;
}) {
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onSubmit();
  };
  return (
    <form className="card editor" aria-label={label} onSubmit={submit}>
      <h2>{label}</h2>
      {children}
      {error && (
        <p className="state error" role="alert" data-testid="form-error">
          {error}
        </p>
      )}
      <div className="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={busy}>
          Save
        </button>
      </div>
    </form>
  );
}

/** Runs a change, keeping the form open with the API's refusal, or closing it with a notice. */
function useSave<T = string>(onDone: (result: T) => void) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const save = async (f: () => Promise<T>) => {
    setError(null);
    setBusy(true);
    try {
      onDone(await f());
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, save };
}

// ---------------------------------------------------------------------------------------------

type GroupEdit = { kind: 'new-group' } | { kind: 'group'; group: Group } | { kind: 'model'; model: Model };

export function Groups({ s }: { s: Session }) {
  const groups = useApi(() => call<{ groups: Group[] }>(s, 'GET', '/manufacturer/v1/groups'), [s]);
  const models = useApi(() => call<{ models: Model[] }>(s, 'GET', '/manufacturer/v1/models'), [s]);
  const [editing, setEditing] = useState<GroupEdit | null>(null);
  const [deleting, setDeleting] = useState<Group | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const done = (message: string) => {
    setEditing(null);
    setNotice(message);
    groups.reload();
    models.reload();
  };
  const remove = async () => {
    const g = deleting;
    setDeleting(null);
    if (!g) return;
    setError(null);
    try {
      const r = await call<{ devicesUngrouped: number }>(s, 'DELETE', `/manufacturer/v1/groups/${encodeURIComponent(g.id)}`);
      done(`Group “${g.name}” deleted; ${r.devicesUngrouped} device${r.devicesUngrouped === 1 ? '' : 's'} left in no group.`);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const open = (e: GroupEdit) => {
    setNotice(null);
    setError(null);
    setEditing(e);
  };

  return (
    <>
      <h1>Groups and policies</h1>
      <p className="muted">
        A device works under its own policy override, then its group’s, then its model’s, then the default (idle only, any hour). Set a
        device’s own override from the device list (Apply policy…).
      </p>
      {notice && (
        <p className="notice" role="status" data-testid="rules-notice">
          {notice}
        </p>
      )}
      {error && (
        <p className="state error" role="alert">
          {error}
        </p>
      )}
      {editing?.kind === 'new-group' && <GroupForm s={s} onDone={done} onCancel={() => setEditing(null)} />}
      {editing?.kind === 'group' && (
        <GroupForm key={editing.group.id} s={s} group={editing.group} onDone={done} onCancel={() => setEditing(null)} />
      )}
      {editing?.kind === 'model' && (
        <ModelPolicyForm key={editing.model.id} s={s} model={editing.model} onDone={done} onCancel={() => setEditing(null)} />
      )}
      <Confirm
        open={deleting !== null}
        title={`Delete group “${deleting?.name ?? ''}”?`}
        confirmLabel="Yes, delete"
        danger
        onConfirm={() => void remove()}
        onCancel={() => setDeleting(null)}
      >
        <p>
          Its {count(deleting?.devices)} device{deleting?.devices === 1 ? '' : 's'} stay, in no group: its policy no longer applies to them.
        </p>
      </Confirm>

      <div className="row">
        <h2>Groups</h2>
        <button type="button" onClick={() => open({ kind: 'new-group' })}>
          New group
        </button>
      </div>
      <Async r={groups} empty="No group yet: groups carry a work policy for their devices." isEmpty={(d) => d.groups.length === 0}>
        {(d) => (
          <Table
            caption="Groups"
            testId="groups-table"
            rows={d.groups}
            rowKey={(g) => g.id}
            columns={[
              { key: 'n', label: 'Name', render: (g) => g.name },
              { key: 'd', label: 'Devices', render: (g) => count(g.devices), className: 'num' },
              { key: 'p', label: 'Policy override', render: (g) => policyText(g.policy) },
              { key: 'c', label: 'Created', render: (g) => when(g.createdAt) },
              {
                key: 'a',
                label: '',
                render: (g) => (
                  <span className="inline">
                    <button type="button" aria-label={`Edit group ${g.name}`} onClick={() => open({ kind: 'group', group: g })}>
                      Edit
                    </button>
                    <button type="button" aria-label={`Delete group ${g.name}`} onClick={() => setDeleting(g)}>
                      Delete
                    </button>
                  </span>
                ),
              },
            ]}
          />
        )}
      </Async>

      <h2>Models</h2>
      <Async r={models} empty="No device model yet." isEmpty={(d) => d.models.length === 0}>
        {(d) => (
          <Table
            caption="Device models and their policy"
            testId="models-table"
            rows={d.models}
            rowKey={(m) => m.id}
            columns={[
              { key: 'n', label: 'Model', render: (m) => m.name },
              { key: 'c', label: 'Class', render: (m) => m.deviceClass },
              { key: 'b', label: 'Batch', render: (m) => count(m.batchSize), className: 'num' },
              { key: 'p', label: 'Policy override', render: (m) => policyText(m.policy) },
              {
                key: 'a',
                label: '',
                render: (m) => (
                  <button type="button" aria-label={`Edit policy of model ${m.name}`} onClick={() => open({ kind: 'model', model: m })}>
                    Edit policy
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

function GroupForm({ s, group, onDone, onCancel }: { s: Session; group?: Group; onDone: (notice: string) => void; onCancel: () => void }) {
  const [name, setName] = useState(group?.name ?? '');
  const [draft, setDraft] = useState<PolicyDraft>(group ? draftOf(group.policy) : EMPTY_DRAFT);
  const { error, busy, save } = useSave(onDone);
  const submit = () =>
    void save(async () => {
      const body = { name: name.trim(), policy: overrideOf(draft) };
      if (!group) {
        await call(s, 'POST', '/manufacturer/v1/groups', body);
        return `Group “${body.name}” created.`;
      }
      await call(s, 'PATCH', `/manufacturer/v1/groups/${encodeURIComponent(group.id)}`, body);
      return `Group “${body.name}” saved.`;
    });
  return (
    <EditForm label={group ? `Edit group ${group.name}` : 'New group'} error={error} busy={busy} onSubmit={submit} onCancel={onCancel}>
      <label>
        Name
        <input name="name" value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <PolicyFields legend="Policy for its devices" value={draft} onChange={setDraft} />
    </EditForm>
  );
}

function ModelPolicyForm({
  s,
  model,
  onDone,
  onCancel,
}: {
  s: Session;
  model: Model;
  onDone: (notice: string) => void;
  onCancel: () => void;
}) {
  const [draft, setDraft] = useState<PolicyDraft>(draftOf(model.policy));
  const { error, busy, save } = useSave(onDone);
  const submit = () =>
    void save(async () => {
      await call(s, 'PATCH', `/manufacturer/v1/models/${encodeURIComponent(model.id)}`, { policy: overrideOf(draft) });
      return `Policy of model “${model.name}” saved.`;
    });
  return (
    <EditForm label={`Edit policy of model ${model.name}`} error={error} busy={busy} onSubmit={submit} onCancel={onCancel}>
      <PolicyFields legend="Policy for devices of this model" value={draft} onChange={setDraft} />
    </EditForm>
  );
}

// ---------------------------------------------------------------------------------------------

const KINDS = ['device_offline', 'reject_rate', 'canary_strike', 'online_share'] as const;
type Kind = (typeof KINDS)[number];

/** Each kind's thresholds (libs/protocol alerts.ts); an empty optional one takes the API's default. */
const PARAMS: Record<Kind, { key: string; label: string; optional?: string }[]> = {
  device_offline: [{ key: 'offlineMinutes', label: 'Offline for more than (minutes)' }],
  reject_rate: [
    { key: 'thresholdPct', label: 'Rejected results above (%)' },
    { key: 'windowMinutes', label: 'Over the last (minutes)' },
    { key: 'minResults', label: 'Once at least (results decided)', optional: '20' },
  ],
  canary_strike: [],
  online_share: [
    { key: 'thresholdPct', label: 'Online share below (%)' },
    { key: 'onlineWithinMinutes', label: 'Online means seen within (minutes)', optional: '5' },
  ],
};
const KIND_TEXT: Record<Kind, string> = {
  device_offline: 'a device offline',
  reject_rate: 'rejected results',
  canary_strike: 'canary strikes',
  online_share: 'share of devices online',
};

interface AlertRule {
  id: string;
  name: string;
  kind: Kind;
  params: Record<string, unknown>;
  webhookUrl: string;
  secretHint: string;
  enabled: boolean;
  evaluatedAt: string | null;
}

const paramsText = (r: AlertRule) =>
  PARAMS[r.kind]?.map((p) => `${p.key} ${r.params[p.key] === undefined ? '—' : JSON.stringify(r.params[p.key])}`).join(', ') ||
  'no threshold';

export function Alerts({ s }: { s: Session }) {
  const rules = useApi(() => call<{ rules: AlertRule[] }>(s, 'GET', '/manufacturer/v1/alert-rules'), [s]);
  const deliveries = useApi(
    () =>
      call<{ deliveries: { id: string; status: string; attempts?: number; createdAt: string; ruleId?: string }[] }>(
        s,
        'GET',
        '/manufacturer/v1/alert-deliveries',
      ),
    [s],
  );
  const [editing, setEditing] = useState<{ rule?: AlertRule } | null>(null);
  const [deleting, setDeleting] = useState<AlertRule | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const done = (message: string, newSecret?: string) => {
    setEditing(null);
    setNotice(message);
    setSecret(newSecret ?? null);
    rules.reload();
  };
  const remove = async () => {
    const r = deleting;
    setDeleting(null);
    if (!r) return;
    setError(null);
    try {
      await call(s, 'DELETE', `/manufacturer/v1/alert-rules/${encodeURIComponent(r.id)}`);
      done(`Rule “${r.name}” deleted; its open alerts closed without a webhook.`);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const open = (rule?: AlertRule) => {
    setNotice(null);
    setSecret(null);
    setError(null);
    setEditing(rule ? { rule } : {});
  };
  return (
    <>
      <h1>Alerts</h1>
      {notice && (
        <p className="notice" role="status" data-testid="rules-notice">
          {notice}
        </p>
      )}
      {secret && (
        <div className="notice secret" role="status">
          <p>
            <strong>The webhook signing secret, shown only once:</strong>
          </p>
          <code data-testid="rule-secret">{secret}</code>
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
      {editing && <RuleForm key={editing.rule?.id ?? 'new'} s={s} rule={editing.rule} onDone={done} onCancel={() => setEditing(null)} />}
      <Confirm
        open={deleting !== null}
        title={`Delete rule “${deleting?.name ?? ''}”?`}
        confirmLabel="Yes, delete"
        danger
        onConfirm={() => void remove()}
        onCancel={() => setDeleting(null)}
      >
        <p>Its open alerts close without a webhook and its undelivered messages are dropped.</p>
      </Confirm>
      <div className="row">
        <h2>Rules</h2>
        <button type="button" onClick={() => open()}>
          New rule
        </button>
      </div>
      <Async r={rules} empty="No alert rule yet (docs/alerts.md)." isEmpty={(d) => d.rules.length === 0}>
        {(d) => (
          <Table
            caption="Alert rules"
            testId="rules-table"
            rows={d.rules}
            rowKey={(x) => x.id}
            columns={[
              { key: 'n', label: 'Name', render: (x) => x.name },
              { key: 'k', label: 'Watches', render: (x) => KIND_TEXT[x.kind] ?? x.kind },
              { key: 'p', label: 'Thresholds', render: paramsText },
              { key: 'w', label: 'Webhook', render: (x) => <code>{x.webhookUrl}</code>, className: 'wrap' },
              { key: 'e', label: 'Enabled', render: (x) => (x.enabled ? 'yes' : 'no') },
              {
                key: 'a',
                label: '',
                render: (x) => (
                  <span className="inline">
                    <button type="button" aria-label={`Edit rule ${x.name}`} onClick={() => open(x)}>
                      Edit
                    </button>
                    <button type="button" aria-label={`Delete rule ${x.name}`} onClick={() => setDeleting(x)}>
                      Delete
                    </button>
                  </span>
                ),
              },
            ]}
          />
        )}
      </Async>
      <h2>Deliveries</h2>
      <Async r={deliveries} empty="No alert delivered yet." isEmpty={(d) => d.deliveries.length === 0}>
        {(d) => (
          <Table
            caption="Webhook deliveries"
            rows={d.deliveries}
            rowKey={(x) => x.id}
            columns={[
              { key: 'w', label: 'When', render: (x) => when(x.createdAt) },
              { key: 's', label: 'Status', render: (x) => <Badge value={x.status} /> },
              { key: 'a', label: 'Attempts', render: (x) => count(x.attempts), className: 'num' },
            ]}
          />
        )}
      </Async>
    </>
  );
}

/** A number when the text is one, else the text (the API names the field it refuses). */
const num = (v: string): number | string => (v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v);

function RuleForm({
  s,
  rule,
  onDone,
  onCancel,
}: {
  s: Session;
  rule?: AlertRule;
  onDone: (notice: string, secret?: string) => void;
  onCancel: () => void;
}) {
  const [name, setName] = useState(rule?.name ?? '');
  const [kind, setKind] = useState<Kind>(rule?.kind ?? 'device_offline');
  const [params, setParams] = useState<Record<string, string>>(() =>
    Object.fromEntries(Object.entries(rule?.params ?? {}).map(([k, v]) => [k, String(v)])),
  );
  const [webhookUrl, setWebhookUrl] = useState(rule?.webhookUrl ?? '');
  const [enabled, setEnabled] = useState(rule?.enabled ?? true);
  const { error, busy, save } = useSave<{ notice: string; secret?: string }>((r) => onDone(r.notice, r.secret));
  const submit = () =>
    void save(async () => {
      const p: Record<string, unknown> = {};
      for (const f of PARAMS[kind]) if ((params[f.key] ?? '').trim() !== '') p[f.key] = num(params[f.key]!);
      const body = { name: name.trim(), params: p, webhookUrl: webhookUrl.trim(), enabled };
      if (!rule) {
        const r = await call<{ secret: string }>(s, 'POST', '/manufacturer/v1/alert-rules', { ...body, kind });
        return { notice: `Rule “${body.name}” created.`, secret: r.secret };
      }
      await call(s, 'PATCH', `/manufacturer/v1/alert-rules/${encodeURIComponent(rule.id)}`, body);
      return { notice: `Rule “${body.name}” saved.` };
    });
  return (
    <EditForm label={rule ? `Edit rule ${rule.name}` : 'New alert rule'} error={error} busy={busy} onSubmit={submit} onCancel={onCancel}>
      <label>
        Name
        <input name="name" value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Watches
        <select name="kind" value={kind} disabled={rule !== undefined} onChange={(e) => setKind(e.target.value as Kind)}>
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {KIND_TEXT[k]}
            </option>
          ))}
        </select>
      </label>
      {PARAMS[kind].map((f) => (
        <label key={f.key}>
          {f.label}
          <input
            name={f.key}
            inputMode="decimal"
            value={params[f.key] ?? ''}
            placeholder={f.optional ? `default ${f.optional}` : ''}
            onChange={(e) => setParams({ ...params, [f.key]: e.target.value })}
          />
        </label>
      ))}
      <label>
        Webhook URL
        <input
          name="webhookUrl"
          inputMode="url"
          value={webhookUrl}
          onChange={(e) => setWebhookUrl(e.target.value)}
          placeholder="https://…"
        />
      </label>
      <label className="radio">
        <input type="checkbox" name="enabled" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
      </label>
    </EditForm>
  );
}
