import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '@idlemint/core';
import { freePort, startStack, type Stack } from '../../../scripts/lib/stack.js';
import { TEST_PG, TEST_REDIS, dropRedisKeys, uniqueSuffix } from '../../../test/support/scratch.js';
import { runFleet, type FleetSummary } from '../../sim/src/index.js';

/**
 * The console in a real browser (Debian's Chromium through playwright-core) against the built
 * api, worker and reference nodes as processes, with a small simulated fleet. Payouts go to a
 * node that never answers, so they end up unclear and halted for the operator to resolve.
 * Screenshots of each main view go to test-results/console/. Needs `npm run build` (npm test does).
 */
const OPERATOR_KEY = 'console-e2e-operator-key-0123456789';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(repoRoot(), 'test-results', 'console');
/** Generous: the machine may be busy; every wait is on a condition. (Page code is given as strings: no DOM types here.) */
const WAIT = 180_000;

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
interface SummaryAnswer {
  devices: { total: number; byStatus: Record<string, number> };
  hourly: { verifiedUnits: number }[];
}
interface SeriesAnswer {
  currency?: string;
  points: { t: string; value: number | string }[];
}
interface PayoutRow {
  id: string;
  ownerId: string;
  resolution: string | null;
}
interface OwnerEarnings {
  currency: string;
  totals: { pending: string; credited: string; paid: string };
  lines: { why: string }[];
}

