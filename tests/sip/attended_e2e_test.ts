/**
 * Attended transfer (REFER with Replaces, RFC 3891 / RFC 5589) through the real appliance, sipp on
 * every side. The transferor 201 has two calls through the box (two sipp processes): one to 202,
 * one to 203; it REFERs one call with a Replaces naming its dialog in the other, and the box joins
 * 202 and 203. Three message orders: (1) 201 holds 202 (re-INVITE sendonly), consults 203, REFERs
 * the first call: NOTIFY 100/200, 201 BYEs, the box BYEs the consultation dialog and takes 202 off
 * hold with a re-INVITE; (2) the REFER goes on the consultation call instead (naming the first);
 * (3) semi-attended: 201 REFERs while 203 still rings (its INVITE ends 487); NOTIFY 200 comes when
 * 203 answers. A Replaces naming no dialog gets 481, a malformed one 400. The records are linked.
 */
import { ok } from "node:assert";
import { runSipp, startSipp } from "../_harness/mod.ts";
import { assertOk, cdrs, EXT, type Pbx, phone, startPbx, withLogs } from "./_setup.ts";
import { holderScenario, pickerScenario, referrerScenario, referTo, ringingCallee } from "./_attended.ts";

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

/** A callee that answers (after `ringMs`) and hangs up `talkMs` after the ACK. */
function calleeHangsUp(tmp: string, name: string, talkMs: number, ringMs = 200): string {
  const path = `${tmp}/${name}.xml`;
  Deno.writeTextFileSync(
    path,
    Deno.readTextFileSync(new URL("../sipp/uas_answer_hangup.xml", import.meta.url))
      .replace('<pause milliseconds="200" />', `<pause milliseconds="${ringMs}" />`)
      .replace('<pause milliseconds="2000" />', `<pause milliseconds="${talkMs}" />`),
  );
  return path;
}

function dial(pbx: Pbx, scenario: string, service: string) {
  return startSipp({
    scenario,
    target: pbx.target,
    user: "201",
    password: EXT["201"],
    service,
    timeoutSec: 40,
  });
}

