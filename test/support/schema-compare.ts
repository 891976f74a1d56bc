import { getDMMF } from '@prisma/internals';
import pg, { type ClientBase } from 'pg';

/**
 * Compares a Prisma schema with a live PostgreSQL database, both ways, and lists every difference
 * as one sentence ("column Device.serial: schema says text NOT NULL, database has text NULL").
 * An empty list means the migrated database is exactly what the schema describes: the same tables,
 * columns (type, nullability, default), enums (values in order), primary keys, unique and plain
 * indexes (columns in order, sort order, method, name) and foreign keys (columns, target, actions).
 *
 * Out of scope on purpose, because the hand-written migrations add what Prisma cannot express:
 * triggers, functions, CHECK constraints. Foreign key names are not compared (the DMMF does not
 * carry a relation's `map:`). `_prisma_migrations` is ignored.
 */

type Datamodel = Awaited<ReturnType<typeof getDMMF>>['datamodel'];
type Model = Datamodel['models'][number];
type Field = Model['fields'][number];

const PG_SCHEMA = 'public';
const IGNORED_TABLES = new Set(['_prisma_migrations']);
const MAX_IDENTIFIER = 63;

interface Column {
  type: string;
  notNull: boolean;
  default: string | null;
}
interface Index {
  name: string;
  unique: boolean;
  method: string;
  /** Column names, with " DESC" / " NULLS FIRST|LAST" where not the default. */
  columns: string[];
  /** " INCLUDE (…)" and " WHERE …" parts Prisma cannot express; empty from the schema. */
  extra: string;
}
interface ForeignKey {
  columns: string[];
  refTable: string;
  refColumns: string[];
  onDelete: string;
  onUpdate: string;
}
interface Table {
  columns: Map<string, Column>;
  primaryKey: { name: string; columns: string[] } | null;
  indexes: Index[];
  foreignKeys: ForeignKey[];
}
/** The part of a database a Prisma schema describes, from either side. */
export interface Shape {
  enums: Map<string, string[]>;
  tables: Map<string, Table>;
}

// ---------------------------------------------------------------------------------------------
// The schema side

const SCALAR_TYPES: Record<string, string> = {
  String: 'text',
  Int: 'integer',
  BigInt: 'bigint',
  Boolean: 'boolean',
  DateTime: 'timestamp(3) without time zone',
  Json: 'jsonb',
  Decimal: 'numeric(65,30)',
  Float: 'double precision',
  Bytes: 'bytea',
};

/** `@db.X(args)` as PostgreSQL's format_type() prints it. */
const NATIVE_TYPES: Record<string, (args: readonly string[]) => string> = {
  Text: () => 'text',
  VarChar: (a) => (a[0] ? `character varying(${a[0]})` : 'character varying'),
  Char: (a) => `character(${a[0] ?? 1})`,
  Uuid: () => 'uuid',
  Xml: () => 'xml',
  Inet: () => 'inet',
  Citext: () => 'citext',
  Bit: (a) => `bit(${a[0] ?? 1})`,
  VarBit: (a) => (a[0] ? `bit varying(${a[0]})` : 'bit varying'),
  Integer: () => 'integer',
  SmallInt: () => 'smallint',
  Oid: () => 'oid',
  BigInt: () => 'bigint',
  Boolean: () => 'boolean',
  Timestamp: (a) => (a[0] ? `timestamp(${a[0]}) without time zone` : 'timestamp without time zone'),
  Timestamptz: (a) => (a[0] ? `timestamp(${a[0]}) with time zone` : 'timestamp with time zone'),
  Date: () => 'date',
  Time: (a) => (a[0] ? `time(${a[0]}) without time zone` : 'time without time zone'),
  Timetz: (a) => (a[0] ? `time(${a[0]}) with time zone` : 'time with time zone'),
  Json: () => 'json',
  JsonB: () => 'jsonb',
  Decimal: (a) => (a.length > 0 ? `numeric(${a[0]},${a[1] ?? 0})` : 'numeric'),
  Money: () => 'money',
  DoublePrecision: () => 'double precision',
  Real: () => 'real',
  ByteA: () => 'bytea',
};

/** Types whose literal defaults PostgreSQL prints bare (0, true), not quoted ('x'). */
const BARE_LITERAL_TYPES = /^(smallint|integer|bigint|numeric|real|double precision|boolean|money|oid)\b/;

