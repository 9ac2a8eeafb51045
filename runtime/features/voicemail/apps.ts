/**
 * The voicemail applications on the call-control API (runtime/call/application.ts):
 *
 * - `voicemail-deposit` (args `{mailbox, reason?}`): greeting (temporary, else busy/unavailable,
 *   else spoken), tone, recording up to the mailbox's length limit; `#` ends it, `0` asks for the
 *   operator. Recordings under `minMessageMs` or silent are deleted: no empty message. The quota
 *   (messages per mailbox) is checked before the tone and the caller is told.
 * - `voicemail-retrieve` (args `{mode: "own" | "any"}`): mailbox (the caller's own, or typed) and
 *   PIN, then the messages: envelope (caller, time) spoken, then 1 replay, 2 save, 3 delete, 4
 *   forward to another mailbox, `#` next; main menu 1 listen, 2 record a greeting (1 unavailable, 2 busy, 3 name, 4 temporary),
 *   3 change PIN, `*` exit. Wrong PINs lock the mailbox (store).
 *
 * After every deposit, listen and delete the MWI counts are set again (`mwi`), and a new message
 * is mailed (WAV attached) when the mailbox has an email address.
 * @module
 */
import type { Application, CallLeg } from "../../call/mod.ts";
import type { Logger } from "../../log/mod.ts";
import { countWords, dateTimeWords, digitWords, durationWords } from "../../media/prompts/mod.ts";
import { readWav } from "../../media/wav/mod.ts";
import type { VoicemailMessage, VoicemailStore } from "./store.ts";

/** The prompts the applications speak (PromptLibrary fits). */
export interface VoicemailPrompts {
  get(id: string): Promise<{ rate16: Int16Array }>;
  say(text: string): Promise<{ rate16: Int16Array }>;
}

/** A mail service (runtime/mail MailService fits). */
export interface VoicemailMail {
  enqueue(message: {
    to: string | string[];
    subject: string;
    text: string;
    attachments?: { filename: string; path: string; contentType?: string }[];
  }): number;
}

/** What the applications need. */
export interface VoicemailAppDeps {
  store: VoicemailStore;
  prompts: VoicemailPrompts;
  /** Set a mailbox's message-summary counts (events.mwi.set). */
  mwi(mailbox: string, counts: { newMessages: number; oldMessages: number }): void;
  mail?: VoicemailMail | undefined;
  log: Logger;
  /** Shortest message kept (default 1000 ms). */
  minMessageMs?: number;
  /**
   * Offline speech recognition of 16 kHz mono PCM (drivers/stt through the appliance); undefined
   * when no recognizer is installed. Only wideband recordings are transcribed: the shipped model
   * is nearly useless on telephone-band audio (docs/prompts.md measures 87% WER through 8 kHz).
   */
  transcribe?: ((samples16k: Int16Array) => Promise<string | undefined>) | undefined;
  /** Time zone for spoken and mailed times (default UTC). */
  timeZone?: string;
  /** Digit wait in the menus (default 8000 ms). */
  digitTimeoutMs?: number;
  /** Where `0` during the greeting goes (the operator: an extension, group, IVR menu); undefined: nowhere. */
  operator?: () => string | undefined;
  /** The box's web UI address (`https://192.168.1.20:8443`) for the link in the mail; undefined: none. */
  webUrl?: () => string | undefined;
}

/** Longest greeting recorded from the phone. */
export const MAX_GREETING_RECORD_MS = 3 * 60_000;

/** The tone before recording. */
export const BEEP = "1000";

/** Whether a recording is all silence: no 20 ms block above -50 dBFS. */
export function isSilent(samples: Int16Array, sampleRate: number): boolean {
  const block = Math.max(1, Math.round(sampleRate / 50));
  const threshold = 32768 * 10 ** (-50 / 20);
  for (let off = 0; off + block <= samples.length; off += block) {
    let e = 0;
    for (let i = off; i < off + block; i++) e += samples[i]! * samples[i]!;
    if (Math.sqrt(e / block) > threshold) return false;
  }
  return true;
}

/** Check a finished recording: its length in ms, or why it is not a message. */
export async function inspectRecording(
  path: string,
  minMs: number,
): Promise<
  { ok: true; durationMs: number; samples: Int16Array; sampleRate: number } | { ok: false; why: string }
> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch {
    return { ok: false, why: "no file" };
  }
  let wav;
  try {
    wav = readWav(bytes);
  } catch (e) {
    return { ok: false, why: `unreadable WAV: ${(e as Error).message}` };
  }
  const mono = wav.channels === 1 ? wav.samples : wav.samples.filter((_, i) => i % wav.channels === 0);
  const durationMs = Math.round(mono.length * 1000 / wav.sampleRate);
  if (durationMs < minMs) return { ok: false, why: `too short (${durationMs} ms)` };
  if (isSilent(mono, wav.sampleRate)) return { ok: false, why: "silent" };
  return { ok: true, durationMs, samples: mono, sampleRate: wav.sampleRate };
}

async function removeQuietly(path: string): Promise<void> {
  await Deno.remove(path).catch(() => {});
}

/**
 * Answer and wait until the call is up (the 200 OK is acknowledged and media flows): today's
 * `CallLeg` has no "started" signal and refuses `play` until then, so probe with a 20 ms silent
 * tone every 20 ms (at most 5 s). False when the call ended first.
 */
export async function answerAndWait(leg: CallLeg): Promise<boolean> {
  leg.answer();
  for (let i = 0; i < 250; i++) {
    try {
      await leg.play({ tone: "0", durationMs: 20 });
      return true;
    } catch (e) {
      if (/ended/.test((e as Error).message)) return false;
      await new Promise((r) => setTimeout(r, 20)); // waiting on the network (ACK), not on the call's clock
    }
  }
  return false;
}

/** Play a prompt id, text after "say:", or a WAV file after "file:". Ends quietly when the call is gone. */
async function speak(leg: CallLeg, prompts: VoicemailPrompts, what: string): Promise<void> {
  if (what.startsWith("file:")) return await leg.play({ file: what.slice(5) });
  const audio = what.startsWith("say:") ? await prompts.say(what.slice(4)) : await prompts.get(what);
  await leg.play({ pcm: audio.rate16, sampleRate: 16000 });
}

/** Play prompts until a digit is pressed; resolves with that digit (or undefined). */
async function speakInterruptible(
  leg: CallLeg,
  prompts: VoicemailPrompts,
  items: readonly string[],
  digits: string,
): Promise<string | undefined> {
  let pressed: string | undefined;
  const off = leg.on((ev) => {
    if (ev.type === "dtmf" && pressed === undefined && digits.includes(ev.digit)) {
      pressed = ev.digit;
      void leg.stopPlay();
    }
  });
  try {
    for (const item of items) {
      if (pressed !== undefined) break;
      await speak(leg, prompts, item);
    }
  } finally {
    off();
  }
  return pressed;
}

