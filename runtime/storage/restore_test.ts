import assert from "node:assert/strict";
import { openStorage } from "./storage.ts";
import { applyStagedRestore, inspectDatabase, stagedRestorePath } from "./restore.ts";

async function boxWithExtension(number: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "pbx-restore-" });
  const s = openStorage({ dataDir: dir, pbkdf2Iterations: 1000 });
  s.extensions.create({ number, name: `Ext ${number}`, password: "Granite-Fox-q" }, "pbx");
  s.close();
  return dir;
}

Deno.test("a staged backup is checked and swapped in at start, keeping the database it replaces", async () => {
  const source = await boxWithExtension("201");
  const target = await boxWithExtension("301");
  try {
    const s = openStorage({ dataDir: source, pbkdf2Iterations: 1000 });
    await Deno.mkdir(`${target}/restore`);
    s.backupTo(stagedRestorePath(target));
    s.close();
    const out = applyStagedRestore(target);
    assert.equal(out.applied, true);
    const t = openStorage({ dataDir: target, pbkdf2Iterations: 1000 });
    assert.ok(t.extensions.get("201"));
    assert.equal(t.extensions.get("301"), undefined);
    t.close();
    if (out.applied && out.previousAt) assert.ok(inspectDatabase(out.previousAt).schemaVersion > 0);
    assert.equal(applyStagedRestore(target).applied, false, "nothing staged any more");
  } finally {
    await Deno.remove(source, { recursive: true });
    await Deno.remove(target, { recursive: true });
  }
});

Deno.test("a staged file that is not a PBX database is set aside and the box keeps its data", async () => {
  const target = await boxWithExtension("301");
  try {
    await Deno.mkdir(`${target}/restore`);
    await Deno.writeTextFile(stagedRestorePath(target), "this is not a database at all, just text...");
    const out = applyStagedRestore(target);
    assert.equal(out.applied, false);
    assert.ok(!out.applied && out.reason === "rejected" && out.error.includes("not an SQLite database"));
    const t = openStorage({ dataDir: target, pbkdf2Iterations: 1000 });
    assert.ok(t.extensions.get("301"));
    t.close();
  } finally {
    await Deno.remove(target, { recursive: true });
  }
});

Deno.test("inspectDatabase refuses a truncated database and an SQLite file without the PBX schema", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pbx-inspect-" });
  try {
    const src = await boxWithExtension("201");
    const bytes = await Deno.readFile(`${src}/pbx.sqlite`);
    await Deno.remove(src, { recursive: true });
    await Deno.writeFile(`${dir}/trunc.sqlite`, bytes.subarray(0, 100));
    assert.throws(() => inspectDatabase(`${dir}/trunc.sqlite`));
    const { DatabaseSync } = await import("node:sqlite");
    const other = new DatabaseSync(`${dir}/other.sqlite`);
    other.exec("CREATE TABLE t (x)");
    other.close();
    assert.throws(() => inspectDatabase(`${dir}/other.sqlite`), /not a PBX database/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