/** Prisma's default constraint name: `<table>_<columns>_<suffix>`, cut to PostgreSQL's 63. */
function constraintName(table: string, columns: readonly string[], suffix: string): string {
  const base = columns.length > 0 ? `${table}_${columns.join('_')}` : table;
  const limit = MAX_IDENTIFIER - suffix.length;
  return (base.length >= limit ? base.slice(0, limit) : base) + suffix;
}

const quoteLiteral = (s: string): string => `'${s.replaceAll("'", "''")}'`;

function schemaDefault(field: Field, pgType: string, enumValueDbName: (v: string) => string): string | null {
  const d = field.default;
  if (d === undefined) return null;
  if (Array.isArray(d)) {
    const items = (d as readonly (string | number | boolean)[]).map((v) =>
      BARE_LITERAL_TYPES.test(pgType) ? String(v) : quoteLiteral(field.kind === 'enum' ? enumValueDbName(String(v)) : String(v)),
    );
    return `ARRAY[${items.join(', ')}]`;
  }
  if (typeof d === 'object' && d !== null) {
    const fn = d as { name: string; args: readonly (string | number)[] };
    switch (fn.name) {
      case 'autoincrement':
        return 'autoincrement()';
      case 'now':
        return 'now()';
      case 'dbgenerated':
        return fn.args[0] === undefined ? null : normaliseDbDefault(String(fn.args[0]), pgType);
      case 'uuid':
      case 'cuid':
      case 'ulid':
      case 'nanoid':
        return null; // generated by the client, nothing in the database
      default:
        throw new Error(`schema-compare does not know @default(${fn.name}()) on ${field.name}`);
    }
  }
  if (field.kind === 'enum') return quoteLiteral(enumValueDbName(String(d)));
  return BARE_LITERAL_TYPES.test(pgType) ? String(d) : quoteLiteral(String(d));
}

function fieldType(field: Field, enumDbName: Map<string, string>): string {
  let base: string;
  if (field.kind === 'enum') {
    base = enumDbName.get(field.type) ?? field.type;
  } else if (field.nativeType) {
    const [name, args] = field.nativeType;
    const render = NATIVE_TYPES[name];
    if (!render) throw new Error(`schema-compare does not know @db.${name} (field ${field.name})`);
    base = render(args);
  } else {
    const scalar = SCALAR_TYPES[field.type];
    if (!scalar) throw new Error(`schema-compare does not know the Prisma type ${field.type} (field ${field.name})`);
    base = scalar;
  }
  return field.isList ? `${base}[]` : base;
}

/** What the schema says the database holds. */
export async function schemaShape(datamodel: string): Promise<Shape> {
  const { datamodel: dm } = await getDMMF({ datamodel });
  const enumDbName = new Map(dm.enums.map((e) => [e.name, e.dbName ?? e.name]));
  const enumValues = new Map(dm.enums.map((e) => [e.name, new Map(e.values.map((v) => [v.name, v.dbName ?? v.name]))]));
  const models = new Map(dm.models.map((m) => [m.name, m]));
  const tableOf = (m: Model): string => m.dbName ?? m.name;
  const columnOf = (m: Model, fieldName: string): string => {
    const f = m.fields.find((x) => x.name === fieldName);
    if (!f) throw new Error(`model ${m.name} has no field ${fieldName}`);
    return f.dbName ?? f.name;
  };

  const shape: Shape = {
    enums: new Map(dm.enums.map((e) => [e.dbName ?? e.name, e.values.map((v) => v.dbName ?? v.name)])),
    tables: new Map(),
  };

  for (const model of dm.models) {
    if (model.schema && model.schema !== PG_SCHEMA) throw new Error(`model ${model.name}: only schema ${PG_SCHEMA} is compared`);
    const table = tableOf(model);
    const t: Table = { columns: new Map(), primaryKey: null, indexes: [], foreignKeys: [] };

    for (const field of model.fields) {
      if (field.kind !== 'scalar' && field.kind !== 'enum') continue;
      const type = fieldType(field, enumDbName);
      const values = enumValues.get(field.type);
      t.columns.set(field.dbName ?? field.name, {
        type,
        notNull: field.isRequired && !field.isList, // Prisma creates scalar lists nullable
        default: schemaDefault(field, type, (v) => values?.get(v) ?? v),
      });
    }

    for (const index of dm.indexes.filter((i) => i.model === model.name)) {
      const columns = index.fields.map((f) => columnOf(model, f.name));
      if (index.type === 'id') {
        t.primaryKey = { name: index.dbName ?? constraintName(table, [], '_pkey'), columns };
        continue;
      }
      const unique = index.type === 'unique';
      t.indexes.push({
        name: index.dbName ?? constraintName(table, columns, unique ? '_key' : '_idx'),
        unique,
        method: (index.algorithm ?? 'BTree').toLowerCase(),
        columns: index.fields.map((f, i) => (f.sortOrder === 'desc' ? `${columns[i]} DESC` : columns[i]!)),
        extra: '',
      });
    }

    for (const field of model.fields) {
      if (field.kind !== 'object' || !field.relationFromFields?.length) continue;
      const target = models.get(field.type);
      if (!target) throw new Error(`relation ${model.name}.${field.name} points at unknown model ${field.type}`);
      t.foreignKeys.push({
        columns: field.relationFromFields.map((name) => columnOf(model, name)),
        refTable: tableOf(target),
        refColumns: (field.relationToFields ?? []).map((name) => columnOf(target, name)),
        onDelete: field.relationOnDelete ?? (field.isRequired ? 'Restrict' : 'SetNull'),
        onUpdate: field.relationOnUpdate ?? 'Cascade',
      });
    }
    shape.tables.set(table, t);
  }
  return shape;
}

