/**
 * E911 front-desk notification (Kari's Law): when an emergency number is dialled, the configured
 * front desk (an extension or a ring group) is rung at once through the call engine's
 * `calls.originate`, while the emergency call itself goes to the carrier unaffected (it is not
 * waited for and cannot fail because of this). When the front desk answers it hears, three times
 * with a second of silence between:
 *
 * - with text-to-speech: "Emergency call. Extension <digits>. <the dispatchable location>." (e.g.
 *   "Emergency call. Extension two zero two. 100 Main St, floor 2, room 201.");
 * - without it (the synthesis fails): the prompts `digit-0`..`digit-9` of the extension number (the
 *   box's catalogue prompts, an uploaded recording where one is stored), then the location's
 *   uploaded announcement when one is stored; when none of these can be played, an alert tone (so
 *   the front desk never answers silence).
 *
 * Then the box hangs up. The outcome (answered, busy, no answer, ...) is reported to `onOutcome`
 * (the audit log).
 * @module
 */
import type { Calls, OriginatedLeg } from "../../call/mod.ts";
import type { Logger } from "../../log/mod.ts";
import { readWav } from "../../media/wav/mod.ts";
import { digitPromptIds, resampleMono } from "../../media/prompts/mod.ts";

/** Largest announcement upload. */
export const MAX_ANNOUNCEMENT_BYTES = 10 * 1024 * 1024;
/** Longest announcement. */
export const MAX_ANNOUNCEMENT_MS = 60_000;

/**
 * Check an uploaded location announcement (a WAV of any rate 4-192 kHz, PCM16/mu-law/A-law, mono
 * or stereo, at most a minute) and make it 16 kHz mono. RangeError/SyntaxError say what is wrong.
 */
export function announcementFromWav(bytes: Uint8Array): { samples: Int16Array; durationMs: number } {
  if (bytes.length > MAX_ANNOUNCEMENT_BYTES) {
    throw new RangeError(`announcement is ${bytes.length} bytes, the limit is ${MAX_ANNOUNCEMENT_BYTES}`);
  }
  const wav = readWav(bytes);
  if (wav.sampleRate < 4000 || wav.sampleRate > 192000) {
    throw new RangeError(`WAV sample rate ${wav.sampleRate} Hz not in 4000..192000`);
  }
  const frames = Math.floor(wav.samples.length / wav.channels);
  if (frames === 0) throw new RangeError("WAV has no audio samples");
  const mono = new Int16Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < wav.channels; c++) sum += wav.samples[f * wav.channels + c]!;
    mono[f] = Math.round(sum / wav.channels);
  }
  const durationMs = Math.round(frames * 1000 / wav.sampleRate);
  if (durationMs > MAX_ANNOUNCEMENT_MS) {
    throw new RangeError(`announcement is ${durationMs} ms long, the limit is ${MAX_ANNOUNCEMENT_MS} ms`);
  }
  return { samples: resampleMono(mono, wav.sampleRate, 16000), durationMs };
}

/** Mono PCM. */
export interface Pcm {
  samples: Int16Array;
  sampleRate: number;
}

/** The emergency call the front desk is told about. */
export interface EmergencyCall {
  caller: string;
  number: string;
  location: string;
  callback: string;
  test: boolean;
}

/** What ringing the front desk needs. */
export interface FrontDeskDeps {
  calls(): Calls | undefined;
  /** Text to speech (the prompt library's `say`); rejects when there is none. */
  speak?(text: string): Promise<Pcm>;
  /** A catalogue prompt (`digit-2`): its upload, else text to speech; rejects when neither. */
  prompt?(id: string): Promise<Pcm>;
  /** The uploaded announcement of the caller's location, if any. */
  locationAnnouncement?(caller: string): Promise<Pcm | undefined>;
  log: Logger;
  /** Ring time (default 60 s). */
  ringMs?: number;
  onOutcome?(outcome: { frontDesk: string; caller: string; outcome: string; spoken: string }): void;
}

/** The alert played when nothing can be spoken: 1 s of 853+960 Hz, then 1 s silence. */
export const FRONT_DESK_ALERT_TONE = "853+960/1000,0/1000";

