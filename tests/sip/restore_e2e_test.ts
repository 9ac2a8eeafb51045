/**
 * Backup and restore through the API of the real appliance: download a backup, change the data,
 * upload the backup, restart: the box is back to the backed-up state (database and the voicemail and
 * music-on-hold files) and kept the replaced database and folders.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { startAppliance } from "../_harness/mod.ts";

Deno.test("a restored backup replaces the data at the next start", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "pbx-restore-e2e-" });
  try {
    let app = await startAppliance({ dataDir });
    try {
      const api = await app.adminApi();
      await api.createExtension({ number: "201", name: "Before", password: "Granite-Fox-q" });
      Deno.mkdirSync(`${dataDir}/voicemail/201`, { recursive: true });
      Deno.writeFileSync(`${dataDir}/voicemail/201/kept.wav`, new Uint8Array([82, 73, 70, 70]));
      const token = await app.adminToken();
      const backup = await fetch(`${app.baseUrl}/api/system/backup`, {
        headers: { authorization: `Bearer ${token}` },
      });
      eq(backup.status, 200);
      const bytes = new Uint8Array(await backup.arrayBuffer());
      await api.createExtension({ number: "202", name: "After the backup", password: "Granite-Fox-q" });
      Deno.removeSync(`${dataDir}/voicemail/201/kept.wav`);
      Deno.writeFileSync(`${dataDir}/voicemail/201/later.wav`, new Uint8Array([1]));
      // A file that is not a database is refused with a message, and nothing is staged.
      const junk = await fetch(`${app.baseUrl}/api/system/restore`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
        body: new TextEncoder().encode("definitely not sqlite"),
      });
      eq(junk.status, 400);
      ok((await junk.json()).error);
      const staged = await fetch(`${app.baseUrl}/api/system/restore`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
        body: bytes,
      });
      eq(staged.status, 202);
      eq((await staged.json()).files, 1, "the backup carries the voicemail file");
    } finally {
      await app.stop();
    }
    app = await startAppliance({ dataDir });
    try {
      await app.waitForLog(/restored the database from a staged backup/, 5000);
      const api = await app.adminApi();
      const { items } = await api.get<{ items: { number: string }[] }>("/api/extensions");
      eq(items.map((e) => e.number), ["201"]);
      const kept = [...Deno.readDirSync(dataDir)].filter((e) =>
        e.name.startsWith("pbx.sqlite.before-restore-")
      );
      eq(kept.length, 1, "the replaced database is kept");
      eq([...Deno.readFileSync(`${dataDir}/voicemail/201/kept.wav`)], [82, 73, 70, 70]);
      ok(!/later\.wav/.test([...Deno.readDirSync(`${dataDir}/voicemail/201`)].map((e) => e.name).join()));
      ok([...Deno.readDirSync(dataDir)].some((e) => e.name.startsWith("voicemail.before-restore-")));
    } finally {
      await app.stop();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
