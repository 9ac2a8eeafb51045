/**
 * A real client nobody here wrote: baresip's presence and mwi modules subscribe through the box.
 * presence: the watched extension goes Offline -> Online when it registers (PIDF open). mwi: the
 * initial message-summary NOTIFY, then the counts set through PUT /api/mailboxes/:n/summary.
 */
import { deepStrictEqual as eq, match } from "node:assert";
import { hasBinary, startBaresip } from "../_harness/mod.ts";
import { assertOk, EXT, register, startPbx } from "../sip/_setup.ts";

Deno.test({
  name: "baresip subscribes to presence and message-summary through the box and gets NOTIFYs",
  ignore: !hasBinary("baresip"),
  async fn() {
    const pbx = await startPbx({});
    try {
      await using phone = await startBaresip({
        user: "202",
        password: EXT["202"],
        sipPort: pbx.app.sipPort,
        codecs: ["PCMU"],
        extraConfig: ["module contact.so", "module presence.so", "module mwi.so"],
        contacts: [`<sip:201@127.0.0.1:${pbx.app.sipPort}>;presence=p2p`],
      });
      await phone.registered();
      await phone.waitForLog(/----- MWI for sip:202@[^\n]*\nMessages-Waiting: no/, 10_000);
      await pbx.app.waitForLog(/subscription event=presence resource=201 subscriber=202/, 15_000);
      assertOk(await register(pbx, "201"), "register 201");
      await phone.waitForLog(/<sip:201@[^>]+> changed status from \S*Offline\S* to \S*Online/, 10_000);

      const bad = await pbx.api.request("PUT", "/api/mailboxes/202/summary", {
        newMessages: -1,
        oldMessages: 0,
      });
      eq(bad.status, 400);
      match(JSON.stringify(bad.body), /newMessages must be an integer/);
      eq(
        (await pbx.api.request("PUT", "/api/mailboxes/999/summary", { newMessages: 1, oldMessages: 0 }))
          .status,
        404,
      );
      const set = await pbx.api.put<{ notified: number }>("/api/mailboxes/202/summary", {
        newMessages: 2,
        oldMessages: 1,
      });
      eq(set.notified, 1);
      await phone.waitForLog(
        /Messages-Waiting: yes[^\n]*\nMessage-Account: [^\n]*\nVoice-Message: 2\/1/,
        10_000,
      );
    } finally {
      await pbx.app.stop();
    }
  },
});