/** The sentence spoken with text to speech. */
export function frontDeskSentence(call: EmergencyCall): string {
  const digits = [...call.caller].map((c) => DIGIT_WORDS[c] ?? c).join(" ");
  return `${call.test ? "Test. " : ""}Emergency call. Extension ${digits}. ${call.location}.`;
}

const DIGIT_WORDS: Record<string, string> = {
  "0": "zero",
  "1": "one",
  "2": "two",
  "3": "three",
  "4": "four",
  "5": "five",
  "6": "six",
  "7": "seven",
  "8": "eight",
  "9": "nine",
  "*": "star",
  "#": "pound",
};

/** What is played: the clips, and a description for the log and the audit entry. */
async function announcement(
  deps: FrontDeskDeps,
  call: EmergencyCall,
): Promise<{ clips: Pcm[]; spoken: string }> {
  const sentence = frontDeskSentence(call);
  if (deps.speak !== undefined) {
    try {
      return { clips: [await deps.speak(sentence)], spoken: `tts: ${sentence}` };
    } catch (e) {
      deps.log.warn("front desk: no text to speech, playing digits and the location recording", {
        error: (e as Error).message,
      });
    }
  }
  const clips: Pcm[] = [];
  const parts: string[] = [];
  if (deps.prompt !== undefined) {
    const ids = digitPromptIds(call.caller);
    try {
      for (const id of ids) clips.push(await deps.prompt(id));
      parts.push(`prompts ${ids.join(" ")}`);
    } catch {
      clips.length = 0;
    }
  }
  const rec = await deps.locationAnnouncement?.(call.caller).catch(() => undefined);
  if (rec !== undefined) {
    clips.push(rec);
    parts.push("the location's recording");
  }
  return { clips, spoken: parts.length > 0 ? parts.join(", ") : `alert tone ${FRONT_DESK_ALERT_TONE}` };
}

/**
 * Ring `frontDesk` about `call` and speak it on answer; resolves with the outcome ("answered",
 * "busy", "noAnswer", "unavailable", "failed", or "error: ..."). Never throws.
 */
export async function ringFrontDesk(
  deps: FrontDeskDeps,
  frontDesk: string,
  call: EmergencyCall,
): Promise<string> {
  const calls = deps.calls();
  let outcome = "error: no call engine";
  let spoken = "";
  if (calls !== undefined) {
    let leg: OriginatedLeg | undefined;
    try {
      // Speech is prepared while the front desk rings.
      const words = announcement(deps, call);
      leg = await calls.originate({
        to: frontDesk,
        callerId: call.caller,
        callerName: `${call.test ? "TEST " : ""}EMERGENCY ${call.number}`,
        timeoutMs: deps.ringMs ?? 60_000,
        reason: "e911 front desk",
      });
      deps.log.warn("EMERGENCY front desk rung", { frontDesk, caller: call.caller });
      const r = await leg.answered;
      outcome = r.outcome;
      if (r.outcome === "answered") {
        const a = await words;
        spoken = a.spoken;
        let over = false;
        void leg.ended.then(() => (over = true));
        try {
          for (let i = 0; i < 3 && !over; i++) {
            if (a.clips.length === 0) await leg.play({ tone: FRONT_DESK_ALERT_TONE, durationMs: 4000 });
            for (const c of a.clips) {
              if (over) break;
              await leg.play({ pcm: c.samples, sampleRate: c.sampleRate });
            }
            if (!over) await leg.play({ silenceMs: 1000 });
          }
        } catch (e) {
          if (!over) deps.log.warn("front desk announcement stopped", { error: (e as Error).message });
        }
        if (!over) leg.hangup("announced");
      }
    } catch (e) {
      outcome = `error: ${(e as Error).message}`;
      deps.log.error("EMERGENCY front desk could not be rung", { frontDesk, error: e as Error });
      try {
        leg?.hangup();
      } catch { /* already over */ }
    }
  }
  deps.log.warn("EMERGENCY front desk notified", { frontDesk, caller: call.caller, outcome, spoken });
  try {
    deps.onOutcome?.({ frontDesk, caller: call.caller, outcome, spoken });
  } catch (e) {
    deps.log.error("front desk outcome listener failed", { error: e as Error });
  }
  return outcome;
}
