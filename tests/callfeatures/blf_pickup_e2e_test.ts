/**
 * BLF pickup the way Yealink/Polycom phones do it, through the real appliance: 203 (sipp) watches
 * 201's dialogs (SUBSCRIBE Event: dialog, RFC 4235); baresip 202 calls 201 (a sipp phone that rings
 * and never answers); the NOTIFY for 201's early dialog carries call-id, local-tag, remote-tag,
 * direction recipient and the caller as remote identity; 203 builds `Replaces: call-id;to-tag=..;
 * from-tag=..` from it and sends INVITE with Replaces (RFC 3891) playing a G.711 pcap. 201 gets
 * CANCEL, 202 is answered by 203 and hears 203's audio (correlation with the pcap), the watcher sees
 * 201's dialog terminated.
 */
import { ok } from "node:assert";
import { correlate, pcapG711, readWav, runSipp, startBaresip, startSipp, toMono } from "../_harness/mod.ts";
import { assertOk, EXT, phone, startPbx, withLogs } from "../sip/_setup.ts";

const G711A = "/usr/share/sip-tester/g711a.pcap";

const OK = `  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
`;

function subscribe(cseq: number, auth: boolean): string {
  return `  <send retrans="500">
    <![CDATA[

      SUBSCRIBE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Max-Forwards: 70
      From: <sip:[user]@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: ${cseq} SUBSCRIBE
      Contact: <sip:[user]@[local_ip]:[local_port];transport=[transport]>
      Event: dialog
      Accept: application/dialog-info+xml
      Expires: 120
${auth ? "      [authentication]\n" : ""}      Content-Length: 0

    ]]>
  </send>
  <recv response="100" optional="true" />
`;
}

/**
 * The BLF watcher: SUBSCRIBE to [service]'s dialogs; on the NOTIFY with an early recipient dialog it
 * writes that dialog's Replaces value to `file`; it ends on the NOTIFY that terminates it.
 */
function watcherScenario(file: string): string {
  const early = "call-id=&quot;([^&quot;]+)&quot; local-tag=&quot;([^&quot;]+)&quot; " +
    "remote-tag=&quot;([^&quot;]+)&quot; direction=&quot;recipient&quot;&gt;&lt;state&gt;early" +
    "&lt;/state&gt;.*&lt;remote&gt;&lt;identity&gt;sip:202@";
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="blf watcher">
${subscribe(1, false)}  <recv response="401" auth="true" />
${subscribe(2, true)}  <recv response="200" />
  <label id="more" />
  <recv request="NOTIFY">
    <action>
      <ereg regexp="${early}" search_in="body" check_it="false" assign_to="seen,cid,ltag,rtag" />
      <ereg regexp="&lt;state&gt;terminated&lt;/state&gt;" search_in="body" check_it="false"
        assign_to="gone" />
    </action>
  </recv>
${OK}  <nop condexec="seen">
    <action>
      <exec command="echo '[$cid];to-tag=[$ltag];from-tag=[$rtag]' > ${file}" />
    </action>
  </nop>
  <nop next="done" test="gone" />
  <nop next="more" />
  <label id="done" />
  <Reference variables="seen,cid,ltag,rtag,gone" />
</scenario>
`;
}

/** uac_call_pcap.xml (PCMA pcap, 7.5 s, then BYE) with `Replaces: [replaces]` on its INVITEs. */
function pickerScenario(): string {
  return Deno.readTextFileSync(new URL("../sipp/uac_call_pcap.xml", import.meta.url))
    .replace(/CSeq: ([12]) INVITE/g, "CSeq: $1 INVITE\n      Replaces: [replaces]");
}

async function waitForFile(path: string, timeoutMs = 15_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const text = Deno.readTextFileSync(path).trim();
      if (text.length > 0) return text;
    } catch {
      // not yet
    }
    if (Date.now() > until) throw new Error(`${path} was not written`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test({
  name: "BLF pickup: dialog NOTIFY with early state and tags, INVITE with Replaces from it, caller bridged",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const pbx = await startPbx();
    const tmp = await Deno.makeTempDir({ prefix: "blf-pickup-" });
    try {
      await withLogs(pbx, async () => {
        const host = pbx.target;
        Deno.writeTextFileSync(`${tmp}/watcher.xml`, watcherScenario(`${tmp}/replaces`));
        Deno.writeTextFileSync(`${tmp}/picker.xml`, pickerScenario());
        await using ringing = await phone(pbx, "201", "uas_ring_no_answer.xml");
        await using watcher = await startSipp({
          scenario: `${tmp}/watcher.xml`,
          target: host,
          user: "203",
          password: EXT["203"],
          service: "201",
          timeoutSec: 40,
        });
        await using caller = await startBaresip({
          user: "202",
          password: EXT["202"],
          sipPort: pbx.app.sipPort,
          codecs: ["PCMA"],
        });
        await caller.registered();
        await caller.dial(`sip:201@${host}`);
        const replaces = await waitForFile(`${tmp}/replaces`);
        ok(/^[^;]+;to-tag=[^;]+;from-tag=[^;]+$/.test(replaces), replaces);
        const picked = await runSipp({
          scenario: `${tmp}/picker.xml`,
          target: host,
          user: "203",
          password: EXT["203"],
          service: "201",
          keys: { replaces },
          timeoutSec: 40,
        });
        assertOk(picked, "203 picked 201's ringing call up with Replaces, talked, hung up");
        assertOk(await ringing.done, "201 got CANCEL");
        assertOk(await watcher.done, "the watcher saw 201's early dialog, then its end");
        ok(/ringing call picked up/.test(pbx.app.logs()), "pickup logged");
        await caller.waitForEvent("CALL_CLOSED", 10_000);
        await caller.stop();
        // 202 heard 203: the pcap's signal is in what baresip decoded (best of three 1 s windows).
        const rec = await caller.recordings();
        const heard = toMono(await readWav(rec.received.at(-1)!));
        const reference = await pcapG711(G711A);
        const corr = Math.max(
          ...[8000, 16000, 24000].map((at) =>
            correlate(reference.subarray(at, at + 8000), heard, {
              maxLagSamples: heard.length,
              minOverlap: 8000,
            })
              .maxCorr
          ),
        );
        console.log(`Replaces ${replaces}; correlation ${corr.toFixed(3)}`);
        ok(corr > 0.8, `203's audio reached 202: correlation ${corr.toFixed(3)}`);
      })();
    } finally {
      await pbx.app.stop();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});
