import assert from "node:assert/strict";
import { openStorage } from "./storage.ts";

const CHILD = new URL("./_crash_child.ts", import.meta.url).pathname;

Deno.test({
  name: "after kill -9 at a random point every acknowledged write is present on reopen",
  async fn() {
    const dataDir = Deno.makeTempDirSync({ prefix: "pbx-crash-test-" });
    try {
      for (let round = 0; round < 3; round++) {
        const roundDir = `${dataDir}/r${round}`;
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "--quiet", "--allow-read", "--allow-write", CHILD, roundDir],
          stdout: "piped",
          stderr: "null",
          stdin: "null",
        }).spawn();
        // Kill after a random number of acknowledged lines, so the kill lands mid-write.
        const killAfter = 200 + Math.floor(Math.random() * 2000);
        const lines: string[] = [];
        let buf = "";
        let killed = false;
        const dec = new TextDecoder();
        for await (const chunk of child.stdout) {
          buf += dec.decode(chunk, { stream: true });
          const parts = buf.split("\n");
          buf = parts.pop()!;
          lines.push(...parts);
          if (!killed && lines.length >= killAfter) {
            child.kill("SIGKILL");
            killed = true;
          }
        }
        const status = await child.status;
        assert.equal(status.signal, "SIGKILL", "child ended by our kill, not by an error");
        assert.equal(lines[0], "ready");
        const cdrIds = lines.filter((l) => l.startsWith("cdr ")).map((l) => Number(l.slice(4)));
        const contacts = lines.filter((l) => l.startsWith("binding ")).map((l) => l.slice(8));
        assert.ok(cdrIds.length > 10 && contacts.length > 10);

        const s = openStorage({ dataDir: roundDir });
        try {
          const haveCdr = new Set(s.cdr.list({ limit: 100_000 }).map((r) => r.id));
          for (const id of cdrIds) assert.ok(haveCdr.has(id), `acknowledged CDR ${id} lost`);
          const haveBinding = new Set(s.locations.listAll(0).map((b) => b.contactUri));
          for (const c of contacts) assert.ok(haveBinding.has(c), `acknowledged binding ${c} lost`);
          assert.equal(
            (s.db.prepare("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check,
            "ok",
          );
        } finally {
          s.close();
        }
      }
    } finally {
      Deno.removeSync(dataDir, { recursive: true });
    }
  },
});
