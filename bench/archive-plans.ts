/**
 * The embedded store's query plans (SQLite's EXPLAIN QUERY PLAN) for every filter's examples, as
 * count and as a page in each order, on an empty archive with the store's schema: which index
 * each query reads. Run it before dropping or changing an index (bench/archive.ts measures the
 * four queries of issue 15's figures at 1M packets; this shows every other one).
 *
 * Run: npx tsx bench/archive-plans.ts [--all-orders]
 */
import { parseArgs } from "node:util";
import { Database } from "node-sqlite3-wasm";
import { FILTERS, ORDERS, parseArchiveQuery, whereClause } from "../src/archive/filters";
import { ADDED_COLUMNS, orderBy, SqlBuilder, schema } from "../src/archive/sql";

const { values } = parseArgs({ options: { "all-orders": { type: "boolean" } } });

const db = new Database(":memory:");
for (const s of schema("sqlite")) db.exec(s);
for (const c of ADDED_COLUMNS) db.exec(`ALTER TABLE ${c.table} ADD COLUMN ${c.column} ${c.sqlite}`);

function plan(sql: string, params: unknown[]): string {
  return (db.all(`EXPLAIN QUERY PLAN ${sql}`, params as never) as Array<{ detail: string }>)
    .map((r) => r.detail)
    .join(" | ");
}

const queries: Array<Record<string, string>> = [{}, { cone: "[10,20,1]" }, { cone: "[10,89.5,1]" }];
for (const def of FILTERS) for (const example of def.examples) queries.push({ [def.key]: example });
for (const raw of queries) {
  const qs = new URLSearchParams(raw).toString();
  const q = parseArchiveQuery(raw);
  const b = new SqlBuilder("sqlite");
  const where = whereClause(q.filters, b);
  console.log(
    `${qs === "" ? "(no filter)" : qs}\n  count: ${plan(`SELECT count(*) FROM voevent v ${where}`, b.params)}`,
  );
  for (const order of values["all-orders"] ? ORDERS : ORDERS.slice(0, 1)) {
    const sql = `SELECT v.ivorn FROM voevent v ${where} ORDER BY ${orderBy(order)} LIMIT 100`;
    console.log(`  page order=${order}: ${plan(sql, b.params)}`);
  }
}
db.close();
