/**
 * Voicemail as a feature module (runtime/call/feature.ts): a mailbox per extension (store.ts),
 * the deposit and retrieval applications (apps.ts), the numbers (`*97` own mailbox and `*98` any
 * mailbox are feature codes; `*99NNN` leaves a message for NNN directly), "then voicemail" after
 * an extension's busy / no answer / unavailable, and the visual-voicemail REST API. See
 * docs/voicemail.md.
 *
 * ```ts
 * const vm = voicemailFeature({ db: storage.db, dataDir, clock, exists, prompts, mwi, mail, log });
 * // features: [..., vm]
 * ```
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import type { Context } from "hono";
import type { Hono } from "hono";
import type { FeatureModule, FeatureWebEnv, FeatureWebKit } from "../../call/mod.ts";
import type { Claim, PlanMatch, Route, Step } from "../../call/route/mod.ts";
import type { Clock } from "../../clock/mod.ts";
import type { Logger } from "../../log/mod.ts";
import { readWav, writeWav } from "../../media/wav/mod.ts";
import * as m060 from "../../storage/migrations/060_voicemail.ts";
import * as m062 from "../../storage/migrations/062_voicemail_transcripts.ts";
import {
  depositApplication,
  type DepositArgs,
  retrieveApplication,
  type VoicemailAppDeps,
  type VoicemailMail,
  type VoicemailPrompts,
} from "./apps.ts";
import { createVoicemailStore, GREETING_KINDS, type GreetingKind, type VoicemailStore } from "./store.ts";
import { openapi } from "./openapi.ts";

export * from "./store.ts";
export * from "./apps.ts";

/** Options of `voicemailFeature`. */
export interface VoicemailFeatureOptions {
  db: DatabaseSync;
  dataDir: string;
  clock: Pick<Clock, "wallNow">;
  /** Whether an extension exists (mailboxes exist for extensions only). */
  exists(extension: string): boolean;
  prompts: VoicemailPrompts;
  mwi(mailbox: string, counts: { newMessages: number; oldMessages: number }): void;
  mail?: VoicemailMail | undefined;
  log: Logger;
  /** Offline transcription of 16 kHz audio (see VoicemailAppDeps.transcribe). */
  transcribe?: VoicemailAppDeps["transcribe"];
  /** Direct-deposit prefix (default `*99`: `*99201` leaves a message for 201); null: none. */
  depositPrefix?: string | null;
  /** Store options for tests (PIN iterations, lockout). */
  pbkdf2Iterations?: number;
  maxPinFailures?: number;
  lockoutMs?: number;
  minMessageMs?: number;
  digitTimeoutMs?: number;
  timeZone?: string;
  /**
   * Box settings (the `voicemail.operator` number: where `0` during a greeting leads, set with
   * `PUT /api/voicemail/settings`); absent: no operator.
   */
  settings?: { get<T>(key: string): T | undefined; set(key: string, value: unknown): void };
  /** The box's web UI address for the link in new-message mails (read when mailing). */
  webUrl?: () => string | undefined;
}

/** The settings key of the operator number. */
export const OPERATOR_SETTING = "voicemail.operator";

/** Largest greeting upload. */
export const MAX_GREETING_BYTES = 10 * 1024 * 1024;
/** Longest greeting. */
export const MAX_GREETING_MS = 3 * 60_000;

const DEPOSIT = "voicemail-deposit";

/** The step that leaves a message in `mailbox`. */
export function depositStep(mailbox: string, reason: DepositArgs["reason"]): Step {
  return { destination: { kind: "application", name: DEPOSIT, args: { mailbox, reason } } };
}

/**
 * "Then voicemail": busy goes to the busy greeting, no answer and unavailable to the unavailable
 * one. Continuations already set by an earlier feature are kept; a route that already ends in
 * voicemail is left alone.
 */
export function withVoicemail(extension: string, route: Route): Route {
  if (route.steps.length === 0) return route;
  if (route.steps.some((s) => s.destination.kind === "application" && s.destination.name === DEPOSIT)) {
    return route;
  }
  const steps = route.steps.map((s) => {
    if (s.destination.kind !== "extension" || s.destination.number !== extension) return s;
    return { ...s, on: { busy: { steps: [depositStep(extension, "busy")] }, ...s.on } };
  });
  return { steps: [...steps, depositStep(extension, "unavailable")] };
}

/**
 * Remove `<file>.part` recordings a crash left behind (no row refers to them; the recorder renames
 * a finished file), so a crash mid-recording leaves no message and no litter.
 */
