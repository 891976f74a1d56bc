/**
 * Work policy overrides (docs/fleet-api.md): a model, a group and a device may each set some of
 * idleOnly, hours, powerBudgetW and maxItems; what one leaves unset comes from the level below.
 * The form keeps what the user typed as text and sends it as typed: the API validates and its
 * refusals are shown, so the console never disagrees with scripts about what is allowed.
 */
export interface PolicyOverride {
  idleOnly?: boolean;
  hours?: { from: number; to: number };
  powerBudgetW?: number | null;
  maxItems?: number;
}

export interface PolicyDraft {
  /** '' inherit, 'true', 'false'. */
  idleOnly: string;
  hoursFrom: string;
  hoursTo: string;
  /** '' inherit, 'none' lifts a budget set below, 'set' uses `powerBudgetW`. */
  budget: string;
  powerBudgetW: string;
  maxItems: string;
}

export const EMPTY_DRAFT: PolicyDraft = { idleOnly: '', hoursFrom: '', hoursTo: '', budget: '', powerBudgetW: '', maxItems: '' };

/** A number when the text is one; otherwise the text itself, for the API to refuse by name. */
const num = (s: string): number | string => (s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : s);

export function draftOf(p: unknown): PolicyDraft {
  if (!p || typeof p !== 'object') return { ...EMPTY_DRAFT };
  const o = p as PolicyOverride;
  return {
    idleOnly: o.idleOnly === undefined ? '' : String(o.idleOnly),
    hoursFrom: o.hours ? String(o.hours.from) : '',
    hoursTo: o.hours ? String(o.hours.to) : '',
    budget: o.powerBudgetW === undefined ? '' : o.powerBudgetW === null ? 'none' : 'set',
    powerBudgetW: typeof o.powerBudgetW === 'number' ? String(o.powerBudgetW) : '',
    maxItems: o.maxItems === undefined ? '' : String(o.maxItems),
  };
}

/** The override the draft describes; null when it sets nothing (which clears an override). */
export function overrideOf(d: PolicyDraft): Record<string, unknown> | null {
  const o: Record<string, unknown> = {};
  if (d.idleOnly !== '') o.idleOnly = d.idleOnly === 'true';
  if (d.hoursFrom.trim() !== '' || d.hoursTo.trim() !== '') o.hours = { from: num(d.hoursFrom), to: num(d.hoursTo) };
  if (d.budget === 'none') o.powerBudgetW = null;
  if (d.budget === 'set') o.powerBudgetW = num(d.powerBudgetW);
  if (d.maxItems.trim() !== '') o.maxItems = num(d.maxItems);
  return Object.keys(o).length === 0 ? null : o;
}

/** "idle only · hours 8–18 · ≤ 40 W · 4 items", or "inherits everything". */
export function policyText(p: unknown): string {
  if (!p || typeof p !== 'object') return 'inherits everything';
  const o = p as PolicyOverride;
  const parts: string[] = [];
  if (o.idleOnly !== undefined) parts.push(o.idleOnly ? 'idle only' : 'also when busy');
  if (o.hours) parts.push(`hours ${o.hours.from}–${o.hours.to}`);
  if (o.powerBudgetW === null) parts.push('no power budget');
  else if (o.powerBudgetW !== undefined) parts.push(`≤ ${o.powerBudgetW} W`);
  if (o.maxItems !== undefined) parts.push(`${o.maxItems} items per unit`);
  return parts.length > 0 ? parts.join(' · ') : 'inherits everything';
}

/** The four fields of an override; every one may be left to inherit. */
export function PolicyFields({ value, onChange, legend }: { value: PolicyDraft; onChange: (d: PolicyDraft) => void; legend: string }) {
  const set = (k: keyof PolicyDraft) => (e: { target: { value: string } }) => onChange({ ...value, [k]: e.target.value });
  return (
    <fieldset className="policy">
      <legend>{legend}</legend>
      <label>
        When
        <select name="idleOnly" value={value.idleOnly} onChange={set('idleOnly')}>
          <option value="">inherit</option>
          <option value="true">only when idle</option>
          <option value="false">also when busy</option>
        </select>
      </label>
      <label>
        From hour
        <input name="hoursFrom" inputMode="numeric" value={value.hoursFrom} onChange={set('hoursFrom')} placeholder="inherit" />
      </label>
      <label>
        To hour
        <input name="hoursTo" inputMode="numeric" value={value.hoursTo} onChange={set('hoursTo')} placeholder="inherit" />
      </label>
      <label>
        Power budget
        <select name="budget" value={value.budget} onChange={set('budget')}>
          <option value="">inherit</option>
          <option value="none">none (lift one set below)</option>
          <option value="set">at most… W</option>
        </select>
      </label>
      {value.budget === 'set' && (
        <label>
          Watts
          <input name="powerBudgetW" inputMode="decimal" value={value.powerBudgetW} onChange={set('powerBudgetW')} />
        </label>
      )}
      <label>
        Items per unit
        <input name="maxItems" inputMode="numeric" value={value.maxItems} onChange={set('maxItems')} placeholder="inherit" />
      </label>
      <p className="muted">Hours are local to each device, [from, to); from &gt; to wraps past midnight. Leave all to inherit to clear.</p>
    </fieldset>
  );
}