Deno.test("attended transfer: three message orders, semi-attended, 481 and 400", async (t) => {
  const tmp = Deno.makeTempDirSync({ prefix: "pbx-attended-e2e-" });
  const pbx = await startPbx({ PBX_NO_ANSWER_SECONDS: "15" });
  const host = pbx.target;
  try {
    await t.step(
      "hold 202, consult 203, REFER the first call: NOTIFY 100/200, 202 resumed and joined to 203",
      withLogs(pbx, async () => {
        await using first = await phone(pbx, "202", "uas_hold.xml");
        await using second = await phone(pbx, "203", calleeHangsUp(tmp, "c1", 6000));
        const file = `${tmp}/d1`;
        Deno.writeTextFileSync(`${tmp}/h1.xml`, holderScenario(file));
        await using holder = await dial(pbx, `${tmp}/h1.xml`, "203");
        const dialog = await waitForFile(file);
        Deno.writeTextFileSync(
          `${tmp}/r1.xml`,
          referrerScenario([
            { referTo: referTo(host, "203", "no-such-call;to-tag=x;from-tag=y"), status: 481 },
            { referTo: `<sip:203@${host}?Replaces=broken>`, status: 400 },
            { referTo: referTo(host, "203", dialog), status: 202 },
          ], { hold: true }),
        );
        const referrer = await runSipp({
          scenario: `${tmp}/r1.xml`,
          target: host,
          user: "201",
          password: EXT["201"],
          service: "202",
          timeoutSec: 40,
        });
        assertOk(referrer, "transferor: 481, 400, 202 + NOTIFY 100/200, BYE");
        assertOk(await holder.done, "the consultation dialog got the box's BYE");
        assertOk(await second.done, "203 talked (joined to 202), hung up");
        assertOk(await first.done, "202 was held, resumed by the box's re-INVITE, got BYE when 203 hung up");
        const logs = pbx.app.logs();
        ok(/attended transfer completed/.test(logs), "the box joined the two");
        ok(/resumed a held party after the transfer/.test(logs), "202 taken off hold");
        ok(/REFER with Replaces naming no dialog/.test(logs), "481 logged");
        const list = await cdrs(pbx, 3);
        const first3 = list.slice(0, 3);
        const linked = new Set(first3.map((c) => c.linkedId));
        ok(linked.size === 1, `one linked call: ${JSON.stringify(first3)}`);
        ok(first3.some((c) => c.reason === "attended transfer to 203"), JSON.stringify(first3));
        ok(first3.some((c) => (c.reason ?? "").startsWith("consultation")), JSON.stringify(first3));
      }),
    );

    await t.step(
      "the REFER on the consultation call, naming the first: 203 is joined to 202",
      withLogs(pbx, async () => {
        await using first = await phone(pbx, "202", calleeHangsUp(tmp, "b2", 6000));
        await using second = await phone(pbx, "203", "uas_answer.xml");
        const file = `${tmp}/d2`;
        Deno.writeTextFileSync(`${tmp}/h2.xml`, holderScenario(file));
        await using holder = await dial(pbx, `${tmp}/h2.xml`, "202");
        const dialog = await waitForFile(file);
        Deno.writeTextFileSync(
          `${tmp}/r2.xml`,
          referrerScenario([{ referTo: referTo(host, "202", dialog), status: 202 }]),
        );
        const referrer = await runSipp({
          scenario: `${tmp}/r2.xml`,
          target: host,
          user: "201",
          password: EXT["201"],
          service: "203",
          timeoutSec: 40,
        });
        assertOk(referrer, "transferor on the consultation call");
        assertOk(await holder.done, "the first call's dialog (201) got BYE");
        assertOk(await first.done, "202 hung up after talking to 203");
        assertOk(await second.done, "203 got the BYE");
      }),
    );

    await t.step(
      "semi-attended: REFER while 203 rings; its INVITE from 201 ends 487; NOTIFY 200 when 203 answers",
      withLogs(pbx, async () => {
        await using first = await phone(pbx, "202", "uas_answer.xml");
        await using second = await phone(pbx, "203", calleeHangsUp(tmp, "c3", 2000, 3000));
        const file = `${tmp}/d3`;
        Deno.writeTextFileSync(`${tmp}/h3.xml`, holderScenario(file, { semi: true }));
        await using holder = await dial(pbx, `${tmp}/h3.xml`, "203");
        const dialog = await waitForFile(file);
        Deno.writeTextFileSync(
          `${tmp}/r3.xml`,
          referrerScenario([{ referTo: referTo(host, "203", dialog), status: 202 }]),
        );
        const referrer = await runSipp({
          scenario: `${tmp}/r3.xml`,
          target: host,
          user: "201",
          password: EXT["201"],
          service: "202",
          timeoutSec: 40,
        });
        assertOk(referrer, "transferor: 202, NOTIFY 100, NOTIFY 200 after 203 answered, BYE");
        assertOk(await holder.done, "the ringing INVITE ended 487");
        assertOk(await second.done, "203 answered, talked to 202, hung up");
        assertOk(await first.done, "202 got BYE");
        ok(/attended transfer .*consultation=ringing/.test(pbx.app.logs()));
      }),
    );

    await t.step(
      "INVITE with Replaces: 203 picks up 202's call ringing at 201 (481 for no dialog, 400 malformed)",
      withLogs(pbx, async () => {
        const file = `${tmp}/early`;
        Deno.writeTextFileSync(`${tmp}/ringing.xml`, ringingCallee(file));
        await using ringing = await phone(pbx, "201", `${tmp}/ringing.xml`);
        const callerPath = `${tmp}/pickup_caller.xml`;
        Deno.writeTextFileSync(
          callerPath,
          Deno.readTextFileSync(new URL("../sipp/uac_call_bye_from_callee.xml", import.meta.url)),
        );
        await using caller = await startSipp({
          scenario: callerPath,
          target: host,
          user: "202",
          password: EXT["202"],
          service: "201",
          timeoutSec: 40,
        });
        const early = await waitForFile(file);
        const pick = (name: string, replaces: string, status: number) => {
          Deno.writeTextFileSync(`${tmp}/${name}.xml`, pickerScenario(replaces, status));
          return runSipp({
            scenario: `${tmp}/${name}.xml`,
            target: host,
            user: "203",
            password: EXT["203"],
            service: "201",
            timeoutSec: 40,
          });
        };
        assertOk(
          await pick("p481", "nothing-here;to-tag=a;from-tag=b", 481),
          "481 for a dialog that is not there",
        );
        assertOk(await pick("p400", "only-a-call-id", 400), "400 for a malformed Replaces");
        assertOk(await pick("p200", early, 200), "203 picked up, talked, hung up");
        assertOk(await ringing.done, "201 got CANCEL (completed elsewhere)");
        assertOk(await caller.done, "the caller was answered by 203 and got BYE");
        ok(/ringing call picked up/.test(pbx.app.logs()));
      }),
    );

    await t.step(
      "feature codes: **201 picks up the call ringing at 201; *8 with nothing ringing gets 480",
      withLogs(pbx, async () => {
        await using ringing = await phone(pbx, "201", `${tmp}/ringing.xml`);
        Deno.writeTextFileSync(`${tmp}/early`, "");
        await using caller = await startSipp({
          scenario: `${tmp}/pickup_caller.xml`,
          target: host,
          user: "202",
          password: EXT["202"],
          service: "201",
          timeoutSec: 40,
        });
        await waitForFile(`${tmp}/early`);
        const dialCode = (name: string, code: string, status: number) => {
          Deno.writeTextFileSync(`${tmp}/${name}.xml`, pickerScenario("", status));
          return runSipp({
            scenario: `${tmp}/${name}.xml`,
            target: host,
            user: "203",
            password: EXT["203"],
            service: code,
            timeoutSec: 40,
          });
        };
        assertOk(await dialCode("directed", "**201", 200), "203 dialled **201 and got the call");
        assertOk(await ringing.done, "201 stopped ringing (CANCEL)");
        assertOk(await caller.done, "202 talked to 203");
        assertOk(await dialCode("group", "*8", 480), "*8 with no call ringing: 480");
        ok(/pickup call=.* ringing=201 by=203/.test(pbx.app.logs()));
        ok(/no call to pick up caller=203 extension=any/.test(pbx.app.logs()));
      }),
    );
  } finally {
    await pbx.app.stop();
    Deno.removeSync(tmp, { recursive: true });
  }
});
