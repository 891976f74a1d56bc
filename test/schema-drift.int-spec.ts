import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { migrate, nodeMigrationsDir, platformMigrationsDir, repoRoot } from '@idlemint/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaDrift } from './support/schema-compare.js';
import { scratchDatabase } from './support/scratch.js';

/**
 * The hand-written migrations must build exactly the database each Prisma schema describes: the
 * Prisma CLI cannot diff them here, so this test does (test/support/schema-compare.ts).
 */

const PLATFORM_SCHEMA = join(repoRoot(), 'prisma', 'schema.prisma');
const NODE_SCHEMA = join(repoRoot(), 'apps', 'node', 'prisma', 'schema.prisma');

const SCHEMAS = [
  { name: 'platform', label: 'drift_platform', schemaFile: PLATFORM_SCHEMA, migrations: platformMigrationsDir() },
  { name: 'reference node', label: 'drift_node', schemaFile: NODE_SCHEMA, migrations: nodeMigrationsDir() },
];

describe.each(SCHEMAS)('the $name migrations', ({ label, schemaFile, migrations }) => {
  let db: { url: string; drop: () => Promise<void> } | undefined;

  beforeAll(async () => {
    db = await scratchDatabase(label, { migrated: false });
    const { applied } = await migrate(db.url, migrations);
    expect(applied.length).toBeGreaterThan(0);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('build exactly the database the schema describes, in both directions', async () => {
    expect(await schemaDrift(readFileSync(schemaFile, 'utf8'), db!.url)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// The comparator itself must see drift, or the test above proves nothing.

/** Replaces exactly one occurrence; throws when the text is not there (the schema moved on). */
function replaceOnce(text: string, from: string | RegExp, to: string): string {
  const hits =
    typeof from === 'string'
      ? text.split(from).length - 1
      : (text.match(new RegExp(from, from.flags.includes('g') ? from.flags : `${from.flags}g`)) ?? []).length;
  if (hits !== 1) throw new Error(`expected exactly one ${String(from)} in the schema, found ${hits}`);
  return text.replace(from, to); // `to` may use $1 with a RegExp
}

/** Edits the body of one model block. */
function inModel(schema: string, model: string, edit: (body: string) => string): string {
  const block = new RegExp(`^model ${model} \\{\\n([\\s\\S]*?)^\\}`, 'm').exec(schema);
  if (!block) throw new Error(`model ${model} not found in the schema`);
  const body = edit(block[1]!);
  return schema.replace(block[0], () => `model ${model} {\n${body}}`);
}

const SCHEMA_EDITS: { change: string; edit: (schema: string) => string; drift: string[] }[] = [
  {
    change: 'a field added to Owner',
    edit: (s) => inModel(s, 'Owner', (b) => `${b}  extra String\n`),
    drift: ['column Owner.extra: in the schema (text NOT NULL), missing from the database'],
  },
  {
    change: 'a required column made optional',
    edit: (s) => inModel(s, 'Device', (b) => replaceOnce(b, /^(\s+serial\s+)String$/m, '$1String?')),
    drift: ['column Device.serial: schema says text NULL, database has text NOT NULL'],
  },
  {
    change: 'a column type changed',
    edit: (s) => inModel(s, 'Device', (b) => replaceOnce(b, /^(\s+strikes\s+)Int /m, '$1BigInt ')),
    drift: ['column Device.strikes: schema says bigint NOT NULL DEFAULT 0, database has integer NOT NULL DEFAULT 0'],
  },
  {
    change: 'a default changed',
    edit: (s) => inModel(s, 'Device', (b) => replaceOnce(b, /^(\s+strikes\s+Int\s+)@default\(0\)/m, '$1@default(1)')),
    drift: ['column Device.strikes: schema says integer NOT NULL DEFAULT 1, database has integer NOT NULL DEFAULT 0'],
  },
  {
    change: 'an enum default changed',
    edit: (s) => inModel(s, 'Device', (b) => replaceOnce(b, '@default(active)', '@default(suspended)')),
    drift: [
      `column Device.status: schema says DeviceStatus NOT NULL DEFAULT 'suspended', database has DeviceStatus NOT NULL DEFAULT 'active'`,
    ],
  },
  {
    change: 'a native type changed',
    edit: (s) => inModel(s, 'WorkUnit', (b) => replaceOnce(b, '@db.Decimal(38, 0)', '@db.Decimal(38, 2)')),
    drift: ['column WorkUnit.reward: schema says numeric(38,2) NOT NULL, database has numeric(38,0) NOT NULL'],
  },
  {
    change: 'an autoincrement dropped',
    edit: (s) => inModel(s, 'OutboxMessage', (b) => replaceOnce(b, ' @default(autoincrement())', '')),
    drift: ['column OutboxMessage.id: schema says bigint NOT NULL, database has bigint NOT NULL DEFAULT autoincrement()'],
  },
  {
    change: 'an index removed from the schema',
    edit: (s) => inModel(s, 'Device', (b) => replaceOnce(b, '  @@index([ownerId])\n', '')),
    drift: ['index Device_ownerId_idx on Device (ownerId): in the database, not in the schema'],
  },
  {
    change: 'the column order of an index',
    edit: (s) => inModel(s, 'Device', (b) => replaceOnce(b, '@@index([manufacturerId, status])', '@@index([status, manufacturerId])')),
    drift: [
      'index Device_status_manufacturerId_idx on Device (status, manufacturerId): in the schema, missing from the database',
      'index Device_manufacturerId_status_idx on Device (manufacturerId, status): in the database, not in the schema',
    ],
  },
  {
    change: 'the sort order of an index',
    edit: (s) => inModel(s, 'WorkUnit', (b) => replaceOnce(b, '@@index([status, createdAt])', '@@index([status, createdAt(sort: Desc)])')),
    drift: [
      'index WorkUnit_status_createdAt_idx on WorkUnit (status, createdAt DESC): in the schema, missing from the database',
      'index WorkUnit_status_createdAt_idx on WorkUnit (status, createdAt): in the database, not in the schema',
    ],
  },
  {
    change: 'a compound unique turned into a plain index',
    edit: (s) => inModel(s, 'SourceTx', (b) => replaceOnce(b, '@@unique([nodeId, externalId])', '@@index([nodeId, externalId])')),
    drift: [
      'index SourceTx_nodeId_externalId_idx on SourceTx (nodeId, externalId): in the schema, missing from the database',
      'unique index SourceTx_nodeId_externalId_key on SourceTx (nodeId, externalId): in the database, not in the schema',
    ],
  },
  {
    change: 'a field-level unique removed',
    edit: (s) => inModel(s, 'Owner', (b) => replaceOnce(b, /^(\s+tokenHash\s+String\s+)@unique/m, '$1')),
    drift: ['unique index Owner_tokenHash_key on Owner (tokenHash): in the database, not in the schema'],
  },
  {
    change: 'an index renamed with map:',
    edit: (s) => inModel(s, 'Device', (b) => replaceOnce(b, '@@index([ownerId])', '@@index([ownerId], map: "Device_owner_idx")')),
    drift: ['index on Device (ownerId): schema names it Device_owner_idx, database names it Device_ownerId_idx'],
  },
  {
    change: 'a primary key renamed with map:',
    edit: (s) => inModel(s, 'TrustedNode', (b) => replaceOnce(b, /^(\s+id\s+String\s+)@id$/m, '$1@id(map: "TrustedNode_id_pk")')),
    drift: ['primary key of TrustedNode: schema says TrustedNode_id_pk (id), database has TrustedNode_pkey (id)'],
  },
  {
    change: 'an enum value added',
    edit: (s) => replaceOnce(s, '  quarantined\n  revoked\n}', '  quarantined\n  revoked\n  retired\n}'),
    drift: [
      'enum DeviceStatus: schema says (active, suspended, quarantined, revoked, retired), database has (active, suspended, quarantined, revoked)',
    ],
  },
  {
    change: 'enum values reordered',
    edit: (s) =>
      replaceOnce(s, 'enum ManufacturerStatus {\n  active\n  suspended\n}', 'enum ManufacturerStatus {\n  suspended\n  active\n}'),
    drift: ['enum ManufacturerStatus: schema says (suspended, active), database has (active, suspended)'],
  },
  {
    change: 'a model removed from the schema',
    edit: (s) => replaceOnce(s, /^\/\/\/ An appliance owner\.[^\n]*\nmodel Owner \{[\s\S]*?^\}\n/m, ''),
    drift: ['table Owner: in the database, not in the schema'],
  },
  {
    change: 'a model added to the schema',
    edit: (s) => `${s}\nmodel Extra {\n  id String @id\n}\n`,
    drift: ['table Extra: in the schema, missing from the database'],
  },
  {
    change: 'a foreign key action changed',
    edit: (s) =>
      inModel(s, 'Posting', (b) =>
        replaceOnce(
          b,
          'references: [id], onDelete: Restrict, onUpdate: Restrict)\n  account',
          'references: [id], onDelete: Cascade, onUpdate: Restrict)\n  account',
        ),
      ),
    drift: [
      'foreign key Posting (entryId) → JournalEntry (id): schema says ON DELETE CASCADE ON UPDATE RESTRICT, database has ON DELETE RESTRICT ON UPDATE RESTRICT',
    ],
  },
  {
    change: 'a relation added (with Prisma’s default actions)',
    edit: (s) =>
      inModel(
        inModel(s, 'Device', (b) => `${b}  owner Owner? @relation(fields: [ownerId], references: [id])\n`),
        'Owner',
        (b) => `${b}  devices Device[]\n`,
      ),
    drift: ['foreign key Device (ownerId) → Owner (id) ON DELETE SET NULL ON UPDATE CASCADE: in the schema, missing from the database'],
  },
  {
    change: 'nothing, only @map, @@map and enum @@map renames (the comparator follows database names)',
    edit: (s) => {
      let out = inModel(s, 'Manufacturer', (b) => replaceOnce(b, /^ {2}name(\s+String\s+@unique)$/m, '  title$1 @map("name")'));
      out = replaceOnce(out, 'model Owner {', 'model Holder {');
      out = inModel(out, 'Holder', (b) => `${b}\n  @@map("Owner")\n`);
      out = replaceOnce(
        out,
        'enum NodeStatus {\n  active\n  disabled\n}',
        'enum NodeState {\n  active\n  disabled\n\n  @@map("NodeStatus")\n}',
      );
      return inModel(out, 'TrustedNode', (b) => replaceOnce(b, 'NodeStatus @default(active)', 'NodeState  @default(active)'));
    },
    drift: [],
  },
];

/** Changes made to the database inside a transaction that is rolled back afterwards. */
const DATABASE_EDITS: { change: string; sql: string; drift: string[] }[] = [
  {
    change: 'a NOT NULL dropped',
    sql: 'ALTER TABLE "Device" ALTER COLUMN "serial" DROP NOT NULL',
    drift: ['column Device.serial: schema says text NOT NULL, database has text NULL'],
  },
  {
    change: 'a column added',
    sql: 'ALTER TABLE "Owner" ADD COLUMN "ghost" INTEGER',
    drift: ['column Owner.ghost: in the database (integer NULL), not in the schema'],
  },
  {
    change: 'a column dropped',
    sql: 'ALTER TABLE "Owner" DROP COLUMN "haltReason"',
    drift: ['column Owner.haltReason: in the schema (text NULL), missing from the database'],
  },
  {
    change: 'a column type changed',
    sql: 'ALTER TABLE "Device" ALTER COLUMN "telemetry" TYPE json',
    drift: ['column Device.telemetry: schema says jsonb NULL, database has json NULL'],
  },
  {
    change: 'a timestamp precision changed',
    sql: 'ALTER TABLE "Payout" ALTER COLUMN "updatedAt" TYPE timestamp(6)',
    drift: [
      'column Payout.updatedAt: schema says timestamp(3) without time zone NOT NULL DEFAULT now(), database has timestamp(6) without time zone NOT NULL DEFAULT now()',
    ],
  },
  {
    change: 'a sequence default dropped',
    sql: 'ALTER TABLE "OutboxMessage" ALTER COLUMN "id" DROP DEFAULT',
    drift: ['column OutboxMessage.id: schema says bigint NOT NULL DEFAULT autoincrement(), database has bigint NOT NULL'],
  },
  {
    change: 'an index added',
    sql: 'CREATE INDEX "Device_firmware_idx" ON "Device" ("firmware")',
    drift: ['index Device_firmware_idx on Device (firmware): in the database, not in the schema'],
  },
  {
    change: 'a partial unique index added',
    sql: `CREATE UNIQUE INDEX "Payout_ownerId_key" ON "Payout" ("ownerId") WHERE "status" = 'pending'`,
    drift: [
      `unique index Payout_ownerId_key on Payout (ownerId) WHERE (status = 'pending'::"PayoutStatus"): in the database, not in the schema`,
    ],
  },
  {
    change: 'an index dropped',
    sql: 'DROP INDEX "Posting_entryId_idx"',
    drift: ['index Posting_entryId_idx on Posting (entryId): in the schema, missing from the database'],
  },
  {
    change: 'a unique index made plain',
    sql: 'DROP INDEX "Device_publicKey_key"; CREATE INDEX "Device_publicKey_key" ON "Device" ("publicKey")',
    drift: [
      'unique index Device_publicKey_key on Device (publicKey): in the schema, missing from the database',
      'index Device_publicKey_key on Device (publicKey): in the database, not in the schema',
    ],
  },
  {
    change: 'a primary key dropped',
    sql: 'ALTER TABLE "Owner" DROP CONSTRAINT "Owner_pkey"',
    drift: ['primary key of Owner: schema says Owner_pkey (id), database has none'],
  },
  {
    change: 'a foreign key dropped',
    sql: 'ALTER TABLE "Posting" DROP CONSTRAINT "Posting_accountId_fkey"',
    drift: [
      'foreign key Posting (accountId) → LedgerAccount (id) ON DELETE RESTRICT ON UPDATE RESTRICT: in the schema, missing from the database',
    ],
  },
  {
    change: 'a foreign key added',
    sql: 'ALTER TABLE "Device" ADD CONSTRAINT "Device_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "Owner"("id") ON DELETE CASCADE',
    drift: ['foreign key Device (ownerId) → Owner (id) ON DELETE CASCADE ON UPDATE NO ACTION: in the database, not in the schema'],
  },
  {
    change: 'an enum value added',
    sql: `ALTER TYPE "PayoutStatus" ADD VALUE 'lost'`,
    drift: [
      'enum PayoutStatus: schema says (pending, confirmed, unclear, failed), database has (pending, confirmed, unclear, failed, lost)',
    ],
  },
  {
    change: 'an enum and a table added',
    sql: `CREATE TYPE "Mood" AS ENUM ('calm'); CREATE TABLE "Stray" ("id" TEXT PRIMARY KEY, "mood" "Mood")`,
    drift: ['enum Mood: in the database (calm), not in the schema', 'table Stray: in the database, not in the schema'],
  },
  {
    change: 'a table dropped',
    sql: 'DROP TABLE "RelayDelivery"',
    drift: ['table RelayDelivery: in the schema, missing from the database'],
  },
];

describe('the schema comparator', () => {
  let db: { url: string; drop: () => Promise<void> } | undefined;
  let client: pg.Client | undefined;
  const schema = readFileSync(PLATFORM_SCHEMA, 'utf8');

  beforeAll(async () => {
    db = await scratchDatabase('drift_comparator'); // migrated with the platform migrations
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it('finds no drift between the untouched schema and its migrations', async () => {
    expect(await schemaDrift(schema, client!)).toEqual([]);
  });

  it.each(SCHEMA_EDITS)('reports a schema edit exactly: $change', async ({ edit, drift }) => {
    expect(await schemaDrift(edit(schema), client!)).toEqual(drift);
  });

  it.each(DATABASE_EDITS)('reports a database change exactly: $change', async ({ sql, drift }) => {
    await client!.query('BEGIN');
    try {
      await client!.query(sql);
      expect(await schemaDrift(schema, client!)).toEqual(drift);
    } finally {
      await client!.query('ROLLBACK');
    }
  });
});
