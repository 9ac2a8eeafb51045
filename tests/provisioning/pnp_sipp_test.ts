/**
 * SIP plug-and-play with a real peer: sipp plays a Yealink sending the ua-profile SUBSCRIBE
 * (unicast to the box's SIP port, the way the multicast one is handled once received) and must
 * get 200 OK, then a NOTIFY carrying the provisioning URL, which it answers.
 */
import assert from "node:assert/strict";
import { hasBinary, runSipp } from "../_harness/mod.ts";
import { startStack } from "./_fixture.ts";

const SCENARIO = new URL("./pnp_subscribe.xml", import.meta.url).pathname;

Deno.test({
  name:
    "a ua-profile SUBSCRIBE from sipp gets 200 and a NOTIFY with the provisioning URL; the phone is discovered",
  ignore: !hasBinary("sipp"),
  async fn() {
    const stack = await startStack({ sip: true });
    try {
      const r = await runSipp({
        scenario: SCENARIO,
        target: `127.0.0.1:${stack.sipPort}`,
        keys: { mac: "805ec0999999" },
        timeoutSec: 15,
      });
      assert.ok(r.ok, `sipp failed (${r.code}):\n${r.errors}\n${r.output}\n${r.messages}`);
      assert.match(r.messages, /NOTIFY sip:127\.0\.0\.1:\d+ SIP\/2\.0/);
      assert.match(r.messages, /Content-Type: application\/url/);
      assert.match(r.messages, /Subscription-State: terminated;reason=timeout/);
      assert.ok(r.messages.includes("http://127.0.0.1:8080/prov/"), r.messages);
      assert.match(r.logs, /PnP URL http:\/\/127\.0\.0\.1:8080\/prov\//);
      const d = stack.storage.devices.get("805ec0999999");
      assert.equal(d?.status, "discovered");
      assert.equal(d?.vendor, "yealink");
      assert.equal(d?.model, "T46S");
    } finally {
      await stack.close();
    }
  },
});