export function removePartials(root: string, log: Logger): number {
  let removed = 0;
  let boxes: Deno.DirEntry[];
  try {
    boxes = [...Deno.readDirSync(root)];
  } catch {
    return 0; // no voicemail yet
  }
  for (const box of boxes) {
    if (!box.isDirectory) continue;
    for (const f of Deno.readDirSync(`${root}/${box.name}`)) {
      if (!f.isFile || !f.name.endsWith(".part")) continue;
      try {
        Deno.removeSync(`${root}/${box.name}/${f.name}`);
        removed++;
      } catch (e) {
        log.warn("voicemail: could not remove a partial recording", { file: f.name, error: e as Error });
      }
    }
  }
  if (removed > 0) log.info("voicemail: removed recordings a crash cut off", { count: removed });
  return removed;
}

/** Voicemail as a feature module; `store` is exposed for the appliance and tests. */
export function voicemailFeature(
  options: VoicemailFeatureOptions,
): FeatureModule & { store: VoicemailStore } {
  const store = createVoicemailStore(options.db, {
    clock: options.clock,
    dataDir: options.dataDir,
    exists: options.exists,
    ...(options.pbkdf2Iterations !== undefined ? { pbkdf2Iterations: options.pbkdf2Iterations } : {}),
    ...(options.maxPinFailures !== undefined ? { maxPinFailures: options.maxPinFailures } : {}),
    ...(options.lockoutMs !== undefined ? { lockoutMs: options.lockoutMs } : {}),
  });
  const deps: VoicemailAppDeps = {
    store,
    prompts: options.prompts,
    mwi: options.mwi,
    mail: options.mail,
    log: options.log,
    transcribe: options.transcribe,
    ...(options.minMessageMs !== undefined ? { minMessageMs: options.minMessageMs } : {}),
    ...(options.digitTimeoutMs !== undefined ? { digitTimeoutMs: options.digitTimeoutMs } : {}),
    ...(options.timeZone !== undefined ? { timeZone: options.timeZone } : {}),
    ...(options.webUrl !== undefined ? { webUrl: options.webUrl } : {}),
    ...(options.settings !== undefined
      ? { operator: () => options.settings!.get<string>(OPERATOR_SETTING) ?? undefined }
      : {}),
  };
  const prefix = options.depositPrefix === undefined ? "*99" : options.depositPrefix;
  const claims: Claim[] = prefix === null ? [] : [{
    pattern: `_${prefix}XX!`,
    owner: { kind: "voicemail", id: "deposit", label: "voicemail deposit" },
    purpose: `leave a voicemail for extension NNN (${prefix}NNN)`,
  }];
  const refresh = (mailbox: string) => {
    try {
      options.mwi(mailbox, store.counts(mailbox));
    } catch (e) {
      options.log.warn("voicemail: MWI update failed", { mailbox, error: e as Error });
    }
  };
  removePartials(`${options.dataDir}/voicemail`, options.log);
  // The message-summary state lives in memory: after a restart phones learn the stored counts again.
  for (const b of store.list()) {
    const c = store.counts(b.mailbox);
    if (c.newMessages + c.oldMessages > 0) refresh(b.mailbox);
  }
  return {
    name: "voicemail",
    store,
    migrations: [m060, m062],
    numbers: () => claims,
    routing: {
      routeFor(match: PlanMatch): Route | undefined {
        const { owner } = match.claim;
        if (owner.kind === "feature-code" && (owner.id === "voicemail.own" || owner.id === "voicemail.any")) {
          const mode = owner.id === "voicemail.own" ? "own" : "any";
          return {
            steps: [{ destination: { kind: "application", name: "voicemail-retrieve", args: { mode } } }],
          };
        }
        if (owner.kind === "voicemail" && owner.id === "deposit") {
          return { steps: [depositStep(match.suffix, "direct")] };
        }
        return undefined;
      },
      extensionRoute(extension, route) {
        const box = store.configured(extension);
        return box?.enabled ? withVoicemail(extension, route) : route;
      },
    },
    applications: [depositApplication(deps), retrieveApplication(deps)],
    web: {
      openapi,
      // Greeting uploads (up to MAX_GREETING_BYTES) are bounded by the routes themselves.
      uploads: ["/api/voicemail/mailboxes/"],
      // Visual voicemail (replaces the web layer's stand-in at /voicemail).
      pages: [{
        path: "/voicemail",
        title: "Voicemail",
        admin: false,
        script: new URL("./web/voicemail.js", import.meta.url),
        render: ({ html, dataTable, user }) =>
          html`
            <p id="vm-none" hidden>${user.role === "admin"
              ? "No extension has a mailbox yet."
              : "Your account has no extension, so no mailbox."}</p>
            <div id="vm-main" class="stack">
              <label for="vm-mailbox">Mailbox</label>
              <select id="vm-mailbox"></select>
              <p>Messages: <span id="vm-counts"></span></p>
              ${dataTable("vm-table", ["From", "Received", "Length", "Status", "Play", ""])}
              <p id="vm-empty" hidden>No messages.</p>
              <form id="vm-settings" class="stack card">
                <h3>Email</h3>
                <label for="vm-email">New messages are mailed to (empty: none)</label>
                <input id="vm-email" name="email" type="email" autocomplete="email">
                <div class="buttons"><button type="submit">Save</button></div>
              </form>
              <form id="vm-pin-form" class="stack card">
                <h3>PIN</h3>
                <label for="vm-pin">New PIN (4 to 10 digits; also lifts a lockout)</label>
                <input id="vm-pin" name="pin" inputmode="numeric" pattern="[0-9]{4,10}" required autocomplete="off">
                <div class="buttons"><button type="submit">Change PIN</button></div>
              </form>
              <form id="vm-greeting-form" class="stack card">
                <h3>Greeting</h3>
                <label for="vm-greeting-kind">Which greeting</label>
                <select id="vm-greeting-kind" name="kind">
                  <option value="unavailable">Unavailable</option>
                  <option value="busy">Busy</option>
                  <option value="name">Name</option>
                  <option value="temporary">Temporary (played instead of the others)</option>
                </select>
                <label for="vm-greeting-file">WAV file (any rate, mono or stereo, at most 3 minutes)</label>
                <input id="vm-greeting-file" name="file" type="file" accept=".wav,audio/wav,audio/x-wav" required>
                <div class="buttons"><button type="submit">Upload</button></div>
              </form>
            </div>
          `,
      }],
      routes(api: Hono<FeatureWebEnv>, kit: FeatureWebKit) {
        const mine = (c: Context<FeatureWebEnv>, mailbox: string) => {
          const user = c.get("user");
          if (user.role !== "admin" && user.extension !== mailbox) {
            kit.fail(403, "a user sees only their own mailbox");
          }
          const box = store.mailbox(mailbox);
          if (box === undefined) kit.fail(404, `no mailbox ${JSON.stringify(mailbox.slice(0, 40))}`);
          return box;
        };
        const messageOf = (c: Context<FeatureWebEnv>) => {
          const id = Number(c.req.param("id"));
          const m = Number.isSafeInteger(id) ? store.message(id) : undefined;
          if (m === undefined) kit.fail(404, `no message ${JSON.stringify(c.req.param("id")?.slice(0, 20))}`);
          mine(c, m.mailbox);
          return m;
        };
        const json = async (c: Context<FeatureWebEnv>): Promise<Record<string, unknown>> => {
          const bytes = await kit.readBody(c, 64 * 1024);
          try {
            const v = JSON.parse(new TextDecoder().decode(bytes));
            if (v === null || typeof v !== "object" || Array.isArray(v)) throw new TypeError();
            return v as Record<string, unknown>;
          } catch {
            kit.fail(400, "the body must be a JSON object");
          }
        };
        const view = (mailbox: string) => ({ ...store.mailbox(mailbox)!, ...store.counts(mailbox) });

        api.get(
          "/voicemail/settings",
          kit.requireAdmin,
          (c) => c.json({ operator: options.settings?.get<string>(OPERATOR_SETTING) ?? null }),
        );
        api.put("/voicemail/settings", kit.requireAdmin, async (c) => {
          if (options.settings === undefined) {
            kit.fail(503, "voicemail settings are not available in this build");
          }
          const body = await json(c);
          const op = body.operator;
          if (op !== null && (typeof op !== "string" || !/^[0-9*#]{1,16}$/.test(op))) {
            kit.fail(400, "operator must be a number (0-9 * #, 1-16) or null");
          }
          options.settings.set(OPERATOR_SETTING, op);
          kit.audit(c, "voicemail.settings", `operator=${op ?? "none"}`);
          return c.json({ operator: op });
        });
        api.get("/voicemail/mailboxes", (c) => {
          const user = c.get("user");
          if (user.role === "admin") return c.json({ mailboxes: store.list().map((b) => view(b.mailbox)) });
          const own = user.extension !== undefined ? store.mailbox(user.extension) : undefined;
          return c.json({ mailboxes: own ? [view(own.mailbox)] : [] });
        });
        api.get("/voicemail/mailboxes/:mailbox", (c) => {
          const box = mine(c, c.req.param("mailbox"));
          return c.json(view(box.mailbox));
        });
        api.put("/voicemail/mailboxes/:mailbox", async (c) => {
          const box = mine(c, c.req.param("mailbox"));
          const body = await json(c);
          const admin = c.get("user").role === "admin";
          for (const k of Object.keys(body)) {
            if (!["enabled", "email", "maxMessages", "maxMessageSeconds"].includes(k)) {
              kit.fail(400, `unknown field ${JSON.stringify(k.slice(0, 40))}`);
            }
            if (k !== "email" && !admin) kit.fail(403, `${k} needs the admin role`);
          }
          try {
            store.update(box.mailbox, body as never);
          } catch (e) {
            kit.fail(400, (e as Error).message);
          }
          kit.audit(c, "voicemail.settings", `${box.mailbox} ${Object.keys(body).join(",")}`);
          return c.json(view(box.mailbox));
        });
        api.put("/voicemail/mailboxes/:mailbox/pin", async (c) => {
          const box = mine(c, c.req.param("mailbox"));
          const { pin } = await json(c);
          try {
            await store.setPin(box.mailbox, pin as string);
          } catch (e) {
            kit.fail(400, (e as Error).message);
          }
          kit.audit(c, "voicemail.pin", box.mailbox);
          return c.json(view(box.mailbox));
        });
        api.get("/voicemail/mailboxes/:mailbox/messages", (c) => {
          const box = mine(c, c.req.param("mailbox"));
          return c.json({
            ...store.counts(box.mailbox),
            messages: store.messages(box.mailbox).map(({ path: _path, ...m }) => m),
          });
        });
        api.get("/voicemail/messages/:id/audio", async (c) => {
          const m = messageOf(c);
          let bytes: Uint8Array<ArrayBuffer>;
          try {
            bytes = await Deno.readFile(m.path);
          } catch {
            kit.fail(404, `the audio of message ${m.id} is missing`);
          }
          kit.audit(c, "voicemail.play", `${m.mailbox}/${m.id}`);
          const headers: Record<string, string> = { "content-type": "audio/wav" };
          if (c.req.query("download") === "1") {
            headers["content-disposition"] = `attachment; filename="voicemail-${m.mailbox}-${m.id}.wav"`;
          }
          return c.body(bytes, 200, headers);
        });
        api.patch("/voicemail/messages/:id", async (c) => {
          const m = messageOf(c);
          const body = await json(c);
          if (typeof body.read !== "boolean") kit.fail(400, "read must be true or false");
          store.markRead(m.id, body.read);
          refresh(m.mailbox);
          const { path: _path, ...rest } = store.message(m.id)!;
          return c.json(rest);
        });
        api.delete("/voicemail/messages/:id", (c) => {
          const m = messageOf(c);
          store.deleteMessage(m.id);
          refresh(m.mailbox);
          kit.audit(c, "voicemail.delete", `${m.mailbox}/${m.id}`);
          return c.body(null, 204);
        });
        // PUT, and POST as the web UI's upload helper sends it.
        api.on(["PUT", "POST"], "/voicemail/mailboxes/:mailbox/greetings/:kind", async (c) => {
          const box = mine(c, c.req.param("mailbox"));
          const kind = c.req.param("kind") as GreetingKind;
          if (!GREETING_KINDS.includes(kind)) kit.fail(404, `greetings are ${GREETING_KINDS.join(", ")}`);
          const bytes = await kit.readBody(c, MAX_GREETING_BYTES);
          let wav;
          try {
            wav = readWav(bytes);
          } catch (e) {
            kit.fail(e instanceof SyntaxError ? 415 : 400, `not a usable WAV: ${(e as Error).message}`);
          }
          const frames = Math.floor(wav.samples.length / wav.channels);
          const durationMs = Math.round(frames * 1000 / wav.sampleRate);
          if (frames === 0) kit.fail(400, "the WAV holds no audio");
          if (durationMs > MAX_GREETING_MS) {
            kit.fail(413, `a greeting may be at most ${MAX_GREETING_MS / 1000} s`);
          }
          const mono = new Int16Array(frames);
          for (let i = 0; i < frames; i++) {
            let s = 0;
            for (let ch = 0; ch < wav.channels; ch++) s += wav.samples[i * wav.channels + ch]!;
            mono[i] = Math.round(s / wav.channels);
          }
          await Deno.mkdir(store.dir(box.mailbox), { recursive: true });
          const path = `${store.dir(box.mailbox)}/greeting-${kind}-${crypto.randomUUID()}.wav`;
          await Deno.writeFile(`${path}.part`, writeWav({ sampleRate: wav.sampleRate, channels: 1 }, mono));
          await Deno.rename(`${path}.part`, path);
          store.setGreeting(box.mailbox, kind, path, durationMs);
          kit.audit(c, "voicemail.greeting", `${box.mailbox} ${kind}`);
          return c.json({ mailbox: box.mailbox, kind, durationMs, sampleRate: wav.sampleRate });
        });
        api.delete("/voicemail/mailboxes/:mailbox/greetings/:kind", (c) => {
          const box = mine(c, c.req.param("mailbox"));
          const kind = c.req.param("kind") as GreetingKind;
          if (!GREETING_KINDS.includes(kind) || !store.deleteGreeting(box.mailbox, kind)) {
            kit.fail(404, `no ${kind} greeting`);
          }
          return c.body(null, 204);
        });
      },
    },
  };
}
