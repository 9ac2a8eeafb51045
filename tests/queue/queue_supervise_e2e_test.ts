/**
 * Supervisor listen, whisper and barge end to end with three sipp parties, each sending a known
 * distinct signal (seeded periodic noise, PCMU, from a Deno RtpPeer): the caller waits in queue 614
 * and is bridged to the agent (a sipp callee); the supervisor dials *2221002 (listen). The API
 * then switches to whisper, then barge, then takes the supervisor out. In each phase the
 * correlations show who hears whom: listen, the supervisor hears both and nobody hears the
 * supervisor; whisper, the agent hears the supervisor and the caller does not; barge, all three
 * hear each other; after, caller and agent talk again. Nobody ever hears themselves. A
 * non-supervisor is refused (403) and a bad mode is 400.
 */
import { ok as assert } from "node:assert";
import { hasBinary, startAppliance } from "../_harness/mod.ts";
import {
  APP_ENV,
  decodeStream,
  openCodec,
  type ReceivedRtp,
  rtpCaller,
  setupExtensions,
  sleep,
  waitFor,
  windowedCorrelation,
  withAppLog,
} from "../media/_support.ts";
import { pcmuCallee, periodicNoise } from "./_peers.ts";

Deno.test({
  name: "queue supervisor: listen, whisper and barge are heard by the right parties only",
  ignore: !hasBinary("sipp"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using app = await startAppliance({ env: APP_ENV });
    await setupExtensions(app, ["1001", "1002", "1003", "1004"]);
    const admin = await app.adminApi();
    await admin.put("/api/queues/614", {
      name: "Help desk",
      members: ["1002"],
      ringMs: 15_000,
      maxWaitMs: 120_000,
      announceEveryMs: 0,
      supervisors: ["1003"],
    });
    await using agent = await pcmuCallee(app, "1002");
    const codec = openCodec("PCMU", 8000);
    const sent = {
      caller: periodicNoise(11, 8000, 40, 0.9),
      agent: periodicNoise(22, 8000, 40, 0.9),
      sup: periodicNoise(33, 8000, 40, 0.9),
    };
    await withAppLog(app, async () => {
      await using caller = await rtpCaller(app, {
        scenario: "uac_pcmu_rtp_peer_wait_bye.xml",
        user: "1001",
        service: "614",
      });
      const callerStream = caller.peer.stream(
        () => ({ address: "127.0.0.1", port: caller.boxPort }),
        codec,
        0,
        sent.caller,
      );
      await waitFor(() => agent.peer.received.length > 0, "the caller's audio at the agent", 20_000);
      const agentBox = agent.peer.received[0]!.from;
      const agentStream = agent.peer.stream(() => agentBox, openCodec("PCMU", 8000), 0, sent.agent);
      // Not a supervisor of 614 (API), a bad mode, an agent not on a call.
      const notSup = await admin.request("POST", "/api/queues/614/supervise", {
        agent: "1002",
        supervisor: "1004",
        mode: "listen",
      });
      assert(notSup.status === 403, `non-supervisor: ${notSup.status} ${JSON.stringify(notSup.body)}`);
      const badMode = await admin.request("POST", "/api/queues/614/supervise", {
        agent: "1002",
        supervisor: "1003",
        mode: "shout",
      });
      assert(badMode.status === 400, `bad mode: ${badMode.status}`);
      const noCall = await admin.request("POST", "/api/queues/614/supervise", {
        agent: "1004",
        supervisor: "1003",
      });
      assert(noCall.status === 404, `agent not on a call: ${noCall.status}`);

      await using sup = await rtpCaller(app, {
        scenario: "uac_pcmu_rtp_peer_wait_bye.xml",
        user: "1003",
        service: "*2221002",
      });
      const supStream = sup.peer.stream(
        () => ({ address: "127.0.0.1", port: sup.boxPort }),
        openCodec("PCMU", 8000),
        0,
        sent.sup,
      );
      await waitFor(
        () => /queue: supervisor joined queue=614 agent=1002 supervisor=1003 mode=listen/.test(app.logs()),
        "the supervisor listening",
        15_000,
      );
      const peers = { caller: caller.peer, agent: agent.peer, sup: sup.peer };
      type Who = keyof typeof peers;
      const marks: Record<string, Record<Who, number>> = {};
      const mark = (name: string) => {
        marks[name] = {
          caller: peers.caller.received.length,
          agent: peers.agent.received.length,
          sup: peers.sup.received.length,
        };
      };
      mark("listen");
      await sleep(3500);
      mark("listen-end");
      await admin.post("/api/queues/614/supervise/1002", { mode: "whisper" });
      mark("whisper");
      await sleep(3500);
      mark("whisper-end");
      await admin.post("/api/queues/614/supervise/1002", { mode: "barge" });
      mark("barge");
      await sleep(3500);
      mark("barge-end");
      const out = await admin.request("DELETE", "/api/queues/614/supervise/1002");
      assert(out.status === 204, `take the supervisor out: ${out.status}`);
      await waitFor(() => /queue: supervisor left queue=614 agent=1002/.test(app.logs()), "left", 10_000);
      const supDone = await sup.sipp.done;
      assert(supDone.ok, "the supervisor is hung up");
      mark("after");
      await sleep(3500);
      mark("after-end");
      await callerStream;
      await agentStream;
      await supStream;

      const dec = openCodec("PCMU", 8000);
      const heard = (who: Who, phase: string): Int16Array => {
        const list: ReceivedRtp[] = peers[who].received;
        // Skip 300 ms after the switch (the worker's new mix takes a command's time).
        return decodeStream(list.slice(marks[phase]![who] + 15, marks[`${phase}-end`]![who]), 0, dec);
      };
      const corr = (from: Who, to: Who, phase: string) =>
        windowedCorrelation(sent[from], heard(to, phase), 8000, [0.3, 0.9, 1.5]);
      const hearsWhom: Record<string, Record<Who, Who[]>> = {
        listen: { caller: ["agent"], agent: ["caller"], sup: ["caller", "agent"] },
        whisper: { caller: ["agent"], agent: ["caller", "sup"], sup: ["caller", "agent"] },
        barge: { caller: ["agent", "sup"], agent: ["caller", "sup"], sup: ["caller", "agent"] },
        after: { caller: ["agent"], agent: ["caller"], sup: [] },
      };
      const all: Record<string, string> = {};
      const failures: string[] = [];
      for (const [phase, rules] of Object.entries(hearsWhom)) {
        for (const to of ["caller", "agent", "sup"] as Who[]) {
          if (phase === "after" && to === "sup") continue;
          for (const from of ["caller", "agent", "sup"] as Who[]) {
            const c = corr(from, to, phase);
            all[`${phase}: ${to} hears ${from}`] = c.toFixed(2);
            const should = rules[to].includes(from);
            if (should && c < 0.35) failures.push(`${phase}: ${to} should hear ${from} (${c.toFixed(2)})`);
            if (!should && c > 0.25) {
              failures.push(`${phase}: ${to} should not hear ${from} (${c.toFixed(2)})`);
            }
          }
        }
      }
      dec.close();
      console.log("supervision correlations", all);
      assert(failures.length === 0, `${failures.join("; ")}\n${JSON.stringify(all, null, 1)}`);
    });
    codec.close();
  },
});
