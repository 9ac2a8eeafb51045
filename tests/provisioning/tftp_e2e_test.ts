/**
 * Phones fetching their files over TFTP from the real server with real clients (atftp with
 * blksize/tsize options, tftp-hpa without), against storage in a temp dir.
 */
import assert from "node:assert/strict";
import { hasBinary } from "../_harness/mod.ts";
import { ALICE_PASSWORD, atftpGet, hpaGet, PHONES, startStack } from "./_fixture.ts";

const ignore = !hasBinary("atftp") || !hasBinary("tftp");

Deno.test({
  name:
    "every vendor's file for an assigned MAC carries the extension's credentials and the box address (atftp and tftp-hpa)",
  ignore,
  async fn() {
    const stack = await startStack();
    const dir = Deno.makeTempDirSync({ prefix: "tftp-e2e-" });
    try {
      for (const p of PHONES) {
        for (const get of [atftpGet, hpaGet]) {
          const r = await get(stack.prov.tftpPort, p.file, dir, `${p.mac}-${get.name}`);
          assert.ok(r.text !== null, `${get.name} ${p.file}: ${r.log}`);
          assert.ok(r.text.includes(ALICE_PASSWORD), `${p.vendor} file lacks the SIP password:\n${r.text}`);
          assert.ok(r.text.includes("127.0.0.1"), `${p.vendor} file lacks the box address`);
          assert.ok(r.text.includes("201"), `${p.vendor} file lacks the extension`);
        }
        const d = stack.storage.devices.get(p.mac)!;
        assert.equal(d.lastFetch?.file, p.file, "the fetch is recorded on the device");
        assert.equal(d.lastFetch?.ip, "127.0.0.1");
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
      await stack.close();
    }
  },
});

Deno.test({
  name: "an unassigned MAC gets a file without secrets and shows up as discovered in GET /api/phones",
  ignore,
  async fn() {
    const stack = await startStack();
    const dir = Deno.makeTempDirSync({ prefix: "tftp-e2e-" });
    try {
      const r = await atftpGet(stack.prov.tftpPort, "001565999999.cfg", dir);
      assert.ok(r.text !== null, r.log);
      assert.ok(!r.text.includes(ALICE_PASSWORD));
      assert.match(r.text, /account\.1\.enable = 0/);
      const res = await stack.api("/api/phones?status=discovered");
      assert.equal(res.status, 200);
      const body = await res.json() as {
        items: { mac: string; vendor: string; status: string; lastFetch: { ip: string } }[];
      };
      assert.deepEqual(body.items.map((d) => [d.mac, d.vendor, d.status, d.lastFetch.ip]), [
        ["001565999999", "yealink", "discovered", "127.0.0.1"],
      ]);
      // Assigning it through the API makes the next fetch carry credentials.
      const assign = await stack.api("/api/phones/00:15:65:99:99:99/assign", {
        method: "POST",
        json: { extension: "201" },
      });
      assert.equal(assign.status, 200);
      const again = await hpaGet(stack.prov.tftpPort, "001565999999.cfg", dir);
      assert.ok(again.text?.includes(ALICE_PASSWORD), again.log);
    } finally {
      Deno.removeSync(dir, { recursive: true });
      await stack.close();
    }
  },
});

Deno.test({
  name: "traversal and absolute paths get TFTP errors from both clients; nothing is written outside",
  ignore,
  async fn() {
    const stack = await startStack();
    const dir = Deno.makeTempDirSync({ prefix: "tftp-e2e-" });
    try {
      for (
        const bad of [
          "../../etc/passwd",
          "/etc/passwd",
          "..\\secret.key",
          "prov/../../pbx.sqlite",
          "secret.key",
        ]
      ) {
        const a = await atftpGet(stack.prov.tftpPort, bad, dir);
        assert.equal(a.text, null, `atftp got ${bad}`);
        const h = await hpaGet(stack.prov.tftpPort, bad, dir);
        assert.equal(h.text, null, `tftp-hpa got ${bad}`);
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
      await stack.close();
    }
  },
});

Deno.test({
  name: "50 concurrent atftp transfers all complete with the right file",
  ignore,
  async fn() {
    // All 50 come from 127.0.0.1: lift the per-source cap (8) that stands for one phone's address.
    const stack = await startStack({ config: { tftpMaxPerSource: 50 } });
    const dir = Deno.makeTempDirSync({ prefix: "tftp-e2e-" });
    try {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => {
          const p = PHONES[i % PHONES.length]!;
          return atftpGet(stack.prov.tftpPort, p.file, dir, `c${i}`).then((r) => ({ r, p }));
        }),
      );
      for (const { r, p } of results) {
        assert.ok(r.text !== null, `${p.file}: ${r.log}`);
        assert.ok(r.text.includes(ALICE_PASSWORD));
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
      await stack.close();
    }
  },
});

Deno.test({
  name: "HTTP /prov serves the same file as TFTP and an edited template reaches the phone",
  ignore,
  async fn() {
    const stack = await startStack();
    const dir = Deno.makeTempDirSync({ prefix: "tftp-e2e-" });
    try {
      const http = await stack.app.request("/prov/805ec0123456.cfg", {
        headers: { "user-agent": "Yealink SIP-T46S 66.86.0.15 80:5e:c0:12:34:56" },
      }, {
        remoteAddr: { hostname: "127.0.0.1" },
      });
      assert.equal(http.status, 200);
      const tftp = await atftpGet(stack.prov.tftpPort, "805ec0123456.cfg", dir);
      assert.equal(await http.text(), tftp.text);
      assert.equal(
        stack.storage.devices.get("805ec0123456")?.lastFetch?.userAgent,
        null,
        "TFTP has no User-Agent",
      );
      const put = await stack.api("/api/templates/yealink.device", {
        method: "PUT",
        json: { body: "#!version:1.0.0.1\ncustom.sip = {{ server.host }}:{{ server.sipPort }}\n" },
      });
      assert.equal(put.status, 200, await put.clone().text());
      const edited = await hpaGet(stack.prov.tftpPort, "805ec0123456.cfg", dir);
      assert.equal(edited.text, "#!version:1.0.0.1\ncustom.sip = 127.0.0.1:5060\n");
    } finally {
      Deno.removeSync(dir, { recursive: true });
      await stack.close();
    }
  },
});
