/**
 * Voicemail through the real appliance with sipp phones and a real SMTP server (aiosmtpd):
 * a caller dials the direct-deposit number `*99201` and plays sipp's g711a.pcap after the tone;
 * the stored WAV correlates with that signal, the email arrives with the same WAV attached, a
 * subscribed sipp phone gets message-summary NOTIFYs on deposit, listen and delete; 201 dials
 * `*97`, enters the PIN as RFC 4733 digits and hears the message; wrong PINs on `*98` lock the
 * mailbox.
 */
import { deepStrictEqual as eq, match, ok } from "node:assert";
import {
  correlate,
  hasAiosmtpd,
  parseMime,
  pcapG711,
  runSipp,
  startSmtpSink,
  toMono,
} from "../_harness/mod.ts";
import { parseWav } from "../_harness/mod.ts";
import { EXT, startPbx, withLogs } from "../sip/_setup.ts";
import { callerScenario, mwiWatcherScenario } from "./_scenarios.ts";
import { greetingWav } from "./_fake_leg.ts";

const G711A = "/usr/share/sip-tester/g711a.pcap";

interface Message {
  id: number;
  caller: string;
  durationMs: number;
  read: boolean;
}

Deno.test({
  name:
    "voicemail: deposit by *99201 (signal in WAV and email), MWI NOTIFYs, *97 retrieval by RFC 4733, lockout",
  ignore: !hasAiosmtpd(),
  async fn() {
    const tmp = Deno.makeTempDirSync({ prefix: "pbx-vm-e2e-" });
    await using sink = await startSmtpSink();
    const pbx = await startPbx();
    const scenario = (name: string, xml: string) => {
      const path = `${tmp}/${name}.xml`;
      Deno.writeTextFileSync(path, xml);
      return path;
    };
    try {
      await withLogs(pbx, async () => {
        await pbx.api.put("/api/mail/settings", {
          host: "127.0.0.1",
          port: sink.port,
          security: "none",
          from: "pbx@example.test",
        });
        await pbx.api.put("/api/voicemail/mailboxes/201", { email: "u201@example.test" });
        await pbx.api.put("/api/voicemail/mailboxes/201/pin", { pin: "1234" });
        const up = await fetch(`${pbx.app.baseUrl}/api/voicemail/mailboxes/201/greetings/unavailable`, {
          method: "PUT",
          headers: { authorization: `Bearer ${await pbx.app.adminToken()}`, "content-type": "audio/wav" },
          body: greetingWav(),
        });
        eq(up.status, 200, await up.text());
        const bad = await fetch(`${pbx.app.baseUrl}/api/voicemail/mailboxes/201/greetings/busy`, {
          method: "PUT",
          headers: { authorization: `Bearer ${await pbx.app.adminToken()}`, "content-type": "audio/wav" },
          body: "ID3\u0003 an mp3",
        });
        eq(bad.status, 415);
        match((await bad.json()).error, /not a usable WAV/);

        // 201's phone watches its mailbox: initial, deposit, listen, delete.
        const watcher = runSipp({
          scenario: scenario("mwi", mwiWatcherScenario(4)),
          target: pbx.target,
          user: "201",
          password: EXT["201"],
          service: "201",
          timeoutSec: 120,
        });
        await pbx.app.waitForLog(/subscription event=message-summary resource=201 subscriber=201/, 10_000);

        // Deposit: greeting (300 ms), tone, then 7 s of the pcap, then the caller hangs up.
        const deposit = await runSipp({
          scenario: scenario(
            "deposit",
            callerScenario([{ pauseMs: 1500 }, { pcap: G711A }, { pauseMs: 7500 }], "bye"),
          ),
          target: pbx.target,
          user: "202",
          password: EXT["202"],
          service: "*99201",
          timeoutSec: 40,
        });
        ok(deposit.ok, `deposit call: ${deposit.output.slice(-1500)}${deposit.errors.slice(-1500)}`);
        await pbx.app.waitForLog(/voicemail message stored/, 10_000);
        const list = await pbx.api.get<{ newMessages: number; messages: Message[] }>(
          "/api/voicemail/mailboxes/201/messages",
        );
        eq([list.newMessages, list.messages.length, list.messages[0]!.caller], [1, 1, "202"]);
        const msg = list.messages[0]!;
        ok(msg.durationMs > 5000 && msg.durationMs < 9000, `duration ${msg.durationMs}`);
        const audio = await fetch(`${pbx.app.baseUrl}/api/voicemail/messages/${msg.id}/audio`, {
          headers: { authorization: `Bearer ${await pbx.app.adminToken()}` },
        });
        eq(audio.headers.get("content-type"), "audio/wav");
        const wavBytes = new Uint8Array(await audio.arrayBuffer());
        const stored = toMono(parseWav(wavBytes));
        const reference = await pcapG711(G711A);
        // The best of three 1 s windows: on a loaded machine sipp's stream can have a gap (a late burst),
        // which shifts what follows it in the recording; the signal must still be there.
        const maxCorr = Math.max(
          ...[8000, 16000, 24000].map((at) =>
            correlate(reference.subarray(at, at + 8000), stored, {
              maxLagSamples: stored.length,
              minOverlap: 8000,
            })
              .maxCorr
          ),
        );
        ok(maxCorr > 0.9, `the pcap's signal is in the stored message: correlation ${maxCorr.toFixed(3)}`);

        // The email: MIME parsed by Python, the attachment byte-equal to the stored WAV.
        const mail = await parseMime(await sink.received(1));
        eq(mail.to, "u201@example.test");
        match(mail.subject, /New voicemail from 202/);
        match(mail.text, /Caller: 202/);
        match(mail.text, /Duration: 0:0\d/);
        // The link opens the message in the visual voicemail page (listen, mark, delete there).
        match(
          mail.text,
          /Listen, mark or delete it in the web UI: https?:\/\/[^ ]+\/voicemail\?mailbox=201&message=\d+/,
        );
        eq(mail.attachments.length, 1);
        eq(mail.attachments[0]!.contentType, "audio/wav");
        const attached = Uint8Array.from(atob(mail.attachments[0]!.base64), (c) => c.charCodeAt(0));
        eq(attached.length, wavBytes.length);
        ok(attached.every((b, i) => b === wavBytes[i]), "attachment equals the stored WAV");

        // Retrieval: *97 from 201, PIN by RFC 4733 while the prompt plays, then 1 (listen).
        const retrieve = await runSipp({
          scenario: scenario(
            "retrieve",
            callerScenario(
              [{ pauseMs: 1500 }, { digits: "1234#" }, { pauseMs: 6000 }, { digits: "1" }, {
                pauseMs: 12000,
              }],
              "bye",
            ),
          ),
          target: pbx.target,
          user: "201",
          password: EXT["201"],
          service: "*97",
          timeoutSec: 60,
        });
        ok(retrieve.ok, `retrieval call: ${retrieve.output.slice(-1500)}${retrieve.errors.slice(-1500)}`);
        match(pbx.app.logs(), /voicemail: signed in.*mailbox=201/);
        match(pbx.app.logs(), new RegExp(`voicemail message played.*id=${msg.id}`));
        const after = await pbx.api.get<{ newMessages: number; oldMessages: number }>(
          "/api/voicemail/mailboxes/201/messages",
        );
        eq([after.newMessages, after.oldMessages], [0, 1]);

        // Delete from the web: the last NOTIFY says no messages.
        eq((await pbx.api.request("DELETE", `/api/voicemail/messages/${msg.id}`)).status, 204);
        const w = await watcher;
        ok(w.ok, `watcher: ${w.output.slice(-1500)}${w.errors.slice(-1500)}`);
        const notifies = w.messages.split(/(?=NOTIFY sip:)/).filter((m) => m.startsWith("NOTIFY sip:"));
        const counts = notifies.map((n) => n.match(/Voice-Message: (\d+\/\d+)/)?.[1] ?? "none");
        const waiting = notifies.map((n) => n.match(/Messages-Waiting: (yes|no)/)?.[1]);
        eq(waiting.slice(0, 4), ["no", "yes", "no", "no"]);
        eq(counts.slice(1, 4), ["1/0", "0/1", "0/0"]);

        // Wrong PINs on *98 (any mailbox): after three the box says locked and hangs up.
        const wrong = { digits: "201#" };
        const pin = { digits: "5678#" };
        const lockout = await runSipp({
          scenario: scenario(
            "lockout",
            callerScenario([
              { pauseMs: 1500 },
              wrong,
              { pauseMs: 1000 },
              pin,
              { pauseMs: 3500 },
              wrong,
              { pauseMs: 1000 },
              pin,
              { pauseMs: 3500 },
              wrong,
              { pauseMs: 1000 },
              pin,
            ], "await-bye"),
          ),
          target: pbx.target,
          user: "202",
          password: EXT["202"],
          service: "*98",
          timeoutSec: 60,
        });
        ok(lockout.ok, `lockout call: ${lockout.output.slice(-1500)}${lockout.errors.slice(-1500)}`);
        match(pbx.app.logs(), /voicemail: wrong PIN.*locked=true/);
        const box = await pbx.api.get<{ lockedUntil: number | null }>("/api/voicemail/mailboxes/201");
        ok(box.lockedUntil !== null && box.lockedUntil > Date.now(), "mailbox locked");
      })();
    } finally {
      await pbx.app.stop();
      Deno.removeSync(tmp, { recursive: true });
    }
  },
});
