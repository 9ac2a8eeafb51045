/**
 * A scripted call leg for the voicemail and IVR unit tests: `collect` answers from `digits` (then
 * the caller hangs up), `record` writes `recording` as a WAV (`rate`, default 8 kHz), plays are logged by kind.
 */
import type { CallLeg, Collected, DialResult, LegEvent, PlaySource } from "../../runtime/call/mod.ts";
import { writeWav } from "../../runtime/media/wav/mod.ts";

/** A scripted leg: `collect` answers from `digits`, `record` writes `recording`, plays are logged. */
export function fakeLeg(
  script: {
    caller?: string;
    digits?: string[];
    recording?: Int16Array;
    hangupOnRecord?: boolean;
    rate?: number;
    /** What each `dial` resolves with (default unavailable 480). */
    dials?: DialResult[];
  },
) {
  const dialled: string[] = [];
  const dials = [...(script.dials ?? [])];
  const played: string[] = [];
  const listeners = new Set<(ev: LegEvent) => void>();
  const digits = [...(script.digits ?? [])];
  const state = { answered: false, rejected: 0, hungUp: "" as string | undefined };
  let end: (by: "caller" | "system") => void = () => {};
  const ended = new Promise<"caller" | "system">((r) => (end = r));
  const leg: CallLeg = {
    info: { caller: script.caller ?? "202", dialled: "x", receivedAt: 0, codec: "PCMU/8000" },
    ended,
    answer: () => void (state.answered = true),
    reject: (status) => void (state.rejected = status),
    play(source: PlaySource) {
      if (state.hungUp) return Promise.reject(new Error("ended"));
      played.push(
        "tone" in source
          ? `tone:${source.tone}`
          : "file" in source
          ? `file`
          : "pcm" in source
          ? "pcm"
          : "silence",
      );
      return Promise.resolve();
    },
    stopPlay: () => Promise.resolve(),
    async record(path) {
      if (script.recording) {
        await Deno.writeFile(
          path,
          writeWav({ sampleRate: script.rate ?? 8000, channels: 1 }, script.recording),
        );
      }
      if (script.hangupOnRecord) state.hungUp = "caller";
      return { path, durationMs: 0, reason: script.hangupOnRecord ? "hangup" : "stopped" };
    },
    stopRecord: () => Promise.resolve(),
    collect(): Promise<Collected> {
      const next = digits.shift();
      if (next === undefined) {
        state.hungUp = "caller";
        return Promise.resolve({ digits: "", reason: "hangup" });
      }
      return Promise.resolve({
        digits: next,
        reason: next === "" ? "timeout" : "terminator",
        terminator: "#",
      });
    },
    onAudio: () => () => {},
    on(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    hangup: (reason) => void (state.hungUp = reason ?? "hangup"),
    dial(target) {
      dialled.push(typeof target === "string" ? target : JSON.stringify(target));
      return Promise.resolve(dials.shift() ?? { outcome: "unavailable", status: 480 });
    },
    continueTo(number) {
      dialled.push(`continue:${number}`);
      state.hungUp = "continued";
      return Promise.resolve();
    },
  };
  void end;
  return { leg, played, state, dialled };
}

/** 300 ms of 600 Hz at 8 kHz as WAV bytes: a short recorded greeting, so the tone comes quickly. */
export function greetingWav(): Uint8Array<ArrayBuffer> {
  // 300 ms of 600 Hz at 8 kHz as a WAV: a short recorded greeting, so the tone comes quickly.
  const n = 2400;
  const out = new Uint8Array(44 + n * 2);
  const v = new DataView(out.buffer);
  const w = (o: number, s: string) => [...s].forEach((c, i) => out[o + i] = c.charCodeAt(0));
  w(0, "RIFF");
  v.setUint32(4, 36 + n * 2, true);
  w(8, "WAVEfmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, 8000, true);
  v.setUint32(28, 16000, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  w(36, "data");
  v.setUint32(40, n * 2, true);
  for (let i = 0; i < n; i++) {
    v.setInt16(44 + i * 2, Math.round(6000 * Math.sin(2 * Math.PI * 600 * i / 8000)), true);
  }
  return out;
}