function refreshMwi(deps: VoicemailAppDeps, mailbox: string): void {
  try {
    deps.mwi(mailbox, deps.store.counts(mailbox));
  } catch (e) {
    deps.log.warn("voicemail: MWI update failed", { mailbox, error: e as Error });
  }
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** Mail a new message when the mailbox has an address; failures are logged, never thrown. */
export function mailMessage(deps: VoicemailAppDeps, m: VoicemailMessage): number | undefined {
  const box = deps.store.mailbox(m.mailbox);
  if (!deps.mail || !box?.email) return undefined;
  const when = new Date(m.receivedAt);
  try {
    return deps.mail.enqueue({
      to: box.email,
      subject: `New voicemail from ${m.caller} (${formatDuration(m.durationMs)})`,
      text: [
        `Mailbox: ${m.mailbox}`,
        `Caller: ${m.callerName ? `${m.callerName} <${m.caller}>` : m.caller}`,
        `Time: ${when.toISOString()}`,
        `Duration: ${formatDuration(m.durationMs)}`,
        "",
        ...(m.transcript ? [`Transcript (automatic, may be wrong): ${m.transcript}`, ""] : []),
        "The recording is attached.",
        ...(deps.webUrl?.() !== undefined
          ? [
            "",
            `Listen, mark or delete it in the web UI: ${
              deps.webUrl!()
            }/voicemail?mailbox=${m.mailbox}&message=${m.id}`,
          ]
          : []),
      ].join("\n"),
      attachments: [{ filename: `voicemail-${m.id}.wav`, path: m.path, contentType: "audio/wav" }],
    });
  } catch (e) {
    deps.log.error("voicemail: email not queued", { mailbox: m.mailbox, message: m.id, error: e as Error });
    return undefined;
  }
}

/** Transcribe a new wideband message when a recognizer is wired, then mail it. */
export async function transcribeAndMail(
  deps: VoicemailAppDeps,
  m: VoicemailMessage,
  samples: Int16Array,
  sampleRate: number,
): Promise<void> {
  let message = m;
  if (deps.transcribe !== undefined && sampleRate === 16000) {
    try {
      const text = (await deps.transcribe(samples))?.trim();
      if (text) {
        deps.store.setTranscript(m.id, text);
        message = deps.store.message(m.id) ?? m;
        deps.log.info("voicemail transcribed", {
          mailbox: m.mailbox,
          id: m.id,
          words: text.split(/\s+/).length,
        });
      }
    } catch (e) {
      deps.log.warn("voicemail transcription failed", { mailbox: m.mailbox, id: m.id, error: e as Error });
    }
  } else if (deps.transcribe !== undefined) {
    deps.log.debug("voicemail not transcribed: narrowband audio", { id: m.id, sampleRate });
  }
  mailMessage(deps, message);
}

/**
 * Copy a message into another mailbox (a new message there: MWI and email follow); undefined when
 * that mailbox does not exist, is off, is full or is the same one.
 */
export async function forwardMessage(
  deps: VoicemailAppDeps,
  m: VoicemailMessage,
  target: string,
): Promise<VoicemailMessage | undefined> {
  const box = deps.store.mailbox(target);
  if (box === undefined || !box.enabled || target === m.mailbox) return undefined;
  if (deps.store.messages(target).length >= box.maxMessages) return undefined;
  await Deno.mkdir(deps.store.dir(target), { recursive: true });
  const path = `${deps.store.dir(target)}/msg-${crypto.randomUUID()}.wav`;
  await Deno.copyFile(m.path, `${path}.part`);
  await Deno.rename(`${path}.part`, path);
  const copy = deps.store.addMessage({
    mailbox: target,
    caller: m.caller,
    callerName: m.callerName,
    durationMs: m.durationMs,
    path,
  });
  if (m.transcript) deps.store.setTranscript(copy.id, m.transcript);
  deps.log.info("voicemail message forwarded", { from: m.mailbox, to: target, id: m.id, copy: copy.id });
  refreshMwi(deps, target);
  mailMessage(deps, deps.store.message(copy.id) ?? copy);
  return copy;
}

/** The deposit application's args (the dialplan step's). */
export interface DepositArgs {
  mailbox?: string;
  /** Why the call came: picks the greeting. */
  reason?: "busy" | "unavailable" | "noAnswer" | "direct";
  dialled?: string;
}

/** `voicemail-deposit`; see the module doc. */
export function depositApplication(deps: VoicemailAppDeps): Application<DepositArgs> {
  const { store, prompts, log } = deps;
  const minMs = deps.minMessageMs ?? 1000;
  return {
    name: "voicemail-deposit",
    async run(leg, args) {
      const mailbox = args.mailbox ?? "";
      const box = store.mailbox(mailbox);
      if (box === undefined) {
        log.info("voicemail deposit: no such mailbox", { mailbox, caller: leg.info.caller });
        leg.reject(404, "Not Found (no such mailbox)");
        return;
      }
      if (!box.enabled) {
        log.info("voicemail deposit: mailbox is turned off", { mailbox });
        leg.reject(480, "Temporarily Unavailable (voicemail off)");
        return;
      }
      if (!await answerAndWait(leg)) return;
      const count = store.messages(mailbox).length;
      if (count >= box.maxMessages) {
        log.warn("voicemail deposit refused: mailbox full", { mailbox, count, max: box.maxMessages });
        await speak(leg, prompts, "vm-mailbox-full").catch(() => {});
        await speak(leg, prompts, "goodbye").catch(() => {});
        leg.hangup("mailbox full");
        return;
      }
      const greetingKind = args.reason === "busy" ? "busy" : "unavailable";
      const recorded = store.greeting(mailbox, "temporary") ?? store.greeting(mailbox, greetingKind);
      let pressed: string | undefined;
      try {
        if (recorded !== undefined) {
          const off = leg.on((ev) => {
            if (ev.type === "dtmf" && (ev.digit === "0" || ev.digit === "#") && pressed === undefined) {
              pressed = ev.digit;
              void leg.stopPlay();
            }
          });
          // A recorded greeting says what to do itself: the tone follows it.
          await leg.play({ file: recorded.path }).finally(off);
        } else {
          const name = store.greeting(mailbox, "name");
          const items = [
            args.reason === "busy" ? "vm-busy" : "vm-unavailable",
            "vm-leave-message",
          ];
          // The recorded name, else the extension's digits, then the standard text.
          if (name === undefined) items.unshift(`say:Extension ${digitWords(mailbox)}.`);
          else items.unshift(`file:${name.path}`);
          pressed = await speakInterruptible(leg, prompts, items, "0#");
        }
      } catch (e) {
        log.debug("voicemail deposit: greeting ended", { mailbox, error: e as Error });
      }
      if (pressed === "0") {
        const operator = deps.operator?.();
        if (operator !== undefined && operator !== "") {
          // The caller leaves voicemail for the operator's route (no message is left).
          log.info("voicemail deposit: caller went to the operator", {
            mailbox,
            caller: leg.info.caller,
            operator,
          });
          await leg.continueTo(operator);
          return;
        }
        // No operator: 0 does what # does (on to the tone), as on boxes without an operator set.
        log.info("voicemail deposit: caller asked for the operator; none is set", {
          mailbox,
          caller: leg.info.caller,
        });
      }
      await Deno.mkdir(store.dir(mailbox), { recursive: true });
      const path = `${store.dir(mailbox)}/msg-${crypto.randomUUID()}.wav`;
      try {
        await leg.play({ tone: BEEP, durationMs: 400 });
      } catch {
        log.info("voicemail deposit: caller left before the tone", { mailbox, caller: leg.info.caller });
        return;
      }
      const off = leg.on((ev) => {
        if (ev.type === "dtmf" && ev.digit === "#") void leg.stopRecord();
      });
      let result;
      try {
        result = await leg.record(path, { maxMs: box.maxMessageSeconds * 1000 });
      } catch (e) {
        off();
        log.error("voicemail deposit: recording failed", { mailbox, error: e as Error });
        leg.hangup("recording failed");
        return;
      }
      off();
      const check = await inspectRecording(path, minMs);
      if (!check.ok) {
        await removeQuietly(path);
        log.info("voicemail deposit: nothing kept", { mailbox, caller: leg.info.caller, why: check.why });
      } else {
        const m = store.addMessage({ mailbox, caller: leg.info.caller, durationMs: check.durationMs, path });
        log.info("voicemail message stored", {
          mailbox,
          id: m.id,
          caller: m.caller,
          durationMs: m.durationMs,
          ended: result.reason,
        });
        refreshMwi(deps, mailbox);
        // Transcription (when wired) can take seconds: it and the email run after the call goes on.
        void transcribeAndMail(deps, m, check.samples, check.sampleRate);
      }
      if (result.reason === "hangup") return;
      try {
        if (result.reason === "max") await speak(leg, prompts, "vm-too-long");
        if (check.ok) await speak(leg, prompts, "vm-message-saved");
        await speak(leg, prompts, "goodbye");
      } catch {
        // the caller hung up during the goodbye
      }
      leg.hangup("message left");
    },
  };
}

/** The retrieval application's args. */
export interface RetrieveArgs {
  /** "own": the caller's mailbox; "any": ask for the mailbox number. */
  mode?: "own" | "any";
  dialled?: string;
}

/** `voicemail-retrieve`; see the module doc. */
export function retrieveApplication(deps: VoicemailAppDeps): Application<RetrieveArgs> {
  const { store, prompts, log } = deps;
  const wait = deps.digitTimeoutMs ?? 8000;
  const minMs = deps.minMessageMs ?? 1000;
  const timeZone = deps.timeZone ?? "UTC";

  const collect = (leg: CallLeg, max: number) =>
    leg.collect({ maxDigits: max, timeoutMs: wait, terminators: "#" });

  /** Prompt then read digits; a digit pressed during the prompt starts the entry. */
  const ask = async (leg: CallLeg, prompt: string, max: number): Promise<string | null> => {
    let typed = "";
    const off = leg.on((ev) => {
      if (ev.type === "dtmf" && typed.length === 0) void leg.stopPlay();
      if (ev.type === "dtmf") typed += ev.digit;
    });
    await speak(leg, prompts, prompt);
    off();
    if (typed.includes("#")) return typed.slice(0, typed.indexOf("#"));
    if (typed.length >= max) return typed.slice(0, max);
    const r = await collect(leg, max - typed.length);
    if (r.reason === "hangup") return null;
    return typed + r.digits;
  };

  const listen = async (leg: CallLeg, mailbox: string): Promise<boolean> => {
    const all = store.messages(mailbox);
    const queue = [
      ...all.filter((m) => m.folder === "inbox" && !m.read),
      ...all.filter((m) => m.read || m.folder === "saved"),
    ];
    if (queue.length === 0) {
      await speak(leg, prompts, "vm-no-messages");
      return true;
    }
    for (const first of queue) {
      let m: VoicemailMessage | undefined = first;
      let replay = true;
      while (replay) {
        replay = false;
        m = store.message(m.id);
        if (m === undefined) break;
        const envelope = `Message from ${digitWords(m.caller)}, received ${
          dateTimeWords(m.receivedAt, { timeZone })
        }, ${durationWords(Math.max(1, Math.round(m.durationMs / 1000)))}.`;
        let pressed = await speakInterruptible(leg, prompts, [`say:${envelope}`], "12345#");
        if (pressed === undefined) {
          const off = leg.on((ev) => {
            if (ev.type === "dtmf" && pressed === undefined && "12345#".includes(ev.digit)) {
              pressed = ev.digit;
              void leg.stopPlay();
            }
          });
          log.info("voicemail message played", { mailbox, id: m.id });
          await leg.play({ file: m.path }).finally(off);
        }
        if (!m.read) {
          store.markRead(m.id, true);
          refreshMwi(deps, mailbox);
        }
        if (pressed === undefined) {
          pressed = await speakInterruptible(leg, prompts, ["vm-message-menu"], "12345#");
          if (pressed === undefined) {
            const r = await leg.collect({ maxDigits: 1, timeoutMs: wait });
            if (r.reason === "hangup") return false;
            pressed = r.digits || "#";
          }
        }
        if (pressed === "1") replay = true;
        else if (pressed === "2") {
          store.save(m.id);
          await speak(leg, prompts, "vm-message-saved");
        } else if (pressed === "3") {
          store.deleteMessage(m.id);
          refreshMwi(deps, mailbox);
          log.info("voicemail message deleted by phone", { mailbox, id: m.id });
          await speak(leg, prompts, "vm-message-deleted");
        } else if (pressed === "4") {
          const target = await ask(
            leg,
            "say:Enter the mailbox to forward to, followed by the pound key.",
            32,
          );
          if (target === null) return false;
          const copy = await forwardMessage(deps, m, target);
          await speak(
            leg,
            prompts,
            copy ? "say:Message forwarded." : "say:That mailbox cannot take the message.",
          );
          replay = false;
        } else if (pressed === "5") {
          // Call back the caller through the dialplan; afterwards the next message (if the
          // listener is still here).
          log.info("voicemail call back", { mailbox, id: m.id, to: m.caller });
          await speak(leg, prompts, "transfer-hold");
          const r = await leg.dial(m.caller);
          log.info("voicemail call back ended", { mailbox, to: m.caller, outcome: r.outcome });
          if (r.outcome === "cancelled" || r.outcome === "handedOver") return false;
          if (r.outcome === "answered" && r.by === "caller") return false;
          if (r.outcome !== "answered") {
            await speak(leg, prompts, r.outcome === "busy" ? "vm-busy" : "vm-unavailable");
          }
        }
      }
    }
    await speak(leg, prompts, "say:No more messages.");
    return true;
  };

  const changePin = async (leg: CallLeg, mailbox: string): Promise<void> => {
    const pin = await ask(leg, "say:Please enter your new password followed by the pound key.", 10);
    if (pin === null) return;
    const again = await ask(leg, "say:Please enter it again followed by the pound key.", 10);
    if (again === null) return;
    if (pin !== again) return void await speak(leg, prompts, "say:The passwords do not match.");
    try {
      await store.setPin(mailbox, pin);
      log.info("voicemail PIN changed by phone", { mailbox });
      await speak(leg, prompts, "say:Your password has been changed.");
    } catch {
      await speak(leg, prompts, "say:A password must be four to ten digits.");
    }
  };

  /** Main menu 2: record a greeting from the phone; false when the caller hung up. */
  const recordGreeting = async (leg: CallLeg, mailbox: string): Promise<boolean> => {
    let d = await speakInterruptible(leg, prompts, [
      "say:Press one for your unavailable greeting, two for busy, three for your name, four for a temporary greeting.",
    ], "1234");
    if (d === undefined) {
      const r = await leg.collect({ maxDigits: 1, timeoutMs: wait });
      if (r.reason === "hangup") return false;
      d = r.digits;
    }
    const kind = ({ "1": "unavailable", "2": "busy", "3": "name", "4": "temporary" } as const)[d as "1"];
    if (kind === undefined) {
      await speak(leg, prompts, "menu-invalid");
      return true;
    }
    await speak(leg, prompts, "vm-record-greeting");
    await leg.play({ tone: BEEP, durationMs: 400 });
    await Deno.mkdir(store.dir(mailbox), { recursive: true });
    const path = `${store.dir(mailbox)}/greeting-${kind}-${crypto.randomUUID()}.wav`;
    const off = leg.on((ev) => {
      if (ev.type === "dtmf" && ev.digit === "#") void leg.stopRecord();
    });
    const result = await leg.record(path, { maxMs: MAX_GREETING_RECORD_MS }).finally(off);
    const check = await inspectRecording(path, minMs);
    if (!check.ok) {
      await removeQuietly(path);
      log.info("voicemail greeting not kept", { mailbox, kind, why: check.why });
      if (result.reason === "hangup") return false;
      await speak(leg, prompts, "say:Nothing was recorded.");
      return true;
    }
    store.setGreeting(mailbox, kind, path, check.durationMs);
    log.info("voicemail greeting recorded by phone", { mailbox, kind, durationMs: check.durationMs });
    if (result.reason === "hangup") return false;
    await speak(leg, prompts, "say:Your greeting has been saved.");
    return true;
  };

  return {
    name: "voicemail-retrieve",
    async run(leg, args) {
      if (!await answerAndWait(leg)) return;
      try {
        let mailbox = args.mode === "any" ? "" : leg.info.caller;
        for (let attempt = 0;; attempt++) {
          if (args.mode === "any") {
            const typed = await ask(leg, "vm-enter-mailbox", 32);
            if (typed === null) return;
            mailbox = typed;
          }
          const pin = await ask(leg, "vm-enter-pin", 10);
          if (pin === null) return;
          const check = await store.checkPin(mailbox, pin);
          if (check.ok) break;
          log.warn("voicemail: wrong PIN", {
            mailbox,
            caller: leg.info.caller,
            locked: check.locked,
            remaining: check.remaining,
          });
          if (check.locked) {
            await speak(leg, prompts, "vm-locked");
            await speak(leg, prompts, "goodbye");
            leg.hangup("mailbox locked");
            return;
          }
          await speak(leg, prompts, "vm-pin-wrong");
          if (attempt >= 2) {
            await speak(leg, prompts, "goodbye");
            leg.hangup("wrong PIN");
            return;
          }
        }
        log.info("voicemail: signed in", { mailbox, caller: leg.info.caller });
        const c = store.counts(mailbox);
        await speak(
          leg,
          prompts,
          `say:You have ${countWords(c.newMessages, "new message")} and ${
            countWords(c.oldMessages, "saved message")
          }.`,
        );
        for (let idle = 0; idle < 3;) {
          const choice = await speakInterruptible(leg, prompts, ["vm-main-menu"], "123*");
          let d = choice;
          if (d === undefined) {
            const r = await leg.collect({ maxDigits: 1, timeoutMs: wait });
            if (r.reason === "hangup") return;
            d = r.digits;
          }
          if (d === "1") {
            idle = 0;
            if (!await listen(leg, mailbox)) return;
          } else if (d === "2") {
            idle = 0;
            if (!await recordGreeting(leg, mailbox)) return;
          } else if (d === "3") {
            idle = 0;
            await changePin(leg, mailbox);
          } else if (d === "*") break;
          else {
            idle++;
            await speak(leg, prompts, d === "" ? "menu-timeout" : "menu-invalid");
          }
        }
        await speak(leg, prompts, "goodbye");
        leg.hangup("done");
      } catch (e) {
        // play/collect on an ended call: the caller hung up.
        log.debug("voicemail retrieval ended", { caller: leg.info.caller, error: e as Error });
      }
    },
  };
}
