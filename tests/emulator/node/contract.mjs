// The contract checks, run by a second real client: the official Node server SDK (node-appwrite, pinned in
// package.json). Each check drives one area the project uses (databases, tables, columns, indexes, rows,
// messaging, health, error shapes) and states what a user would notice.
//
// Reads APPWRITE_ENDPOINT, APPWRITE_PROJECT_ID and APPWRITE_API_KEY; works on the emulator and on a real
// Appwrite alike: every ID is fresh and everything created is deleted at the end. Prints one JSON line per
// check ({"check", "ok", "error"?}) and exits 1 if any check failed, 2 if it could not start.
import { randomBytes } from "node:crypto";
import { AppwriteException, Client, ID, Messaging, Query, TablesDB } from "node-appwrite";

const POLL_TIMEOUT_MS = 60_000;
const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set`);
    process.exit(2);
  }
  return value;
};
const endpoint = env("APPWRITE_ENDPOINT");
const project = env("APPWRITE_PROJECT_ID");
const client = new Client().setEndpoint(endpoint).setProject(project).setKey(env("APPWRITE_API_KEY"));
const tables = new TablesDB(client);
const messaging = new Messaging(client);

const freshId = (prefix) => `${prefix}${randomBytes(6).toString("hex")}`;
const created = { databases: [], topics: [], messages: [] };

class CheckFailed extends Error {}

function expect(condition, what, actual) {
  if (!condition) {
    throw new CheckFailed(`${what}; got ${JSON.stringify(actual, (k, v) => (typeof v === "bigint" ? String(v) : v))}`);
  }
}

function equal(actual, wanted, what) {
  expect(JSON.stringify(actual) === JSON.stringify(wanted), `${what}: expected ${JSON.stringify(wanted)}`, actual);
}

async function rejects(call, code, type, what) {
  try {
    await call();
  } catch (error) {
    expect(error instanceof AppwriteException, `${what}: an AppwriteException`, String(error));
    equal([error.code, error.type], [code, type], what);
    const body = JSON.parse(error.response);
    equal(Object.keys(body).sort(), ["code", "message", "type", "version"], `${what}: error body keys`);
    equal(body.message, error.message, `${what}: message in the body and the exception`);
    return error;
  }
  throw new CheckFailed(`${what}: expected ${code} ${type}, the call succeeded`);
}

async function poll(read, done, what) {
  const deadline = Date.now() + POLL_TIMEOUT_MS;
  let delay = 5;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new CheckFailed(`${what} not reached in ${POLL_TIMEOUT_MS} ms; last ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 200);
  }
}

async function newDatabase() {
  const databaseId = freshId("db");
  const database = await tables.create({ databaseId, name: "Node contract" });
  created.databases.push(databaseId);
  return database;
}

const ALERT_COLUMNS = [
  { key: "fingerprint", type: "varchar", size: 64, required: true },
  { key: "status", type: "enum", elements: ["firing", "resolved"], required: true },
  { key: "count", type: "integer", required: false },
  { key: "active", type: "boolean", required: false },
  { key: "startsAt", type: "datetime", required: false },
];

async function alertsTable(databaseId) {
  const tableId = freshId("tb");
  await tables.createTable({
    databaseId, tableId, name: "Alerts", columns: ALERT_COLUMNS,
    indexes: [{ key: "fingerprint_unique", type: "unique", attributes: ["fingerprint"] }],
  });
  return tableId;
}

