/**
 * Self-test of the sipp harness and the scenarios in tests/sipp, without the appliance: the
 * scenarios load, and the digest/call flows run against fake peers in tests/_harness/sipp_fakes.
 */
import { ok } from "node:assert/strict";
import { describeSipp, runSipp, SIPP_SCENARIO_DIR, startSipp } from "./sipp.ts";
import { hasBinary } from "./process.ts";
import { freeUdpPort } from "./ports.ts";

const haveSipp = hasBinary("sipp");
if (!haveSipp) console.warn("harness_sipp_test: sipp not installed (apt-get install sip-tester); skipping");
const FAKES = new URL("./sipp_fakes/", import.meta.url).pathname;
const CREDENTIALS = "SEQUENTIAL\n1001;s3cret-pass\n";

Deno.test({
  name: "every scenario in tests/sipp loads in sipp (runs until its timeout against a dead port)",
  ignore: !haveSipp,
  async fn() {
    const dead = await freeUdpPort();
    const files = [...Deno.readDirSync(SIPP_SCENARIO_DIR)].filter((e) => e.name.endsWith(".xml"));
    ok(files.length >= 12, `only ${files.length} scenarios`);
    await Promise.all(files.map(async ({ name }) => {
      const r = await runSipp({
        scenario: name,
        target: `127.0.0.1:${dead}`,
        user: "1001",
        password: "x",
        service: "2002",
        timeoutSec: 1,
        // Keywords the SUBSCRIBE scenarios take from their tests.
        keys: {
          event: "presence",
          accept: "application/pidf+xml",
          expires: "60",
          refer_to: "sip:203@127.0.0.1",
          moh_port: "4000",
          se: "90",
        },
      });
      ok(/timed out/.test(r.errors), `${name} did not load:\n${describeSipp(r)}`);
    }));
  },
});

Deno.test({
  name: "register_auth.xml answers a qop=auth digest challenge that the registrar verifies",
  ignore: !haveSipp,
  async fn() {
    await using registrar = await startSipp({
      scenario: FAKES + "fake_registrar.xml",
      injectionCsv: CREDENTIALS,
    });
    const r = await runSipp({
      scenario: "register_auth.xml",
      target: registrar.address,
      user: "1001",
      password: "s3cret-pass",
    });
    ok(r.ok && r.successful === 1, describeSipp(r));
    const fake = await registrar.done;
    ok(fake.ok, describeSipp(fake));
    ok(/Contact: <sip:1001@127\.0\.0\.1:\d+/.test(r.messages));
  },
});

Deno.test({
  name: "register_wrong_password.xml succeeds when the registrar refuses the digest",
  ignore: !haveSipp,
  async fn() {
    await using registrar = await startSipp({
      scenario: FAKES + "fake_registrar.xml",
      injectionCsv: CREDENTIALS,
    });
    const r = await runSipp({
      scenario: "register_wrong_password.xml",
      target: registrar.address,
      user: "1001",
      password: "wrong",
    });
    ok(r.ok, describeSipp(r));
    ok(r.messages.includes("403 Forbidden"), describeSipp(r));
    ok((await registrar.done).ok);
  },
});

Deno.test({
  name: "uac_call_pcap.xml authenticates its INVITE, plays g711a.pcap and hangs up",
  ignore: !haveSipp,
  async fn() {
    await using callee = await startSipp({
      scenario: FAKES + "fake_pbx_callee.xml",
      injectionCsv: CREDENTIALS,
    });
    const r = await runSipp({
      scenario: "uac_call_pcap.xml",
      target: callee.address,
      user: "1001",
      password: "s3cret-pass",
      service: "2002",
    });
    ok(r.ok && r.successful === 1, describeSipp(r));
    const fake = await callee.done;
    ok(fake.ok, describeSipp(fake));
    ok(/INVITE sip:2002@127\.0\.0\.1/.test(r.messages));
    ok(/Authorization: Digest .*username="1001"/.test(r.messages), describeSipp(r));
  },
});

Deno.test({
  name: "uas_answer.xml answers sipp's built-in caller and takes its BYE",
  ignore: !haveSipp,
  async fn() {
    await using uas = await startSipp({ scenario: "uas_answer.xml" });
    const caller = await runSipp({ scenario: "sn:uac", target: uas.address, service: "1001" });
    ok(caller.ok, describeSipp(caller));
    const r = await uas.done;
    ok(r.ok && r.successful === 1, describeSipp(r));
  },
});
