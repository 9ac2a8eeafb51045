/**
 * A real client nobody here wrote: linphonec (Debian linphone-cli) as extension 201, driven on its
 * command line, calls sipp phones through the box. It holds and resumes a call (`pause`/`resume`:
 * the callee sees a=sendonly then a=sendrecv, the box plays music on hold in between) and
 * blind-transfers one (`transfer`: REFER; the transferee ends up talking to the target). linphonec has
 * no sound card here; it still negotiates and sends RTP.
 */
import { ok } from "node:assert";
import { hasBinary } from "../_harness/mod.ts";
import { assertOk, phone, startPbx, withLogs } from "./_setup.ts";
import { linphonec } from "./_linphonec.ts";

Deno.test({
  name: "linphonec holds, resumes and blind-transfers calls through the box",
  ignore: !hasBinary("linphonec"),
  async fn(t) {
    const pbx = await startPbx();
    try {
      await t.step(
        "pause then resume: the callee sees sendonly then sendrecv; music on hold in between",
        withLogs(pbx, async () => {
          await using uas = await phone(pbx, "202", "uas_hold.xml", { timeoutSec: 30 });
          const out = await linphonec(pbx, [
            [`call sip:202@${pbx.target}`, 3000],
            ["pause", 2000],
            ["resume", 2000],
            ["terminate", 1500],
          ]);
          ok(/is now paused/.test(out), out);
          assertOk(await uas.done, "callee saw the hold and the resume");
          const logs = pbx.app.logs();
          ok(/music on hold started/.test(logs) && /call resumed/.test(logs), logs.slice(-2000));
        }),
      );
      await t.step(
        "transfer: linphonec REFERs 202 to 203; 202 talks to 203 until 203 hangs up",
        withLogs(pbx, async () => {
          await using transferee = await phone(pbx, "202", "uas_answer.xml", { timeoutSec: 30 });
          await using target = await phone(pbx, "203", "uas_answer_hangup.xml", { timeoutSec: 30 });
          const out = await linphonec(pbx, [[`call sip:202@${pbx.target}`, 3000], [
            `transfer sip:203@${pbx.target}`,
            4000,
          ]]);
          ok(/has been transfered/.test(out), out);
          assertOk(await target.done, "target answered and hung up");
          assertOk(await transferee.done, "transferee got the BYE after talking to the target");
          ok(/transfer completed/.test(pbx.app.logs()));
        }),
      );
    } finally {
      await pbx.app.stop();
    }
  },
});
