import assert from "node:assert/strict";
import { assertThrows } from "./_testing.ts";
import { DatabaseSync } from "node:sqlite";
import { openStorage } from "./storage.ts";
import { MIGRATIONS } from "./migrations/mod.ts";

function tempDir(): string {
  return Deno.makeTempDirSync({ prefix: "pbx-storage-test-" });
}

Deno.test("migrations apply on an empty database and reopening applies nothing twice", () => {
  const dir = tempDir();
  try {
    const a = openStorage({ dataDir: `${dir}/nested/data` });
    // Version numbers are reserved per helper with gaps: the schema version is the highest one.
    assert.deepEqual(a.schemaVersion(), MIGRATIONS.at(-1)!.version);
    a.close();
    const b = openStorage({ dataDir: `${dir}/nested/data` });
    const rows = b.db.prepare("SELECT version, name FROM schema_migrations").all();
    assert.deepEqual(rows.length, MIGRATIONS.length);
    assert.deepEqual(b.schemaVersion(), MIGRATIONS.at(-1)!.version);
    b.close();
    b.close(); // idempotent
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("database is opened in WAL mode with synchronous=FULL and foreign keys on", () => {
  const dir = tempDir();
  try {
    const s = openStorage({ dataDir: dir });
    assert.deepEqual(
      (s.db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode,
      "wal",
    );
    assert.deepEqual((s.db.prepare("PRAGMA synchronous").get() as { synchronous: number }).synchronous, 2);
    assert.deepEqual((s.db.prepare("PRAGMA foreign_keys").get() as { foreign_keys: number }).foreign_keys, 1);
    assert((s.db.prepare("PRAGMA busy_timeout").get() as { timeout: number }).timeout >= 1000);
    s.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("openStorage refuses a database whose schema is newer than the code", () => {
  const dir = tempDir();
  try {
    openStorage({ dataDir: dir }).close();
    const raw = new DatabaseSync(`${dir}/pbx.sqlite`);
    raw.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(
      999,
      "future",
      0,
    );
    raw.close();
    assertThrows(() => openStorage({ dataDir: dir }), RangeError, "schema version 999 is newer");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("secret.key is created with mode 0600 and reused on reopen", () => {
  const dir = tempDir();
  try {
    const s = openStorage({ dataDir: dir });
    s.extensions.create({ number: "201", name: "A", password: "correct-horse" }, "pbx");
    s.close();
    assert.deepEqual(Deno.statSync(`${dir}/secret.key`).mode! & 0o777, 0o600);
    assert.deepEqual(Deno.statSync(`${dir}/secret.key`).size, 32);
    const s2 = openStorage({ dataDir: dir });
    assert.deepEqual(s2.extensions.getSipPassword("201"), "correct-horse");
    s2.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a truncated secret.key is rejected with a message naming the file", () => {
  const dir = tempDir();
  try {
    Deno.writeFileSync(`${dir}/secret.key`, new Uint8Array(5));
    assertThrows(() => openStorage({ dataDir: dir }), RangeError, "secret.key must hold 32 bytes");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("backupTo writes a consistent copy that opens with the same data", () => {
  const dir = tempDir();
  try {
    const s = openStorage({ dataDir: `${dir}/a` });
    s.settings.set("sip.realm", "pbx.example");
    s.backupTo(`${dir}/backup.sqlite`);
    s.close();
    const copy = new DatabaseSync(`${dir}/backup.sqlite`);
    assert.deepEqual(
      copy.prepare("SELECT value FROM settings WHERE key = 'sip.realm'").get()?.value,
      '"pbx.example"',
    );
    copy.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("openStorage without a dataDir throws TypeError", () => {
  // deno-lint-ignore no-explicit-any
  assertThrows(() => openStorage({} as any), TypeError, "dataDir");
});
