import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { openStorage } from "./storage.ts";
import { applyStagedRestore, inspectDatabase, stagedRestorePath } from "./restore.ts";
import { checkBackupPath } from "./backup_files.ts";

function box(): string {
  const dir = Deno.makeTempDirSync({ prefix: "pbx-backup-files-" });
  const s = openStorage({ dataDir: dir, pbkdf2Iterations: 1000 });
  s.close();
  return dir;
}

Deno.test("a backup carries voicemail and music-on-hold files; the restore replaces the folders and keeps the old ones", () => {
  const source = box(), target = box();
  try {
    Deno.mkdirSync(`${source}/voicemail/201`, { recursive: true });
    Deno.writeFileSync(`${source}/voicemail/201/msg0001.wav`, new Uint8Array([1, 2, 3, 4]));
    Deno.writeFileSync(`${source}/voicemail/201/msg0002.wav.part`, new Uint8Array([9])); // half-written
    Deno.mkdirSync(`${source}/moh/jazz`, { recursive: true });
    Deno.writeFileSync(`${source}/moh/jazz/a.wav`, new Uint8Array(70_000).fill(7));
    Deno.mkdirSync(`${source}/cache/prompts`, { recursive: true });
    Deno.writeFileSync(`${source}/cache/prompts/x.wav`, new Uint8Array([5])); // a cache, not data
    Deno.mkdirSync(`${target}/voicemail/301`, { recursive: true });
    Deno.writeFileSync(`${target}/voicemail/301/old.wav`, new Uint8Array([8]));

    const s = openStorage({ dataDir: source, pbkdf2Iterations: 1000 });
    Deno.mkdirSync(`${target}/restore`);
    s.backupTo(stagedRestorePath(target));
    s.close();
    assert.equal(inspectDatabase(stagedRestorePath(target)).files, 2);

    const out = applyStagedRestore(target, { now: () => Date.UTC(2026, 0, 2) });
    assert.ok(out.applied);
    assert.deepEqual(out.files, { files: 2, replaced: ["voicemail"] });
    assert.deepEqual([...Deno.readFileSync(`${target}/voicemail/201/msg0001.wav`)], [1, 2, 3, 4]);
    assert.equal(Deno.readFileSync(`${target}/moh/jazz/a.wav`).length, 70_000);
    assert.throws(() => Deno.statSync(`${target}/voicemail/301`), Deno.errors.NotFound);
    assert.throws(() => Deno.statSync(`${target}/voicemail/201/msg0002.wav.part`), Deno.errors.NotFound);
    assert.throws(() => Deno.statSync(`${target}/cache/prompts/x.wav`), Deno.errors.NotFound);
    const kept = [...Deno.readDirSync(target)].map((e) => e.name).filter((n) =>
      n.startsWith("voicemail.before")
    );
    assert.equal(kept.length, 1);
    assert.ok(Deno.statSync(`${target}/${kept[0]}/301/old.wav`).isFile);
    // The file table is gone from the live database.
    const db = new DatabaseSync(`${target}/pbx.sqlite`, { readOnly: true });
    try {
      assert.equal(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'backup_files'").get(), undefined);
    } finally {
      db.close();
    }
  } finally {
    Deno.removeSync(source, { recursive: true });
    Deno.removeSync(target, { recursive: true });
  }
});

Deno.test("a backup with a path outside the data folders is refused before anything moves", () => {
  const source = box(), target = box();
  try {
    const s = openStorage({ dataDir: source, pbkdf2Iterations: 1000 });
    Deno.mkdirSync(`${target}/restore`);
    const staged = stagedRestorePath(target);
    s.backupTo(staged);
    s.close();
    const db = new DatabaseSync(staged);
    db.prepare("INSERT INTO backup_files (path, mode, data) VALUES (?, ?, ?)").run(
      "voicemail/../../etc/passwd",
      0o644,
      new Uint8Array([1]),
    );
    db.close();
    assert.throws(() => inspectDatabase(staged), /"\.\." segment/);
    Deno.mkdirSync(`${target}/voicemail/301`, { recursive: true });
    const out = applyStagedRestore(target);
    assert.ok(!out.applied && out.reason === "rejected");
    assert.ok(Deno.statSync(`${target}/voicemail/301`).isDirectory, "the box's own files are untouched");
  } finally {
    Deno.removeSync(source, { recursive: true });
    Deno.removeSync(target, { recursive: true });
  }
});

Deno.test("checkBackupPath accepts files inside the folders and names what is wrong otherwise", () => {
  assert.equal(checkBackupPath("voicemail/201/a.wav"), "voicemail/201/a.wav");
  assert.throws(() => checkBackupPath("/etc/passwd"), /plain relative path/);
  assert.throws(() => checkBackupPath("tls/key.pem"), /not inside/);
  assert.throws(() => checkBackupPath("voicemail"), /not inside/);
  assert.throws(() => checkBackupPath("voicemail//a"), /empty/);
  assert.throws(() => checkBackupPath(42), /no usable path/);
});
