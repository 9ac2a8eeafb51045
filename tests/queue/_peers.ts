/**
 * Helpers of the queue e2e tests: sipp callees whose media is a Deno RtpPeer, one that waits for
 * the box's BYE and one that hangs up itself, and a seeded periodic noise (a known signal that
 * correlates with nothing but itself; the period lets any window be found whenever it started).
 */
import { type Appliance, type SippResult, startSipp } from "../_harness/mod.ts";
import { registerFor, RtpPeer, uasScenario } from "../media/_support.ts";

/** A PCMU sipp callee registered as `user`; with `hangupAfterMs` it sends BYE that long after the ACK. */
export async function pcmuCallee(
  app: Appliance,
  user: string,
  o: { hangupAfterMs?: number } = {},
): Promise<{ peer: RtpPeer; done: Promise<SippResult> } & AsyncDisposable> {
  const peer = await RtpPeer.open();
  const dir = await Deno.makeTempDir({ prefix: "queue-uas-" });
  const scenario = `${dir}/uas.xml`;
  let xml = uasScenario(["0 PCMU/8000"]);
  if (o.hangupAfterMs !== undefined) {
    xml = xml.replace(
      /<recv request="INVITE" crlf="true" \/>/,
      `<recv request="INVITE" crlf="true" rrs="true">
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" check_it="true" assign_to="remote_from" />
      <ereg regexp=".*" search_in="hdr" header="To:" check_it="true" assign_to="local_to" />
    </action>
  </recv>`,
    ).replace(
      /<recv request="BYE" \/>[\s\S]*<\/scenario>/,
      `<pause milliseconds="${o.hangupAfterMs}" />
  <send retrans="500">
    <![CDATA[

      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      Max-Forwards: 70
      From: [$local_to];tag=[pid]SIPpTag01[call_number]
      To: [$remote_from]
      Call-ID: [call_id]
      CSeq: 1 BYE
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true" />
  <Reference variables="remote_from,local_to" />
</scenario>
`,
    );
  }
  await Deno.writeTextFile(scenario, xml);
  const uas = await startSipp({ scenario, keys: { rtp_port: String(peer.port) }, timeoutSec: 90 });
  await registerFor(app, user, uas.localPort);
  return {
    peer,
    done: uas.done,
    async [Symbol.asyncDispose]() {
      await peer.close();
      await uas.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Seeded noise repeating every `periodSec`. */
export function periodicNoise(seed: number, rate: number, seconds: number, periodSec: number): Int16Array {
  const period = new Int16Array(Math.round(rate * periodSec));
  let x = seed >>> 0;
  for (let i = 0; i < period.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    period[i] = ((x >>> 16) & 0x7fff) - 0x4000;
  }
  const out = new Int16Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = period[i % period.length]!;
  return out;
}
