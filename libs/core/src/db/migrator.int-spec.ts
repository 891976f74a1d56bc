import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { scratchDatabase } from '../../../../test/support/scratch.js';
import { platformMigrationsDir } from '../paths.js';
import { listMigrations, migrate } from './migrator.js';

interface Row {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
}

const databases: { drop: () => Promise<void> }[] = [];
const folders: string[] = [];

/** A fresh, empty scratch database, dropped after the file. */
async function freshDatabase(label: string): Promise<string> {
  const db = await scratchDatabase(`migrator_${label}`, { migrated: false });
  databases.push(db);
  return db.url;
}

/** A migrations folder of our own in the OS temp dir, seeded from the platform's or from `files`. */
function tempMigrations(files?: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'idlemint-migrations-'));
  folders.push(dir);
  if (files) for (const [name, sql] of Object.entries(files)) writeMigration(dir, name, sql);
  else cpSync(platformMigrationsDir(), dir, { recursive: true });
  return dir;
}

function writeMigration(dir: string, name: string, sql: string): void {
  mkdirSync(join(dir, name), { recursive: true });
  writeFileSync(join(dir, name, 'migration.sql'), sql);
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const history = (url: string): Promise<Row[]> =>
  withClient(url, async (c) => {
    const { rows } = await c.query<Row>(
      `SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count
         FROM "_prisma_migrations" ORDER BY migration_name`,
    );
    return rows;
  });

const tableExists = (url: string, table: string): Promise<boolean> =>
  withClient(url, async (c) => {
    const { rows } = await c.query<{ oid: string | null }>('SELECT to_regclass($1)::text AS oid', [`"${table}"`]);
    return rows[0]!.oid !== null;
  });

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

afterAll(async () => {
  for (const db of databases) await db.drop();
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

describe('migrate', () => {
  const platformNames = readdirSync(platformMigrationsDir(), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

  it('applies every migration in order and records each with the sha256 of its file', async () => {
    const url = await freshDatabase('all');
    expect(platformNames.length).toBeGreaterThan(0);

    const result = await migrate(url, platformMigrationsDir());

    expect(result).toEqual({ applied: platformNames, skipped: [] });
    const rows = await history(url);
    expect(rows.map((r) => r.migration_name)).toEqual(platformNames);
    for (const row of rows) {
      expect(row.checksum).toBe(sha256(join(platformMigrationsDir(), row.migration_name, 'migration.sql')));
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }
    expect(await tableExists(url, 'Posting')).toBe(true);
    expect(await tableExists(url, 'OutboxMessage')).toBe(true);
  });

  it('applies nothing on a second run', async () => {
    const url = await freshDatabase('again');
    await migrate(url, platformMigrationsDir());
    const before = await history(url);

    const second = await migrate(url, platformMigrationsDir());

    expect(second).toEqual({ applied: [], skipped: platformNames });
    expect(await history(url)).toEqual(before);
  });

  it('applies only the migrations added since the last run', async () => {
    const url = await freshDatabase('added');
    const dir = tempMigrations();
    await migrate(url, dir);
    writeMigration(dir, '29991231000000_later', 'CREATE TABLE "Later" ("id" INTEGER PRIMARY KEY);');

    const result = await migrate(url, dir);

    expect(result).toEqual({ applied: ['29991231000000_later'], skipped: platformNames });
    expect((await history(url)).map((r) => r.migration_name)).toEqual([...platformNames, '29991231000000_later']);
    expect(await tableExists(url, 'Later')).toBe(true);
  });

  it('lets two concurrent runs on a fresh database both succeed, applying each migration once', async () => {
    const url = await freshDatabase('race');
    // A slow first migration keeps the two runs overlapping: without the advisory lock both would
    // start it, and the second CREATE TABLE would fail (or the INSERT would run twice).
    const dir = tempMigrations();
    writeMigration(
      dir,
      '00000000000000_slow',
      'SELECT pg_sleep(0.5);\nCREATE TABLE "MigrationRuns" ("n" INTEGER NOT NULL);\nINSERT INTO "MigrationRuns" VALUES (1);\n',
    );
    const names = listMigrations(dir).map((m) => m.name);
    expect(names).toEqual(['00000000000000_slow', ...platformNames]);

    const results = await Promise.all([migrate(url, dir), migrate(url, dir)]);

    // The lock covers the whole run: one applies everything, the other then finds it all done.
    const [first, second] = [...results].sort((a, b) => b.applied.length - a.applied.length);
    expect(first).toEqual({ applied: names, skipped: [] });
    expect(second).toEqual({ applied: [], skipped: names });
    expect((await history(url)).map((r) => r.migration_name)).toEqual(names);
    const runs = await withClient(url, (c) => c.query<{ n: number }>('SELECT "n" FROM "MigrationRuns"'));
    expect(runs.rows).toEqual([{ n: 1 }]);
  });

  it('refuses to run when an applied migration was edited afterwards, and applies nothing else', async () => {
    const url = await freshDatabase('edited');
    const dir = tempMigrations();
    await migrate(url, dir);
    const before = await history(url);
    appendFileSync(join(dir, platformNames[0]!, 'migration.sql'), '\n-- edited after it was applied\n');
    writeMigration(dir, '29991231000000_later', 'CREATE TABLE "Later" ("id" INTEGER PRIMARY KEY);');

    await expect(migrate(url, dir)).rejects.toThrow(`migration ${platformNames[0]} was changed after it was applied (checksum differs)`);

    expect(await history(url)).toEqual(before);
    expect(await tableExists(url, 'Later')).toBe(false);
  });

  it('rolls a failing migration back entirely and does not record it', async () => {
    const url = await freshDatabase('failing');
    const dir = tempMigrations({
      '20000101000000_first': 'CREATE TABLE "First" ("id" INTEGER PRIMARY KEY);',
      '20000102000000_broken': 'CREATE TABLE "Broken" ("id" INTEGER PRIMARY KEY);\nINSERT INTO "First" VALUES (1);\nSELECT 1 / 0;\n',
      '20000103000000_third': 'CREATE TABLE "Third" ("id" INTEGER PRIMARY KEY);',
    });

    await expect(migrate(url, dir)).rejects.toThrow('migration 20000102000000_broken failed: division by zero');

    expect((await history(url)).map((r) => r.migration_name)).toEqual(['20000101000000_first']);
    expect(await tableExists(url, 'First')).toBe(true);
    expect(await tableExists(url, 'Broken')).toBe(false);
    expect(await tableExists(url, 'Third')).toBe(false);
    const first = await withClient(url, (c) => c.query('SELECT * FROM "First"'));
    expect(first.rowCount).toBe(0);

    // Fixed, it applies from where it stopped.
    writeMigration(dir, '20000102000000_broken', 'CREATE TABLE "Broken" ("id" INTEGER PRIMARY KEY);\n');
    expect(await migrate(url, dir)).toEqual({
      applied: ['20000102000000_broken', '20000103000000_third'],
      skipped: ['20000101000000_first'],
    });
    expect(await tableExists(url, 'Broken')).toBe(true);
  });

  it('releases its lock when it fails, so the next run is not blocked', async () => {
    const url = await freshDatabase('unlock');
    const dir = tempMigrations({ '20000101000000_broken': 'SELECT 1 / 0;' });
    await expect(migrate(url, dir)).rejects.toThrow('division by zero');

    await withClient(url, async (c) => {
      const { rows } = await c.query<{ n: string }>(`SELECT count(*) AS n FROM pg_locks
          WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
      expect(rows[0]!.n).toBe('0');
    });
    writeMigration(dir, '20000101000000_broken', 'SELECT 1;');
    expect(await migrate(url, dir)).toEqual({ applied: ['20000101000000_broken'], skipped: [] });
  });

  it('fails clearly on a missing migrations folder', async () => {
    const url = await freshDatabase('nofolder');
    const missing = join(tmpdir(), 'idlemint-no-such-migrations');
    await expect(migrate(url, missing)).rejects.toThrow(`migrations folder not found: ${missing}`);
  });
});