const checks = {
  async "health reports a version the error bodies repeat"() {
    const health = await client.call("get", new URL(`${endpoint}/health/version`), { "X-Appwrite-Project": project });
    expect(/^\d+\.\d+\.\d+/.test(health.version), "a dotted version", health);
    const error = await rejects(() => tables.get({ databaseId: freshId("missing") }), 404, "database_not_found",
      "a missing database");
    equal(JSON.parse(error.response).version, health.version, "error body version");
  },

  async "databases are created, fetched and listed"() {
    const database = await newDatabase();
    equal([database.name, database.enabled, database.type], ["Node contract", true, "tablesdb"], "created database");
    const fetched = await tables.get({ databaseId: database.$id });
    equal(fetched.$id, database.$id, "fetched database");
    const listed = await tables.list({ queries: [Query.equal("$id", database.$id)] });
    equal([listed.total, listed.databases.map((d) => d.$id)], [1, [database.$id]], "listed databases");
    await rejects(() => tables.create({ databaseId: database.$id, name: "Again" }), 409, "database_already_exists",
      "a database ID taken");
  },

  async "tables created with inline columns have them available at once"() {
    const { $id: databaseId } = await newDatabase();
    const tableId = await alertsTable(databaseId);
    const table = await tables.getTable({ databaseId, tableId });
    equal([table.$id, table.name, table.enabled, table.rowSecurity], [tableId, "Alerts", true, false], "table");
    const columns = await tables.listColumns({ databaseId, tableId });
    equal(columns.columns.map((c) => [c.key, c.type, c.status]),
      [["fingerprint", "varchar", "available"], ["status", "string", "available"], ["count", "integer", "available"],
        ["active", "boolean", "available"], ["startsAt", "datetime", "available"]], "inline columns");
    const listed = await tables.listTables({ databaseId });
    equal(listed.tables.map((t) => t.$id), [tableId], "listed tables");
    await rejects(() => tables.getTable({ databaseId, tableId: freshId("missing") }), 404, "table_not_found",
      "a missing table");
  },

  async "columns added later go processing then available, with their models"() {
    const { $id: databaseId } = await newDatabase();
    const tableId = freshId("tb");
    await tables.createTable({ databaseId, tableId, name: "Later" });
    const added = [
      await tables.createVarcharColumn({ databaseId, tableId, key: "name", size: 32, required: false, xdefault: "none" }),
      await tables.createIntegerColumn({ databaseId, tableId, key: "count", required: false, min: 0, max: 10 }),
      await tables.createDatetimeColumn({ databaseId, tableId, key: "seenAt", required: false }),
      await tables.createEnumColumn({ databaseId, tableId, key: "state", elements: ["a", "b"], required: true }),
      await tables.createBooleanColumn({ databaseId, tableId, key: "flag", required: false, xdefault: false }),
    ];
    equal(added.map((c) => [c.key, c.type, c.status]), [
      ["name", "varchar", "processing"], ["count", "integer", "processing"], ["seenAt", "datetime", "processing"],
      ["state", "string", "processing"], ["flag", "boolean", "processing"]], "created columns");
    equal([added[0].size, added[0].default, added[1].min, added[1].max, added[3].elements, added[3].format],
      [32, "none", 0, 10, ["a", "b"], "enum"], "column details");
    for (const column of added) {
      const settled = await poll(() => tables.getColumn({ databaseId, tableId, key: column.key }),
        (c) => c.status !== "processing", `column ${column.key} settled`);
      equal(settled.status, "available", `column ${column.key} status`);
    }
    await rejects(() => tables.createVarcharColumn({ databaseId, tableId, key: "name", size: 8, required: false }),
      409, "column_already_exists", "a column key taken");
    await rejects(() => tables.getColumn({ databaseId, tableId, key: "nothing" }), 404, "column_not_found",
      "a missing column");
  },

  async "indexes go processing then available"() {
    const { $id: databaseId } = await newDatabase();
    const tableId = await alertsTable(databaseId);
    const index = await tables.createIndex({ databaseId, tableId, key: "by_status", type: "key", columns: ["status", "count"] });
    equal([index.key, index.type, index.columns, index.status], ["by_status", "key", ["status", "count"], "processing"],
      "created index");
    const settled = await poll(() => tables.getIndex({ databaseId, tableId, key: "by_status" }),
      (i) => i.status !== "processing", "index settled");
    equal(settled.status, "available", "index status");
    const listed = await tables.listIndexes({ databaseId, tableId });
    equal(listed.indexes.map((i) => i.key).sort(), ["by_status", "fingerprint_unique"], "listed indexes");
    await rejects(() => tables.createIndex({ databaseId, tableId, key: "bad", type: "key", columns: ["nothing"] }),
      400, "column_unknown", "an index on a missing column");
  },

  async "rows are created, fetched, listed with queries and updated"() {
    const { $id: databaseId } = await newDatabase();
    const tableId = await alertsTable(databaseId);
    const row = await tables.createRow({ databaseId, tableId, rowId: "r1",
      data: { fingerprint: "f1", status: "firing", count: 1, startsAt: "2026-01-02T03:04:05.678901+02:00" } });
    equal([row.$id, row.$sequence, row.$tableId, row.$databaseId, row.fingerprint, row.active],
      ["r1", "1", tableId, databaseId, "f1", null], "created row");
    equal(row.startsAt, "2026-01-02T01:04:05.678+00:00", "datetime in UTC at millisecond precision");
    const unique = await tables.createRow({ databaseId, tableId, rowId: ID.unique(), data: { fingerprint: "f2", status: "resolved", count: 2 } });
    expect(/^[0-9a-f]{20}$/.test(unique.$id), "a 20-character server ID", unique.$id);
    const fetched = await tables.getRow({ databaseId, tableId, rowId: "r1" });
    equal([fetched.fingerprint, fetched.count], ["f1", 1], "fetched row");
    const firing = await tables.listRows({ databaseId, tableId,
      queries: [Query.equal("status", "firing"), Query.orderDesc("count"), Query.limit(10)] });
    equal([firing.total, firing.rows.map((r) => r.$id)], [1, ["r1"]], "rows where status = firing");
    const counted = await tables.listRows({ databaseId, tableId, queries: [Query.greaterThan("count", 0), Query.orderAsc("count")] });
    equal(counted.rows.map((r) => r.fingerprint), ["f1", "f2"], "rows ordered by count");
    const updated = await tables.updateRow({ databaseId, tableId, rowId: "r1", data: { status: "resolved" } });
    equal([updated.status, updated.count], ["resolved", 1], "update changes only the given columns");
    expect(updated.$updatedAt >= row.$updatedAt, "$updatedAt moves forward", [row.$updatedAt, updated.$updatedAt]);
    await rejects(() => tables.createRow({ databaseId, tableId, rowId: "r1", data: { fingerprint: "f9", status: "firing" } }),
      409, "row_already_exists", "a row ID taken");
    await rejects(() => tables.createRow({ databaseId, tableId, rowId: ID.unique(), data: { fingerprint: "f1", status: "firing" } }),
      409, "row_unique_constraint_violation", "a unique index hit");
    await rejects(() => tables.createRow({ databaseId, tableId, rowId: ID.unique(), data: { fingerprint: "f3", status: "unknown" } }),
      400, "row_invalid_structure", "a value outside the enum");
    await rejects(() => tables.getRow({ databaseId, tableId, rowId: "nothing" }), 404, "row_not_found", "a missing row");
    await rejects(() => tables.listRows({ databaseId, tableId, queries: ["not a query"] }), 400, "general_query_invalid",
      "a query that is not JSON");
  },

  async "bulk create and bulk upsert answer every written row"() {
    const { $id: databaseId } = await newDatabase();
    const tableId = await alertsTable(databaseId);
    const bulk = await tables.createRows({ databaseId, tableId, rows: [
      { $id: "a", fingerprint: "fa", status: "firing" }, { $id: "b", fingerprint: "fb", status: "firing" }] });
    equal([bulk.total, bulk.rows.map((r) => r.$id)], [2, ["a", "b"]], "bulk created rows");
    const upserted = await tables.upsertRows({ databaseId, tableId, rows: [
      { $id: "a", fingerprint: "fa", status: "resolved" }, { $id: "c", fingerprint: "fc", status: "firing" }] });
    equal(upserted.rows.map((r) => [r.$id, r.status]).sort(), [["a", "resolved"], ["c", "firing"]], "bulk upserted rows");
    const single = await tables.upsertRow({ databaseId, tableId, rowId: "d", data: { fingerprint: "fd", status: "firing" } });
    equal([single.$id, single.status], ["d", "firing"], "single upsert creates");
    const all = await tables.listRows({ databaseId, tableId, queries: [Query.orderAsc("$id")] });
    equal(all.rows.map((r) => [r.$id, r.status]), [["a", "resolved"], ["b", "firing"], ["c", "firing"], ["d", "firing"]],
      "stored rows");
    const tooMany = Array.from({ length: 101 }, (_, i) => ({ $id: `m${i}`, fingerprint: `fm${i}`, status: "firing" }));
    await rejects(() => tables.createRows({ databaseId, tableId, rows: tooMany }), 400, "general_argument_invalid",
      "a bulk create of 101 rows");
    await rejects(() => tables.createRows({ databaseId, tableId, rows: [
      { $id: "e", fingerprint: "fe", status: "firing" }, { $id: "a", fingerprint: "fz", status: "firing" }] }),
    409, "row_already_exists", "a bulk create with a taken ID");
    const after = await tables.listRows({ databaseId, tableId, queries: [Query.equal("$id", "e")] });
    equal(after.total, 0, "a failed bulk create writes nothing");
  },

  async "messaging topics and messages: 201 processing, then settled"() {
    const topicId = freshId("topic");
    const topic = await messaging.createTopic({ topicId, name: "Critical alerts", subscribe: [] });
    created.topics.push(topicId);
    equal([topic.$id, topic.name, topic.pushTotal, topic.smsTotal, topic.emailTotal], [topicId, "Critical alerts", 0, 0, 0],
      "created topic");
    const listed = await messaging.listTopics({ queries: [Query.equal("$id", topicId)] });
    equal(listed.topics.map((t) => t.$id), [topicId], "listed topics");
    await rejects(() => messaging.createTopic({ topicId, name: "Again" }), 409, "topic_already_exists", "a topic ID taken");
    await rejects(() => messaging.getTopic({ topicId: freshId("missing") }), 404, "topic_not_found", "a missing topic");
    const push = await messaging.createPush({ messageId: ID.unique(), title: "Disk full", body: "db-1", topics: [topicId] });
    const sms = await messaging.createSms({ messageId: ID.unique(), content: "Disk full on db-1", topics: [topicId] });
    created.messages.push(push.$id, sms.$id);
    for (const [kind, message] of [["push", push], ["sms", sms]]) {
      equal([message.providerType, message.status, message.topics], [kind, "processing", [topicId]], `created ${kind}`);
      const settled = await poll(() => messaging.getMessage({ messageId: message.$id }), (m) => m.status !== "processing",
        `${kind} message settled`);
      expect(["sent", "failed"].includes(settled.status), `${kind} message ends sent or failed`, settled.status);
    }
    const messages = await messaging.listMessages({ queries: [Query.equal("$id", push.$id)] });
    equal(messages.messages.map((m) => m.$id), [push.$id], "listed messages");
    await rejects(() => messaging.getMessage({ messageId: freshId("missing") }), 404, "message_not_found", "a missing message");
  },

  async "a key without the needed scopes is refused"() {
    const guest = new TablesDB(new Client().setEndpoint(endpoint).setProject(project));
    await rejects(() => guest.list(), 401, "general_unauthorized_scope", "a request without a key");
  },
};

let failures = 0;
try {
  for (const [name, check] of Object.entries(checks)) {
    try {
      await check();
      console.log(JSON.stringify({ check: name, ok: true }));
    } catch (error) {
      failures += 1;
      const message = error instanceof CheckFailed ? error.message : `${error?.constructor?.name}: ${error?.message} ${error?.type ?? ""}`;
      console.log(JSON.stringify({ check: name, ok: false, error: message }));
    }
  }
} finally {
  for (const databaseId of created.databases) await tables.delete({ databaseId }).catch(() => {});
  for (const messageId of created.messages) await messaging.delete({ messageId }).catch(() => {});
  for (const topicId of created.topics) await messaging.deleteTopic({ topicId }).catch(() => {});
}
process.exit(failures ? 1 : 0);
