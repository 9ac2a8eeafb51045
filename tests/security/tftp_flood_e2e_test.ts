/**
 * TFTP abuse (issue 18, section 5 and "Also"): one host's un-ACKed requests cannot hold every
 * session, and a source that never ACKs (a forged one) gets back little more than it sent.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import type { Buffer } from "node:buffer";
import { hasBinary } from "../_harness/mod.ts";
import { encodeRequest } from "../../provisioning/tftp/mod.ts";
import { atftpGet, PHONES, startStack } from "../provisioning/_fixture.ts";

Deno.test({
  name: "210 un-ACKed timeout=255 requests from one host leave room for atftp on another; replies stay small",
  ignore: !hasBinary("atftp"),
  async fn() {
    const stack = await startStack();
    const dir = Deno.makeTempDirSync({ prefix: "tftp-flood-" });
    const socks: dgram.Socket[] = [];
    const got = { packets: 0, bytes: 0, sent: 0 };
    try {
      const file = PHONES[0]!.file;
      for (let i = 0; i < 210; i++) {
        const s = dgram.createSocket("udp4");
        s.on("message", (m: Buffer) => {
          got.packets++;
          got.bytes += m.byteLength;
        });
        await new Promise<void>((r) => s.bind(0, "127.0.0.2", () => r()));
        const req = encodeRequest("rrq", file, { options: { timeout: "255", blksize: "65464" } });
        got.sent += req.length;
        s.send(req, stack.prov.tftpPort, "127.0.0.1");
        socks.push(s);
      }
      for (let i = 0; i < 500 && got.packets < 210; i++) await new Promise((r) => setTimeout(r, 10));
      // A phone on 127.0.0.1 still gets its file, with a real client.
      const r = await atftpGet(stack.prov.tftpPort, file, dir);
      assert.ok(r.text !== null, r.log);
      // One small reply (an OACK or a busy error) per request, nothing retransmitted meanwhile.
      await new Promise((r) => setTimeout(r, 1500));
      assert.ok(got.packets <= 210, JSON.stringify(got));
      assert.ok(got.bytes <= 3 * got.sent, JSON.stringify(got));
    } finally {
      for (const s of socks) s.close();
      Deno.removeSync(dir, { recursive: true });
      await stack.close();
    }
  },
});
