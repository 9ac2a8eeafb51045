/**
 * Phone keys end to end: keys set through the REST API, then the Yealink phone's file fetched
 * over real HTTP with curl carries its BLF keys, the MWI subscription and the voicemail number.
 */
import assert from "node:assert/strict";
import { hasBinary } from "../_harness/mod.ts";
import { run, startStack } from "./_fixture.ts";

Deno.test({
  name: "a Yealink fetches its file with curl and gets BLF keys, MWI and *97 set through the API",
  ignore: !hasBinary("curl"),
  async fn() {
    const stack = await startStack();
    const dir = Deno.makeTempDirSync({ prefix: "prov-keys-" });
    const ac = new AbortController();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
      (req, info) => stack.app.fetch(req, info),
    );
    try {
      stack.storage.extensions.create({ number: "202", name: "Bob", password: "bob-sip-pw-123" }, "pbx");
      stack.storage.extensions.create({ number: "203", name: "Carol", password: "carol-sip-pw-1" }, "pbx");
      const put = await stack.api("/api/phones/805ec0123456", {
        method: "PUT",
        json: {
          lineKeys: [
            { type: "blf", value: "202", label: "Bob" },
            { type: "blf", value: "203", label: "Carol" },
          ],
        },
      });
      assert.equal(put.status, 200, await put.text());
      const refused = await stack.api("/api/phones/805ec0123456", {
        method: "PUT",
        json: { lineKeys: [{ type: "blf", value: "299", label: "Nobody" }] },
      });
      assert.equal(refused.status, 409);
      const r = await run("curl", [
        "-s",
        "--max-time",
        "10",
        "-A",
        "Yealink SIP-T46S 66.86.0.15 80:5e:c0:12:34:56",
        `http://127.0.0.1:${server.addr.port}/prov/805ec0123456.cfg`,
      ], dir);
      assert.equal(r.code, 0, r.out);
      for (
        const line of [
          "linekey.2.type = 16",
          "linekey.2.value = 202",
          "linekey.2.label = Bob",
          "linekey.3.type = 16",
          "linekey.3.value = 203",
          "account.1.subscribe_mwi = 1",
          "account.1.subscribe_mwi_to_vm = 1",
          "voice_mail.number.1 = *97",
          "features.pickup.direct_pickup_code = **",
        ]
      ) assert.ok(r.out.includes(`${line}\n`), `${line} missing in:\n${r.out}`);
      assert.ok(!r.out.includes("299"));
    } finally {
      ac.abort();
      await server.finished;
      await stack.close();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
