/**
 * DTMF from a real client nobody here wrote (issue 19): linphonec as extension 201 calls a baresip
 * phone (202, auto-answer, registered with its password) through the box and types digits.
 * - With `use_info=1` linphonec sends SIP INFO: the box turns the digits into RFC 4733 events in
 *   the relayed stream's own SSRC, and baresip reports them (and no SSRC change).
 * - With only Opus enabled linphonec offers only telephone-event/48000: the box answers it, and the
 *   digits linphonec sends as RFC 4733 at 48 kHz reach the PCMU baresip phone at 8 kHz.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { hasBinary, startBaresip } from "../_harness/mod.ts";
import { EXT, type Pbx, startPbx, withLogs } from "./_setup.ts";
import { linphonec } from "./_linphonec.ts";

/** Call 202 (baresip) from linphonec, type `digits`, hang up; the digits baresip reported. */
async function digitsAtBaresip(
  pbx: Pbx,
  digits: string,
  options: { sip?: string[]; before?: [string, number][] },
): Promise<{ digits: string[]; linphonec: string; baresip: string }> {
  await using b = await startBaresip({
    user: "202",
    password: EXT["202"],
    sipPort: Number(pbx.target.split(":")[1]),
    codecs: ["PCMU"],
  });
  await b.registered(10_000);
  const out = await linphonec(pbx, [
    ...(options.before ?? []),
    [`call sip:202@${pbx.target}`, 3000],
    // linphonec sends nothing for a digit typed while its previous one is still going out (seen:
    // 400 ms apart, only the first INFO left it; the box logs every INFO it gets): 1.2 s apart.
    ...[...digits].map((d): [string, number] => [d, 1200]),
    ["terminate", 1500],
  ], options.sip ? { sip: options.sip } : {});
  const starts = b.events().filter((e) => e.type === "CALL_DTMF_START");
  return {
    digits: starts.map((e) => String((e as Record<string, unknown>).param ?? "").trim()),
    linphonec: out,
    baresip: b.logs(),
  };
}

Deno.test({
  name:
    "linphonec's DTMF reaches a baresip phone: SIP INFO as RFC 4733, and an Opus-only call's telephone-event/48000",
  ignore: !hasBinary("linphonec") || !hasBinary("baresip"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const pbx = await startPbx();
    try {
      await t.step(
        "SIP INFO digits from linphonec arrive at baresip in the stream's own SSRC",
        withLogs(pbx, async () => {
          const r = await digitsAtBaresip(pbx, "159", { sip: ["use_info=1", "use_rfc2833=0"] });
          ok(/INFO/.test(pbx.app.logs()) || r.digits.length > 0, "the box saw INFO digits");
          eq(r.digits, ["1", "5", "9"], `baresip saw ${r.digits}; linphonec: ${r.linphonec.slice(-1500)}`);
          eq(pbx.app.logs().match(/dtmf .*source=info sent=rfc4733/g)?.length, 3, "the box got three INFOs");
          ok(!/SSRC changed/i.test(r.baresip), "baresip logged an SSRC change");
        }),
      );
      await t.step(
        "an Opus-only linphonec (telephone-event/48000 only) sends digits baresip receives",
        withLogs(pbx, async () => {
          // Leave Opus alone: speex 16k/8k, PCMU, PCMA and G.729 off (indexes of `codec list`).
          const off = [1, 2, 3, 4, 7].map((i): [string, number] => [`codec disable ${i}`, 100]);
          const r = await digitsAtBaresip(pbx, "24", { before: [...off, ["codec list", 200]] });
          ok(/0: opus \(48000\) enabled/.test(r.linphonec), r.linphonec.slice(0, 1500));
          ok(/3: PCMU \(8000\) disabled/.test(r.linphonec), "PCMU disabled in linphonec");
          eq(r.digits, ["2", "4"], `baresip saw ${r.digits}; box log: ${pbx.app.logs().slice(-1500)}`);
        }),
      );
    } finally {
      await pbx.app.stop();
    }
  },
});
