/**
 * Brute force against the real appliance with sipvicious (svcrack), spoofed and malformed packets
 * from small scripts, and sipp as the real phone: the extension's authentication locks after N
 * failures even from an allow-listed network, the lockout is listed and lifted over the API, it
 * lands in the audit log, fail2ban lines are written, a flood of bad packets does not flush the
 * security lines out of the in-memory log, and OPTIONS / REGISTER answers carry a To tag.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import dgram from "node:dgram";
import { assertOk, register, startPbx } from "./_setup.ts";
import { runSipp } from "../_harness/mod.ts";
import { request, statusOf, udpExchange } from "./_raw.ts";

const has = (tool: string) =>
  new Deno.Command("sh", { args: ["-c", `command -v ${tool}`], stdout: "null" }).outputSync().success;
const hasSvcrack = has("svcrack");

interface Block {
  kind: string;
  key: string;
}

Deno.test({
  name: "svcrack on one extension ends in its lockout (allow-listed source), listed, audited, unblocked",
  ignore: !hasSvcrack,
  async fn() {
    const pbx = await startPbx({ PBX_AUTH_EXT_LOCK_AFTER: "10", PBX_AUTH_BLOCK_AFTER: "1000" });
    const dir = await Deno.makeTempDir({ prefix: "pbx-svcrack-" });
    try {
      // The office network: never blocked by source, but the extension lockout still applies.
      await pbx.api.put("/api/security/allow-list", { networks: ["127.0.0.0/8"] });
      // The right password is the 15th guess: after 10 failures the extension refuses even it.
      const words = Array.from({ length: 14 }, (_, i) => `wrong-guess-${i}`);
      words.push("Tiger-Lake-91", "more-1", "more-2");
      await Deno.writeTextFile(`${dir}/dict.txt`, words.join("\n") + "\n");
      const out = await new Deno.Command("svcrack", {
        args: [
          "-u",
          "201",
          "-d",
          `${dir}/dict.txt`,
          "-p",
          String(pbx.app.sipPort),
          "--maximumtime=5",
          "127.0.0.1",
        ],
        stdout: "piped",
        stderr: "piped",
        cwd: dir,
        env: { HOME: dir },
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      ok(!text.includes("Tiger-Lake-91"), `svcrack must not find the password:\n${text}`);

      const { items } = await pbx.api.get<{ items: Block[] }>("/api/security/blocks");
      ok(items.some((b) => b.kind === "sip-extension" && b.key === "201"), JSON.stringify(items));
      ok(!items.some((b) => b.kind === "sip-source"), "the allow-listed source is not blocked");
      const audit = await pbx.api.get<{ items: { action: string; sourceIp?: string }[] }>(
        "/api/audit?action=security.sip.extension-locked",
      );
      eq(audit.items.length, 1);
      const logs = pbx.app.logs();
      ok(/SECURITY auth-failure src=127\.0\.0\.1 user=201 method=REGISTER reason=wrong-password/.test(logs));
      ok(/SECURITY extension-locked src=127\.0\.0\.1 user=201 /.test(logs));
      if (has("fail2ban-regex")) {
        // The example filter from docs/security.md matches the box's own lines.
        const doc = await Deno.readTextFile(new URL("../../docs/security.md", import.meta.url));
        const filter = /filter\.d\/pbx\.conf`\):\n\n```ini\n([\s\S]*?)```/.exec(doc)?.[1];
        ok(filter, "docs/security.md has the fail2ban filter");
        await Deno.writeTextFile(`${dir}/filter.conf`, filter);
        await Deno.writeTextFile(`${dir}/pbx.log`, logs);
        const r = await new Deno.Command("fail2ban-regex", {
          args: [`${dir}/pbx.log`, `${dir}/filter.conf`],
          stdout: "piped",
          stderr: "piped",
        }).output();
        const report = new TextDecoder().decode(r.stdout);
        const matched = Number(/(\d+) matched/.exec(report)?.[1] ?? 0);
        ok(matched >= 10, `fail2ban-regex matched ${matched} lines:\n${report}`);
      }

      // The real phone cannot register while locked; another extension can.
      const locked = await register(pbx, "201", 5990);
      ok(!locked.ok && locked.messages.includes("403"), "locked extension gets 403");
      assertOk(await register(pbx, "202", 5991), "another extension");
      await pbx.api.del("/api/security/blocks/sip-extension/201");
      assertOk(await register(pbx, "201", 5990), "after unblock");
    } finally {
      await pbx.app.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("spoofed credentials, a malformed flood and the To tag", async (t) => {
  const pbx = await startPbx({ PBX_AUTH_BLOCK_AFTER: "5" });
  const port = pbx.app.sipPort;
  try {
    await t.step("OPTIONS and REGISTER answers carry a To tag (RFC 3261 8.2.6.2)", async () => {
      const options = await udpExchange(port, request("OPTIONS", port));
      eq(statusOf(options), 200);
      ok(/^To: [^\r\n]*;tag=[0-9a-f]+/m.test(options!), options);
      const reg = await udpExchange(port, request("REGISTER", port, ["Contact: <sip:201@127.0.0.1:9>"]));
      eq(statusOf(reg), 401);
      ok(/^To: [^\r\n]*;tag=[0-9a-f]+/m.test(reg!), reg);
    });

    await t.step("20 REGISTERs with a forged nonce do not block the phone's address", async () => {
      for (let i = 0; i < 20; i++) {
        const auth = `Authorization: Digest username="201", realm="pbx", nonce="${"A".repeat(30)}", ` +
          `uri="sip:127.0.0.1", response="${"0".repeat(32)}", algorithm=MD5`;
        eq(statusOf(await udpExchange(port, request("REGISTER", port, [auth]))), 401);
      }
      assertOk(await register(pbx, "201", 5992), "the real phone still registers");
      const { items } = await pbx.api.get<{ items: Block[] }>("/api/security/blocks");
      eq(items, []);
    });

    await t.step("6,000 malformed packets do not flush the security lines from the log", async () => {
      // One counted failure (wrong password with a real challenge) and a block, for the log.
      for (let i = 0; i < 5; i++) {
        await runSipp({
          scenario: "register_wrong_password.xml",
          target: pbx.target,
          user: "202",
          password: "bad-one",
        });
      }
      await pbx.app.waitForLog(/SECURITY source-blocked src=127\.0\.0\.1/, 5000);
      const sock = dgram.createSocket("udp4");
      await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
      const junk = new TextEncoder().encode("NOT SIP AT ALL\r\n\r\n");
      for (let i = 0; i < 6000; i++) {
        await new Promise<void>((r) => sock.send(junk, port, "127.0.0.1", () => r()));
        // Paced, so the box's socket buffer does not drop most of them.
        if (i % 100 === 99) await new Promise((r) => setTimeout(r, 25));
      }
      sock.close();
      // Datagrams are handled in order: once this is answered, the flood has been through the log.
      // (The socket buffer may drop some of the flood, and the probe: ask again until answered.)
      let answered: number | undefined;
      for (let i = 0; i < 10 && answered === undefined; i++) {
        answered = statusOf(await udpExchange(port, request("OPTIONS", port), 1000));
      }
      eq(answered, 200);
      const res = await pbx.api.get<{ lines: string[] }>("/api/system/logs?lines=1000");
      const lines = res.lines;
      ok(lines.some((l) => /SECURITY source-blocked src=127\.0\.0\.1/.test(l)), "block still in the log");
      ok(
        lines.some((l) => /SECURITY auth-failure src=127\.0\.0\.1 user=202/.test(l)),
        "failure still in the log",
      );
      const flood = lines.filter((l) => l.includes("unparsable SIP message")).length;
      ok(flood < 1000, `the flood is rate-limited: ${flood} lines`);
      ok(flood >= 20, `the flood reached the log: ${flood} lines`);
      const audit = await pbx.api.get<{ items: unknown[] }>("/api/audit?action=security.sip.source-blocked");
      eq(audit.items.length, 1, "and the block is in the audit log");
      eq(pbx.app.status(), undefined, "the box is still running");
    });
  } finally {
    await pbx.app.stop();
  }
});
