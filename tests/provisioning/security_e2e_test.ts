/**
 * Issue 18 section 3 against the real clients: atftp and curl fetch from the real TFTP server and
 * the web app served by Deno.serve (HTTP and HTTPS with the box's own certificate).
 */
import assert from "node:assert/strict";
import { hasBinary } from "../_harness/mod.ts";
import { ensureCertificate } from "../../appliance/_tls.ts";
import { ALICE_PASSWORD, atftpGet, PHONES, run, startStack } from "./_fixture.ts";

const ignore = !hasBinary("atftp") || !hasBinary("curl");
const YEALINK = PHONES[0];

/** Serve the stack's app on 127.0.0.1 (HTTP, or HTTPS with `cert`); returns the port and a stop. */
function serve(
  app: { fetch: (r: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response> },
  cert?: { cert: string; key: string },
) {
  const ac = new AbortController();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onListen: () => {},
    ...cert,
  }, (req, info) => app.fetch(req, info));
  return {
    port: server.addr.port,
    stop: async () => {
      ac.abort();
      await server.finished;
    },
  };
}

async function curl(args: string[], dir: string): Promise<{ status: number; body: string }> {
  const r = await run("curl", [
    "-s",
    "-k",
    "-o",
    `${dir}/body`,
    "-w",
    "%{http_code}",
    "--max-time",
    "10",
    ...args,
  ], dir);
  let body = "";
  try {
    body = await Deno.readTextFile(`${dir}/body`);
  } catch { /* no body */ }
  return { status: Number(r.out.trim().slice(-3)), body };
}

Deno.test({
  name:
    "outside the window TFTP refuses the file with the SIP password but serves the common file; assigning opens it (atftp)",
  ignore,
  async fn() {
    const stack = await startStack({ openWindows: false });
    const dir = Deno.makeTempDirSync({ prefix: "prov-sec-" });
    try {
      const closed = await atftpGet(stack.prov.tftpPort, YEALINK.file, dir, "a");
      assert.equal(closed.text, null, `served outside the window: ${closed.text}`);
      const common = await atftpGet(stack.prov.tftpPort, "y000000000000.cfg", dir, "b");
      assert.ok(common.text?.includes("#!version"), common.log);
      const res = await stack.api(`/api/phones/${YEALINK.mac}/assign`, {
        method: "POST",
        json: { extension: "201" },
      });
      assert.equal(res.status, 200);
      const body = await res.json() as { provisioningOpenUntil: number };
      assert.ok(body.provisioningOpenUntil > Date.now());
      const open = await atftpGet(stack.prov.tftpPort, YEALINK.file, dir, "c");
      assert.ok(open.text?.includes(ALICE_PASSWORD), open.log);
      // Closing it again (0 minutes) shuts TFTP again.
      await (await stack.api(`/api/phones/${YEALINK.mac}/open-window`, {
        method: "POST",
        json: { minutes: 0 },
      })).body?.cancel();
      assert.equal((await atftpGet(stack.prov.tftpPort, YEALINK.file, dir, "d")).text, null);
    } finally {
      Deno.removeSync(dir, { recursive: true });
      await stack.close();
    }
  },
});

Deno.test({
  name:
    "outside the window curl needs the phone's Digest credentials over HTTPS; the phone book needs credentials (curl)",
  ignore,
  async fn() {
    const stack = await startStack({ openWindows: false });
    const dir = Deno.makeTempDirSync({ prefix: "prov-sec-" });
    const tls = await ensureCertificate({ dataDir: stack.dataDir, hostnames: ["127.0.0.1", "localhost"] });
    const http = serve(stack.app);
    assert.ok(tls !== null || !hasBinary("openssl"), "the box could not make its certificate");
    const https = tls ? serve(stack.app, { cert: tls.certPem, key: tls.keyPem }) : null;
    try {
      const put = await stack.api(`/api/phones/${YEALINK.mac}`, {
        method: "PUT",
        json: { httpUser: "desk1", httpPassword: "desk-pw-1" },
      });
      assert.equal(put.status, 200);
      await put.body?.cancel();
      const url = (port: number, s = "http") => `${s}://127.0.0.1:${port}/prov/${YEALINK.file}`;
      const anon = await curl([url(http.port)], dir);
      assert.equal(anon.status, 401);
      const plain = await curl(["--digest", "-u", "desk1:desk-pw-1", url(http.port)], dir);
      assert.equal(plain.status, 403);
      assert.match(plain.body, /HTTPS/);
      assert.ok(!plain.body.includes(ALICE_PASSWORD));
      if (https) {
        const ok = await curl(["--digest", "-u", "desk1:desk-pw-1", url(https.port, "https")], dir);
        assert.equal(ok.status, 200, ok.body);
        assert.ok(ok.body.includes(ALICE_PASSWORD));
      }
      const book = `http://127.0.0.1:${http.port}/prov/phonebook/yealink`;
      const noCreds = await curl([book], dir);
      assert.equal(noCreds.status, 401);
      assert.ok(!noCreds.body.includes("Alice"));
      const withCreds = await curl(["--digest", "-u", "desk1:desk-pw-1", book], dir);
      assert.equal(withCreds.status, 200);
      assert.ok(withCreds.body.includes("Alice"));
      const allow = await stack.api("/api/phones/security", {
        method: "PUT",
        json: { phonebookNetworks: ["127.0.0.0/8"] },
      });
      assert.equal(allow.status, 200);
      await allow.body?.cancel();
      assert.equal((await curl([book], dir)).status, 200, "an allowed network reads it without credentials");
    } finally {
      await http.stop();
      await https?.stop();
      Deno.removeSync(dir, { recursive: true });
      await stack.close();
    }
  },
});

Deno.test({
  name: "a source guessing MACs is blocked (curl 429, atftp refused), listed in the API and unblocked",
  ignore,
  async fn() {
    const stack = await startStack({ guard: { maxMisses: 5 } });
    const dir = Deno.makeTempDirSync({ prefix: "prov-sec-" });
    const http = serve(stack.app);
    try {
      const codes: number[] = [];
      for (let i = 0; i < 8; i++) {
        codes.push((await curl([`http://127.0.0.1:${http.port}/prov/0015650000${10 + i}.cfg`], dir)).status);
      }
      assert.deepEqual(codes, [200, 200, 200, 200, 200, 429, 429, 429]);
      assert.equal(stack.storage.devices.count("discovered"), 5, "blocked guesses discover nothing");
      // TFTP shares the block: even the phone's own file is refused to this address now.
      assert.equal((await atftpGet(stack.prov.tftpPort, YEALINK.file, dir)).text, null);
      const list = await stack.api("/api/phones/blocks");
      const items = (await list.json() as { items: { address: string; misses: number }[] }).items;
      assert.deepEqual(items.map((b) => b.address), ["127.0.0.1"]);
      const un = await stack.api("/api/phones/blocks/127.0.0.1", { method: "DELETE" });
      assert.equal(un.status, 204);
      const again = await atftpGet(stack.prov.tftpPort, YEALINK.file, dir, "again");
      assert.ok(again.text?.includes(ALICE_PASSWORD), again.log);
    } finally {
      await http.stop();
      Deno.removeSync(dir, { recursive: true });
      await stack.close();
    }
  },
});