async function api<T = Json>(
  stack: Stack,
  path: string,
  headers: Record<string, string>,
  init: { method?: string; body?: unknown } = {},
): Promise<T> {
  const res = await fetch(stack.apiUrl + path, {
    method: init.method ?? 'GET',
    headers: { ...headers, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}

async function until<T>(what: string, f: () => Promise<T | null | undefined | false>, timeoutMs = WAIT): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The console's way of showing minor units (2 decimals, thousands separators, the unit). */
function money(minor: string, currency: string): string {
  let v = BigInt(minor);
  const neg = v < 0n;
  if (neg) v = -v;
  return `${neg ? '−' : ''}${(v / 100n).toLocaleString('en-US')}.${(v % 100n).toString().padStart(2, '0')} ${currency}`;
}

describe.skipIf(!existsSync(CHROMIUM))('the console in a browser', () => {
  const tag = `console_${uniqueSuffix()}`;
  const logDir = join(repoRoot(), '.demo', tag);
  let stack: Stack;
  let fleet: FleetSummary;
  let ready: { apiKey: string; ownerTokens: string[]; deviceIds: string[] };
  let browser: Browser;
  const mk = () => ({ 'x-api-key': ready.apiKey });
  const op = { 'x-operator-key': OPERATOR_KEY };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    stack = await startStack({
      tag,
      pgBase: TEST_PG,
      redisUrl: TEST_REDIS,
      logDir,
      operatorKey: OPERATOR_KEY,
      platformEnv: {
        PAYOUT_EVERY_MS: '1500',
        PAYOUT_THRESHOLD: '1400',
        INGEST_EVERY_MS: '500',
        MATURITY_MS: '1000',
        PAYOUT_NODE: 'node-pay',
        MANUFACTURER_RATE_PER_MIN: '100000',
        OWNER_RATE_PER_MIN: '100000',
      },
      nodeEnv: { PENDING_SEED: '300', PENDING_RATE: '50' },
    });
    // Payouts go to a node nobody runs: no clear answer, so they turn unclear and halt their owner.
    await api(stack, '/operator/v1/nodes', op, { method: 'POST', body: { name: 'node-pay', url: `http://127.0.0.1:${await freePort()}` } });
    // Work until a few units are verified (however busy the machine), then stop.
    let enough = false;
    const started = Date.now();
    const watch = setInterval(() => {
      api<{ units: { verified: number } }>(stack, '/operator/v1/reconciliation', op).then(
        (r) => (enough = r.units.verified >= 8 && Date.now() - started > 15_000),
        () => undefined,
      );
    }, 2_000);
    fleet = await runFleet({
      apiUrl: stack.apiUrl,
      operatorKey: OPERATOR_KEY,
      devices: 8,
      liars: 1 / 8,
      devicesPerOwner: 2,
      durationMs: 240_000,
      stop: () => enough,
      onReady: (f) => (ready = f),
    });
    clearInterval(watch);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
      timeout: WAIT,
    });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await stack?.dropDatabases();
    if (stack) await dropRedisKeys(stack.redisPatterns);
  }, 120_000);

  async function open(viewport = { width: 1280, height: 860 }): Promise<{ ctx: BrowserContext; page: Page }> {
    const ctx = await browser.newContext({ viewport });
    const page = await ctx.newPage();
    page.setDefaultTimeout(WAIT);
    await page.goto(`${stack.apiUrl}/console/`);
    return { ctx, page };
  }

  async function signIn(page: Page, role: 'manufacturer' | 'operator' | 'owner', secret: string): Promise<void> {
    await page.locator(`input[name=role][value=${role}]`).check();
    await page.locator('input[name=secret]').fill(secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('signed-in-as').waitFor();
    expect(page.url()).not.toContain(secret);
  }

  const text = async (page: Page, testId: string) => (await page.getByTestId(testId).textContent())?.trim() ?? '';

  it('signs a manufacturer in by keyboard and shows the fleet numbers the API gives, with charts', async () => {
    const { ctx, page } = await open();
    await page.getByRole('form', { name: 'Sign in' }).waitFor();
    await page.screenshot({ path: join(SHOTS, '01-sign-in.png') });
    // Keyboard only: Tab to the key field, type, Enter.
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate<string | null>('document.activeElement && document.activeElement.name')) === 'secret') break;
    }
    expect(await page.evaluate<string | null>('document.activeElement && document.activeElement.name')).toBe('secret');
    await page.keyboard.type(ready.apiKey);
    await page.keyboard.press('Enter');
    await page.getByTestId('stat-total').waitFor();

    // Stable numbers (the fleet has stopped): equal to the API's, once the page has caught up.
    await until('the overview to match the API', async () => {
      const s = await api<SummaryAnswer>(stack, '/manufacturer/v1/fleet/summary', mk());
      const shown = [
        await text(page, 'stat-total'),
        await text(page, 'stat-active'),
        await text(page, 'stat-quarantined'),
        await text(page, 'stat-suspended'),
      ];
      const want = [s.devices.total, s.devices.byStatus.active, s.devices.byStatus.quarantined, s.devices.byStatus.suspended].map(String);
      return JSON.stringify(shown) === JSON.stringify(want);
    });
    expect(await text(page, 'stat-total')).toBe(String(fleet.enrolled));

    // The rollup catches up with the raw rows: the series equals the summary's scan of them.
    const rolled = await until('the hourly rollup to hold every verified unit', async () => {
      const [s, series] = await Promise.all([
        api<SummaryAnswer>(stack, '/manufacturer/v1/fleet/summary', mk()),
        api<SeriesAnswer>(stack, '/manufacturer/v1/fleet/series?metric=units_verified&bucket=hour', mk()),
      ]);
      const raw = s.hourly.reduce((a, h) => a + h.verifiedUnits, 0);
      const sum = series.points.reduce((a, p) => a + Number(p.value), 0);
      return raw > 0 && sum === raw ? sum : null;
    });
    expect(rolled).toBeGreaterThan(0);
    // The page shows the same rewards the rollup holds (polled every 15 s).
    await until('the page to show the rolled-up rewards', async () => {
      const o = await api<SeriesAnswer>(stack, '/manufacturer/v1/fleet/series?metric=rewards_owners&bucket=hour', mk());
      const total = o.points.reduce((a, p) => a + BigInt(p.value), 0n);
      return total > 0n && (await text(page, 'rewards-owners')) === money(total.toString(), o.currency ?? '');
    });
    await page.locator('[data-testid=chart-units] canvas').waitFor();
    await page.locator('[data-testid=chart-rewards] canvas').waitFor();
    await page.screenshot({ path: join(SHOTS, '02-manufacturer-overview.png'), fullPage: true });

    // 30 days, daily.
    await page.getByRole('button', { name: '30 days, daily' }).click();
    await page.locator('[data-testid=chart-units] canvas').waitFor();
    expect(page.url()).not.toContain(ready.apiKey);
    await ctx.close();
  }, 600_000);

  it('filters devices, bulk-suspends two with confirmation and shows them suspended', async () => {
    const { ctx, page } = await open();
    await signIn(page, 'manufacturer', ready.apiKey);
    await page.goto(`${stack.apiUrl}/console/#/devices`);
    await page.locator('select[name=status]').selectOption('active');
    const rows = page.locator('[data-testid=device-table] tbody tr');
    await until('active devices listed', async () => (await rows.count()) > 2);
    // Every listed row is active.
    const statuses = await page.locator('[data-testid=device-table] tbody .badge').allTextContents();
    expect(statuses.length).toBeGreaterThan(2);
    expect(new Set(statuses)).toEqual(new Set(['active']));
    const serials = [
      await rows.nth(0).getByTestId('device-link').textContent(),
      await rows.nth(1).getByTestId('device-link').textContent(),
    ];
    await rows.nth(0).locator('input[type=checkbox]').check();
    await rows.nth(1).locator('input[type=checkbox]').check();
    expect(await text(page, 'selected-count')).toBe('2 selected');
    await page.getByRole('group', { name: 'Bulk actions' }).getByRole('button', { name: 'Suspend' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await page.screenshot({ path: join(SHOTS, '03-devices-confirm-suspend.png') });
    await dialog.getByRole('button', { name: 'Yes, suspend' }).click();
    await page.getByTestId('bulk-result').waitFor();
    expect(await text(page, 'bulk-result')).toContain('2 changed');

    // The API agrees, and the suspended filter shows exactly those devices.
    const suspended = await api<{ devices: { serial: string }[] }>(stack, '/manufacturer/v1/devices?status=suspended', mk());
    expect(suspended.devices.map((d) => d.serial).sort()).toEqual([...serials].sort());
    await page.locator('select[name=status]').selectOption('suspended');
    await until('the suspended devices listed', async () => {
      const shown = await page.locator('[data-testid=device-table] tbody [data-testid=device-link]').allTextContents();
      return JSON.stringify(shown.sort()) === JSON.stringify([...serials].sort());
    });
    await page.screenshot({ path: join(SHOTS, '04-devices-suspended.png'), fullPage: true });

    // Device detail: reputation and its parts, work, earnings, telemetry.
    await page.getByTestId('device-link').first().click();
    await page.getByTestId('device-reputation').waitFor();
    await page.locator('[data-testid=chart-telemetry] canvas').waitFor();
    await page.screenshot({ path: join(SHOTS, '05-device-detail.png'), fullPage: true });
    await ctx.close();
  }, 600_000);

  it('applies a policy to selected devices in bulk, showing the API’s refusal first, and sees it on the devices', async () => {
    const { ctx, page } = await open();
    await signIn(page, 'manufacturer', ready.apiKey);
    await page.goto(`${stack.apiUrl}/console/#/devices`);
    const rows = page.locator('[data-testid=device-table] tbody tr');
    await until('devices listed', async () => (await rows.count()) >= 2);
    const serials = [
      await rows.nth(0).getByTestId('device-link').textContent(),
      await rows.nth(1).getByTestId('device-link').textContent(),
    ];
    await rows.nth(0).locator('input[type=checkbox]').check();
    await rows.nth(1).locator('input[type=checkbox]').check();
    await page.getByRole('group', { name: 'Bulk actions' }).getByRole('button', { name: 'Apply policy…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await dialog.locator('select[name=idleOnly]').selectOption('false');
    await dialog.locator('input[name=hoursFrom]').fill('8');
    await dialog.locator('input[name=hoursTo]').fill('8');
    // The API refuses an empty window; the dialog stays open with its reason and the input kept.
    await dialog.getByRole('button', { name: 'Yes, apply policy' }).click();
    await dialog.getByTestId('bulk-error').waitFor();
    expect(await text(page, 'bulk-error')).toContain('from and to must differ');
    await page.screenshot({ path: join(SHOTS, '16-devices-apply-policy-refused.png') });
    await dialog.locator('input[name=hoursTo]').fill('18');
    await dialog.locator('select[name=budget]').selectOption('set');
    await dialog.locator('input[name=powerBudgetW]').fill('40');
    await dialog.getByRole('button', { name: 'Yes, apply policy' }).click();
    await page.getByTestId('bulk-result').waitFor();
    expect(await text(page, 'bulk-result')).toBe('set-policy: 2 selected, 2 changed, 0 skipped (already so or not applicable).');

    // Both devices carry it, in the API (as their own override and in the policy in force) and in the list.
    const want = { idleOnly: false, hours: { from: 8, to: 18 }, powerBudgetW: 40 };
    const all = await api<{ devices: { id: string; serial: string }[] }>(stack, '/manufacturer/v1/devices?limit=100', mk());
    for (const serial of serials) {
      const id = all.devices.find((d) => d.serial === serial)!.id;
      const d = await api<{ policy: unknown; effectivePolicy: Record<string, unknown> }>(stack, `/manufacturer/v1/devices/${id}`, mk());
      expect(d.policy).toEqual(want);
      expect(d.effectivePolicy).toMatchObject(want);
    }
    for (const serial of serials) {
      const row = rows.filter({ has: page.getByTestId('device-link').getByText(serial!, { exact: true }) });
      await until(`the policy shown on ${serial}`, async () => {
        return (await row.locator('td[data-label="Own policy"]').textContent()) === 'also when busy · hours 8–18 · ≤ 40 W';
      });
    }
    await page.screenshot({ path: join(SHOTS, '17-devices-policy-applied.png'), fullPage: true });
    await ctx.close();
  }, 600_000);

  it('creates, edits and deletes a group with its policy, and creates and edits an alert rule, showing the API’s refusals', async () => {
    const { ctx, page } = await open();
    await signIn(page, 'manufacturer', ready.apiKey);
    await page.goto(`${stack.apiUrl}/console/#/groups`);
    const name = `night-${uniqueSuffix()}`;
    await page.getByRole('button', { name: 'New group' }).click();
    let form = page.getByRole('form', { name: 'New group' });
    await form.locator('input[name=name]').fill(name);
    await form.locator('input[name=hoursFrom]').fill('22');
    await form.locator('input[name=hoursTo]').fill('6');
    await form.locator('input[name=maxItems]').fill('5000');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByTestId('form-error').waitFor();
    expect(await text(page, 'form-error')).toContain('policy.maxItems');
    await form.locator('input[name=maxItems]').fill('64');
    await form.getByRole('button', { name: 'Save' }).click();
    await until('the group created', async () => (await page.getByTestId('rules-notice').textContent()) === `Group “${name}” created.`);
    const groups = page.getByTestId('groups-table');
    const row = groups.locator('tbody tr', { hasText: name });
    expect(await row.locator('td[data-label="Policy override"]').textContent()).toBe('hours 22–6 · 64 items per unit');

    // Edit: idle only too; the API holds the whole override.
    await page.getByRole('button', { name: `Edit group ${name}` }).click();
    form = page.getByRole('form', { name: `Edit group ${name}` });
    await form.locator('select[name=idleOnly]').selectOption('true');
    await form.getByRole('button', { name: 'Save' }).click();
    await until('the group saved', async () => (await page.getByTestId('rules-notice').textContent()) === `Group “${name}” saved.`);
    await until(
      'the edited policy listed',
      async () => (await row.locator('td[data-label="Policy override"]').textContent()) === 'idle only · hours 22–6 · 64 items per unit',
    );
    const listed = await api<{ groups: { id: string; name: string; policy: unknown }[] }>(stack, '/manufacturer/v1/groups', mk());
    const group = listed.groups.find((g) => g.name === name)!;
    expect(group.policy).toEqual({ idleOnly: true, hours: { from: 22, to: 6 }, maxItems: 64 });
    await page.screenshot({ path: join(SHOTS, '18-groups-and-policies.png'), fullPage: true });

    // Delete, confirmed.
    await page.getByRole('button', { name: `Delete group ${name}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Yes, delete' }).click();
    await until('the group deleted', async () =>
      ((await page.getByTestId('rules-notice').textContent()) ?? '').startsWith(`Group “${name}” deleted`),
    );
    const after = await api<{ groups: { id: string }[] }>(stack, '/manufacturer/v1/groups', mk());
    expect(after.groups.map((g) => g.id)).not.toContain(group.id);

    // An alert rule: refused for its threshold, then for a private webhook address, then made.
    await page.goto(`${stack.apiUrl}/console/#/alerts`);
    const rule = `offline-${uniqueSuffix()}`;
    await page.getByRole('button', { name: 'New rule' }).click();
    form = page.getByRole('form', { name: 'New alert rule' });
    await form.locator('input[name=name]').fill(rule);
    await form.locator('input[name=offlineMinutes]').fill('0');
    await form.locator('input[name=webhookUrl]').fill('http://127.0.0.1:9/hook');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByTestId('form-error').waitFor();
    expect(await text(page, 'form-error')).toContain('params.offlineMinutes');
    await form.locator('input[name=offlineMinutes]').fill('600');
    await form.getByRole('button', { name: 'Save' }).click();
    await until('the webhook address refused', async () => (await text(page, 'form-error')).includes('ALERT.WEBHOOK_URL_FORBIDDEN'));
    await page.screenshot({ path: join(SHOTS, '19-alert-rule-refused.png'), fullPage: true });
    await form.locator('input[name=webhookUrl]').fill('https://93.184.215.14/idlemint-hook');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('rule-secret').waitFor();
    expect(await text(page, 'rule-secret')).not.toBe('');

    await page.getByRole('button', { name: `Edit rule ${rule}` }).click();
    form = page.getByRole('form', { name: `Edit rule ${rule}` });
    expect(await form.locator('input[name=offlineMinutes]').inputValue()).toBe('600');
    await form.locator('input[name=offlineMinutes]').fill('720');
    await form.locator('input[name=enabled]').uncheck();
    await form.getByRole('button', { name: 'Save' }).click();
    await until('the rule saved', async () => (await page.getByTestId('rules-notice').textContent()) === `Rule “${rule}” saved.`);
    const rules = await api<{ rules: { name: string; params: unknown; enabled: boolean; webhookUrl: string }[] }>(
      stack,
      '/manufacturer/v1/alert-rules',
      mk(),
    );
    expect(rules.rules.find((r) => r.name === rule)).toMatchObject({
      params: { offlineMinutes: 720 },
      enabled: false,
      webhookUrl: 'https://93.184.215.14/idlemint-hook',
    });
    const shown = page.getByTestId('rules-table').locator('tbody tr', { hasText: rule });
    await until('the edited rule listed', async () => (await shown.locator('td[data-label=Enabled]').textContent()) === 'no');
    expect(await shown.locator('td[data-label=Thresholds]').textContent()).toBe('offlineMinutes 720');
    await page.screenshot({ path: join(SHOTS, '20-alert-rules.png'), fullPage: true });
    await ctx.close();
  }, 600_000);

  it('works at 360 px wide without sideways scrolling', async () => {
    const { ctx, page } = await open({ width: 360, height: 780 });
    await signIn(page, 'manufacturer', ready.apiKey);
    await page.getByTestId('stat-total').waitFor();
    await page.locator('[data-testid=chart-units] canvas').waitFor();
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
    await page.screenshot({ path: join(SHOTS, '06-overview-360px.png'), fullPage: true });
    await page.goto(`${stack.apiUrl}/console/#/devices`);
    await page.locator('[data-testid=device-table] tbody tr').first().waitFor();
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
    await page.screenshot({ path: join(SHOTS, '07-devices-360px.png'), fullPage: true });
    await ctx.close();
  }, 600_000);

  it('sends a revoked key back to sign-in with a message; a new key’s secret is shown once', async () => {
    const { ctx, page } = await open();
    await signIn(page, 'manufacturer', ready.apiKey);
    await page.goto(`${stack.apiUrl}/console/#/keys`);
    await page.locator('input[placeholder=optional]').fill('console-test');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = (await text(page, 'new-key-secret')) || '';
    expect(secret).toMatch(/^imk_/);
    await page.screenshot({ path: join(SHOTS, '08-api-key-created.png'), fullPage: true });
    const keys = await api<{ apiKeys: { id: string; name: string | null }[] }>(stack, '/manufacturer/v1/api-keys', mk());
    const created = keys.apiKeys.find((k) => k.name === 'console-test')!;

    // Sign in with the new key, revoke it behind the console's back, then act.
    const second = await open();
    await signIn(second.page, 'manufacturer', secret);
    await api(stack, `/manufacturer/v1/api-keys/${created.id}/revoke`, mk(), { method: 'POST' });
    await second.page.goto(`${stack.apiUrl}/console/#/devices`);
    await second.page.getByTestId('signin-notice').waitFor();
    expect(await text(second.page, 'signin-notice')).toContain('refused');
    expect(await second.page.evaluate<number>('sessionStorage.length')).toBe(0);
    await second.page.screenshot({ path: join(SHOTS, '09-key-refused-sign-in-again.png') });
    await second.ctx.close();
    await ctx.close();
  }, 600_000);

  it('lets the operator resolve a halted payout', async () => {
    const halted = await until('a payout to turn unclear', async () => {
      const r = await api<{ payouts: PayoutRow[] }>(stack, '/operator/v1/payouts?status=unclear', op);
      return r.payouts.length > 0 ? r.payouts : null;
    });
    const { ctx, page } = await open();
    await signIn(page, 'operator', OPERATOR_KEY);
    const table = page.getByTestId('halted-payouts');
    await table.waitFor();
    await until('every halted payout listed', async () => (await table.locator('tbody tr').count()) >= halted.length);
    await page.screenshot({ path: join(SHOTS, '10-operator-payouts-halted.png'), fullPage: true });
    const first = halted[0]!;
    const row = table.locator('tbody tr', { hasText: first.ownerId });
    await row.getByRole('button', { name: 'Not paid' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Yes, not paid' }).click();
    await page.getByTestId('resolve-result').waitFor();
    expect(await text(page, 'resolve-result')).toContain(`${first.id} resolved as not-paid`);
    const failed = await api<{ payouts: PayoutRow[] }>(stack, '/operator/v1/payouts?status=failed', op);
    expect(failed.payouts.find((p) => p.id === first.id)?.resolution).toBe('not-paid');
    await page.screenshot({ path: join(SHOTS, '11-operator-payout-resolved.png'), fullPage: true });
    for (const [section, file] of [
      ['nodes', '12-operator-nodes.png'],
      ['queues', '13-operator-queues.png'],
      ['reconciliation', '14-operator-reconciliation.png'],
    ] as const) {
      await page.goto(`${stack.apiUrl}/console/#/${section}`);
      await page.locator('main table, main [data-testid=recon-status]').first().waitFor();
      await page.screenshot({ path: join(SHOTS, file), fullPage: true });
    }
    await ctx.close();
  }, 600_000);

  it('shows an owner the balance and the ledger lines with their explanation', async () => {
    const owner = await until('an owner with ledger lines', async () => {
      for (const token of ready.ownerTokens) {
        const e = await api<OwnerEarnings>(stack, '/owner/v1/earnings', { authorization: `Bearer ${token}` });
        if (e.lines.length > 0) return { token, e };
      }
      return null;
    });
    const { ctx, page } = await open();
    await signIn(page, 'owner', owner.token);
    await page.getByTestId('owner-lines').waitFor();
    const e = await api<OwnerEarnings>(stack, '/owner/v1/earnings', { authorization: `Bearer ${owner.token}` });
    expect(await text(page, 'owner-paid')).toBe(money(e.totals.paid, e.currency));
    const lines = page.locator('[data-testid=owner-lines] tbody tr');
    expect(await lines.count()).toBeGreaterThan(0);
    expect(await lines.first().locator('td').last().textContent()).toBe(owner.e.lines[0]!.why);
    await page.screenshot({ path: join(SHOTS, '15-owner.png'), fullPage: true });
    await ctx.close();
  }, 600_000);

  it('never writes a secret into the api’s log', () => {
    const log = readFileSync(join(logDir, 'api.log'), 'utf8');
    expect(log).not.toContain(ready.apiKey);
    expect(log).not.toContain(OPERATOR_KEY);
    for (const t of ready.ownerTokens) expect(log).not.toContain(t);
  });
});