// ---------------------------------------------------------------------------------------------
// The database side

/** Drops `::type` casts outside string literals: `'x'::text` → `'x'`. */
function stripCasts(expr: string): string {
  let out = '';
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (c === "'") {
      const end = /^'(?:[^']|'')*'/.exec(expr.slice(i));
      const lit = end ? end[0] : expr.slice(i);
      out += lit;
      i += lit.length;
    } else if (expr.startsWith('::', i)) {
      const type =
        /^::(?:"(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_]*(?: (?:varying|precision|without time zone|with time zone))?)(?:\(\d+(?:,\s*\d+)?\))?(?:\[\])*/.exec(
          expr.slice(i),
        );
      i += type ? type[0].length : 2;
    } else {
      out += c;
      i++;
    }
  }
  return out.trim();
}

/** A column default as PostgreSQL prints it, in the form schemaDefault() produces. */
function normaliseDbDefault(expr: string, pgType: string): string {
  if (/^nextval\(/i.test(expr)) return 'autoincrement()';
  if (/^(CURRENT_TIMESTAMP|now\(\))$/i.test(expr.trim())) return 'now()';
  let plain = stripCasts(expr);
  while (/^\(.*\)$/.test(plain)) plain = plain.slice(1, -1).trim();
  const literal = /^'((?:[^']|'')*)'$/.exec(plain);
  if (literal && BARE_LITERAL_TYPES.test(pgType)) return literal[1]!.replaceAll("''", "'");
  return plain;
}

const FK_ACTIONS: Record<string, string> = { a: 'NoAction', r: 'Restrict', c: 'Cascade', n: 'SetNull', d: 'SetDefault' };

