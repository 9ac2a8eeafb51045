/**
 * A second real client: twinkle-console (Twinkle 1.10) with solicited MWI subscribes to its own
 * mailbox's message-summary when it registers, answers the box's NOTIFYs, and unsubscribes when it
 * quits. (Its CLI shows no MWI or buddy state, so the box's log is the evidence.)
 */
import { ok } from "node:assert";
import { hasBinary } from "../_harness/mod.ts";
import { freeUdpPort } from "../_harness/ports.ts";
import { EXT, startPbx } from "../sip/_setup.ts";

Deno.test({
  name: "twinkle-console subscribes to message-summary through the box, gets NOTIFYs, unsubscribes",
  ignore: !hasBinary("twinkle-console"),
  async fn() {
    const pbx = await startPbx({});
    const home = await Deno.makeTempDir({ prefix: "pbx-twinkle-" });
    try {
      await Deno.mkdir(`${home}/.twinkle`);
      const box = `127.0.0.1:${pbx.app.sipPort}`;
      await Deno.writeTextFile(
        `${home}/.twinkle/t202.cfg`,
        [
          "user_name=202",
          "user_domain=127.0.0.1",
          "auth_name=202",
          `auth_pass=${EXT["202"]}`,
          `registrar=${box}`,
          "register_at_startup=yes",
          "registration_time=600",
          "use_outbound_proxy=yes",
          `outbound_proxy=${box}`,
          "all_requests_to_proxy=yes",
          "mwi_sollicited=yes",
          "mwi_user=202",
          `mwi_server=${box}`,
          "mwi_via_proxy=yes",
          "mwi_subscription_time=600",
        ].join("\n") + "\n",
      );
      await Deno.writeTextFile(
        `${home}/.twinkle/twinkle.sys`,
        `sip_udp_port=${await freeUdpPort()}\nrtp_port=${27000 + Math.floor(Math.random() * 2000) * 2}\n`,
      );
      const child = new Deno.Command("bash", {
        args: ["-c", "(sleep 6; echo quit) | timeout 20 twinkle-console t202.cfg"],
        cwd: home,
        env: { HOME: home },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const out = await child.output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      ok(/registration succeeded/.test(text), text.slice(-1500));
      const logs = pbx.app.logs();
      ok(/subscription event=message-summary resource=202 subscriber=202/.test(logs), logs.slice(-2000));
      ok(!/subscription dropped/.test(logs), "twinkle answered the NOTIFYs");
      ok(/unsubscribe event=message-summary resource=202/.test(logs), logs.slice(-2000));
    } finally {
      await pbx.app.stop();
      await Deno.remove(home, { recursive: true }).catch(() => {});
    }
  },
});