/** What the database holds, in the same form. */
export async function databaseShape(db: ClientBase): Promise<Shape> {
  const shape: Shape = { enums: new Map(), tables: new Map() };

  const enums = await db.query<{ name: string; labels: string[] }>(
    `SELECT t.typname AS name, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text[] AS labels
       FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = $1 GROUP BY t.typname ORDER BY t.typname`,
    [PG_SCHEMA],
  );
  for (const e of enums.rows) shape.enums.set(e.name, e.labels);

  const tables = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.relname`,
    [PG_SCHEMA],
  );
  for (const { name } of tables.rows) {
    if (!IGNORED_TABLES.has(name)) shape.tables.set(name, { columns: new Map(), primaryKey: null, indexes: [], foreignKeys: [] });
  }

  const columns = await db.query<{
    table: string;
    column: string;
    not_null: boolean;
    type: string;
    default: string | null;
    identity: string;
  }>(
    `SELECT c.relname AS table, a.attname AS column, a.attnotnull AS not_null,
            CASE WHEN t.typtype = 'e' THEN t.typname
                 WHEN et.typtype = 'e' THEN et.typname || '[]'
                 ELSE format_type(a.atttypid, a.atttypmod) END AS type,
            pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity AS identity
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY c.relname, a.attnum`,
    [PG_SCHEMA],
  );
  for (const c of columns.rows) {
    const t = shape.tables.get(c.table);
    if (!t) continue;
    let def = c.default === null ? null : normaliseDbDefault(c.default, c.type);
    if (c.identity !== '') def = `identity (${c.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT'})`;
    t.columns.set(c.column, { type: c.type, notNull: c.not_null, default: def });
  }

  const indexes = await db.query<{
    table: string;
    name: string;
    is_unique: boolean;
    is_primary: boolean;
    method: string;
    columns: string[];
    options: number[];
    include: string[];
    predicate: string | null;
  }>(
    `SELECT c.relname AS table, i.relname AS name, x.indisunique AS is_unique, x.indisprimary AS is_primary,
            am.amname AS method,
            array(SELECT CASE WHEN k.attnum = 0 THEN pg_get_indexdef(x.indexrelid, k.ord::int, true) ELSE a.attname END
                    FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                    LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
                   WHERE k.ord <= x.indnkeyatts ORDER BY k.ord)::text[] AS columns,
            x.indoption::int2[] AS options,
            array(SELECT a.attname FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
                   WHERE k.ord > x.indnkeyatts ORDER BY k.ord)::text[] AS include,
            pg_get_expr(x.indpred, x.indrelid) AS predicate
       FROM pg_index x
       JOIN pg_class i ON i.oid = x.indexrelid
       JOIN pg_class c ON c.oid = x.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_am am ON am.oid = i.relam
      WHERE n.nspname = $1
      ORDER BY c.relname, i.relname`,
    [PG_SCHEMA],
  );
  for (const x of indexes.rows) {
    const t = shape.tables.get(x.table);
    if (!t) continue;
    if (x.is_primary) {
      t.primaryKey = { name: x.name, columns: x.columns };
      continue;
    }
    const columnsWithOrder = x.columns.map((col, i) => {
      const opt = x.options[i] ?? 0;
      const desc = (opt & 1) === 1;
      const nullsFirst = (opt & 2) === 2;
      let s = desc ? `${col} DESC` : col;
      if (nullsFirst !== desc) s += nullsFirst ? ' NULLS FIRST' : ' NULLS LAST';
      return s;
    });
    let extra = '';
    if (x.include.length > 0) extra += ` INCLUDE (${x.include.join(', ')})`;
    if (x.predicate !== null) extra += ` WHERE ${x.predicate}`;
    t.indexes.push({ name: x.name, unique: x.is_unique, method: x.method, columns: columnsWithOrder, extra });
  }

  const fks = await db.query<{
    table: string;
    ref_table: string;
    columns: string[];
    ref_columns: string[];
    on_delete: string;
    on_update: string;
  }>(
    `SELECT c.relname AS table, r.relname AS ref_table,
            array(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.ord)::text[] AS columns,
            array(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum ORDER BY u.ord)::text[] AS ref_columns,
            k.confdeltype AS on_delete, k.confupdtype AS on_update
       FROM pg_constraint k
       JOIN pg_class c ON c.oid = k.conrelid
       JOIN pg_class r ON r.oid = k.confrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND k.contype = 'f'
      ORDER BY c.relname, k.conname`,
    [PG_SCHEMA],
  );
  for (const f of fks.rows) {
    shape.tables.get(f.table)?.foreignKeys.push({
      columns: f.columns,
      refTable: f.ref_table,
      refColumns: f.ref_columns,
      onDelete: FK_ACTIONS[f.on_delete] ?? f.on_delete,
      onUpdate: FK_ACTIONS[f.on_update] ?? f.on_update,
    });
  }
  return shape;
}

// ---------------------------------------------------------------------------------------------
// The difference

const describeColumn = (c: Column): string =>
  `${c.type} ${c.notNull ? 'NOT NULL' : 'NULL'}${c.default === null ? '' : ` DEFAULT ${c.default}`}`;
const indexKind = (i: Index): string => (i.unique ? 'unique index' : 'index');
const indexTarget = (table: string, i: Index): string =>
  `${table} (${i.columns.join(', ')})${i.method === 'btree' ? '' : ` USING ${i.method}`}${i.extra}`;
const indexKey = (i: Index): string => `${i.unique}|${i.method}|${i.columns.join(',')}|${i.extra}`;
const action = (a: string): string => a.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
const fkKey = (f: ForeignKey): string => `${f.columns.join(',')}|${f.refTable}|${f.refColumns.join(',')}`;
const fkTarget = (table: string, f: ForeignKey): string =>
  `${table} (${f.columns.join(', ')}) → ${f.refTable} (${f.refColumns.join(', ')})`;
const fkActions = (f: ForeignKey): string => `ON DELETE ${action(f.onDelete)} ON UPDATE ${action(f.onUpdate)}`;

/** Every difference between what the schema says and what the database has, one sentence each. */
export function diffShapes(schema: Shape, db: Shape): string[] {
  const drift: string[] = [];

  for (const [name, values] of schema.enums) {
    const actual = db.enums.get(name);
    if (!actual) drift.push(`enum ${name}: in the schema (${values.join(', ')}), missing from the database`);
    else if (actual.join('\u0000') !== values.join('\u0000'))
      drift.push(`enum ${name}: schema says (${values.join(', ')}), database has (${actual.join(', ')})`);
  }
  for (const [name, values] of db.enums) {
    if (!schema.enums.has(name)) drift.push(`enum ${name}: in the database (${values.join(', ')}), not in the schema`);
  }

  for (const [table, expected] of schema.tables) {
    const actual = db.tables.get(table);
    if (!actual) {
      drift.push(`table ${table}: in the schema, missing from the database`);
      continue;
    }

    for (const [column, want] of expected.columns) {
      const have = actual.columns.get(column);
      if (!have) drift.push(`column ${table}.${column}: in the schema (${describeColumn(want)}), missing from the database`);
      else if (describeColumn(have) !== describeColumn(want))
        drift.push(`column ${table}.${column}: schema says ${describeColumn(want)}, database has ${describeColumn(have)}`);
    }
    for (const [column, have] of actual.columns) {
      if (!expected.columns.has(column))
        drift.push(`column ${table}.${column}: in the database (${describeColumn(have)}), not in the schema`);
    }

    const pk = (p: Table['primaryKey']): string => (p ? `${p.name} (${p.columns.join(', ')})` : 'none');
    if (pk(expected.primaryKey) !== pk(actual.primaryKey))
      drift.push(`primary key of ${table}: schema says ${pk(expected.primaryKey)}, database has ${pk(actual.primaryKey)}`);

    const unmatched = [...actual.indexes];
    for (const want of expected.indexes) {
      const at = unmatched.findIndex((have) => indexKey(have) === indexKey(want));
      if (at < 0) {
        drift.push(`${indexKind(want)} ${want.name} on ${indexTarget(table, want)}: in the schema, missing from the database`);
        continue;
      }
      const [have] = unmatched.splice(at, 1);
      if (have!.name !== want.name)
        drift.push(`${indexKind(want)} on ${indexTarget(table, want)}: schema names it ${want.name}, database names it ${have!.name}`);
    }
    for (const have of unmatched)
      drift.push(`${indexKind(have)} ${have.name} on ${indexTarget(table, have)}: in the database, not in the schema`);

    const unmatchedFks = [...actual.foreignKeys];
    for (const want of expected.foreignKeys) {
      const at = unmatchedFks.findIndex((have) => fkKey(have) === fkKey(want));
      if (at < 0) {
        drift.push(`foreign key ${fkTarget(table, want)} ${fkActions(want)}: in the schema, missing from the database`);
        continue;
      }
      const [have] = unmatchedFks.splice(at, 1);
      if (fkActions(have!) !== fkActions(want))
        drift.push(`foreign key ${fkTarget(table, want)}: schema says ${fkActions(want)}, database has ${fkActions(have!)}`);
    }
    for (const have of unmatchedFks)
      drift.push(`foreign key ${fkTarget(table, have)} ${fkActions(have)}: in the database, not in the schema`);
  }
  for (const table of db.tables.keys()) {
    if (!schema.tables.has(table)) drift.push(`table ${table}: in the database, not in the schema`);
  }
  return drift;
}

/**
 * Every drift between a Prisma schema (its text) and a database, given as a URL or as a connected
 * client (to look inside an open transaction).
 */
export async function schemaDrift(datamodel: string, db: string | ClientBase): Promise<string[]> {
  const expected = await schemaShape(datamodel);
  if (typeof db !== 'string') return diffShapes(expected, await databaseShape(db));
  const client = new pg.Client({ connectionString: db });
  await client.connect();
  try {
    return diffShapes(expected, await databaseShape(client));
  } finally {
    await client.end();
  }
}
