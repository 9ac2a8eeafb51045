/**
 * Music on hold: when a phone holds a call (sendonly, inactive or c=0.0.0.0), the held party hears
 * music from the box until the call is resumed, then the bridge carries the other party again.
 *
 * The B2BUA tells a `HoldHandler` (runtime/call) about hold and resume with the held party's media
 * leg; this module is that handler. It loops the current class (the default is `defaultMelody()`,
 * generated, royalty-free) into the leg through the media plane's player, which holds back the
 * bridged audio toward that leg while it plays. Today's player sends G.711 only: a held party whose
 * leg speaks G.722 or Opus gets music once the media plane offers `playLoop` (a player in the leg's
 * negotiated codec; the seam below), and until then is logged and left in silence.
 * @module
 */
import type { Context } from "hono";
import type { FeatureModule, FeatureWebEnv, HeldParty, HoldHandler } from "../../call/mod.ts";
import type { Logger } from "../../log/mod.ts";
import { defaultMelody } from "./melody.ts";
import { MAX_CLASS_BYTES, MohClassError, type MohClasses } from "./classes.ts";

export { defaultMelody };
export * from "./classes.ts";

/** What music on hold needs from the media plane (MediaPlane satisfies the first two). */
export interface MohMedia {
  /** Play 8 kHz PCM as G.711 into a leg; resolves when it ends, is stopped or replaced. */
  playPcm(legId: string, samples: Int16Array): Promise<unknown>;
  stopPlay(legId: string): Promise<boolean>;
  /**
   * Seam for the media worker's player in the leg's negotiated codec at any rate, looping until
   * stopPlay. When present it is used for every leg (narrowband and wideband).
   */
  playLoop?(legId: string, audio: { samples: Int16Array; sampleRate: number }): Promise<unknown>;
  /** Loop a WAV file (an uploaded class) in the leg's codec, resampled by the worker, until stopPlay. */
  playFile?(legId: string, path: string): Promise<unknown>;
}

/** Options for `createMusicOnHold`. */
export interface MusicOnHoldOptions {
  media: MohMedia;
  log: Logger;
  /** The class to play: mono PCM and its rate; default the generated melody at 8 kHz. */
  music?: { samples: Int16Array; sampleRate: number };
  /** Uploaded classes; the selected one is played (through `media.playFile`) instead of `music`. */
  classes?: MohClasses;
}

/** The running music-on-hold handler; `playing` lists the legs it plays into (for tests, status). */
export interface MusicOnHold extends HoldHandler {
  readonly playing: ReadonlySet<string>;
}

const G711 = /^(PCMU|PCMA)\//i;

/** Build the hold handler the B2BUA is given (`B2buaOptions.hold`). */
export function createMusicOnHold(options: MusicOnHoldOptions): MusicOnHold {
  const { media, log } = options;
  const music = options.music ?? { samples: defaultMelody(8000), sampleRate: 8000 };
  const playing = new Set<string>();

  const loopG711 = async (legId: string) => {
    if (music.sampleRate !== 8000) {
      log.warn("music on hold: the G.711 player needs 8 kHz music", { rate: music.sampleRate });
      return;
    }
    while (playing.has(legId)) {
      try {
        await media.playPcm(legId, music.samples);
      } catch (e) {
        // The leg went away (call ended) or the plane refused: stop looping.
        log.debug("music on hold stopped by the media plane", { leg: legId, error: e as Error });
        playing.delete(legId);
      }
    }
  };

  return {
    playing,
    held(party: HeldParty) {
      if (playing.has(party.legId)) return;
      const narrowband = party.codec === undefined || G711.test(party.codec);
      // An uploaded class is played by the worker in the leg's own codec, narrow- or wideband.
      const file = media.playFile ? options.classes?.selectedFile() : undefined;
      if (file === undefined && media.playLoop === undefined && !narrowband) {
        log.warn("music on hold: no player for this codec yet; the held party hears silence", {
          call: party.callId,
          codec: party.codec,
        });
        return;
      }
      playing.add(party.legId);
      log.info("music on hold started", {
        call: party.callId,
        leg: party.legId,
        codec: party.codec ?? "G.711",
        class: file === undefined ? "default" : options.classes!.selected(),
      });
      if (file !== undefined) {
        media.playFile!(party.legId, file).catch((e) => {
          playing.delete(party.legId);
          log.warn("music on hold failed", { call: party.callId, file, error: e as Error });
        });
      } else if (media.playLoop !== undefined) {
        media.playLoop(party.legId, music).catch((e) => {
          playing.delete(party.legId);
          log.warn("music on hold failed", { call: party.callId, error: e as Error });
        });
      } else void loopG711(party.legId);
    },
    async resumed(party: HeldParty) {
      if (!playing.delete(party.legId)) return;
      log.info("music on hold stopped", { call: party.callId, leg: party.legId });
      await media.stopPlay(party.legId).catch(() => false);
    },
  };
}

/**
 * Music on hold as a feature module: the hold handler, and with `classes` the API that uploads,
 * lists, deletes and selects classes (`/api/moh/classes`, admin only; the appliance registers it).
 */
export function mohFeature(options: MusicOnHoldOptions): FeatureModule & { hold: MusicOnHold } {
  const classes = options.classes;
  if (classes === undefined) return { name: "moh", hold: createMusicOnHold(options) };
  return {
    name: "moh",
    hold: createMusicOnHold(options),
    web: {
      routes(api, kit) {
        const guard = <T>(fn: () => T): T => {
          try {
            return fn();
          } catch (e) {
            if (e instanceof MohClassError) kit.fail(e.status, e.message);
            throw e;
          }
        };
        api.use("/moh/*", kit.requireAdmin);
        api.get("/moh/classes", (c) => c.json({ classes: classes.list(), maxBytes: MAX_CLASS_BYTES }));
        // PUT (API) or POST (the page's upload helper): the body is the WAV file.
        const put = async (c: Context<FeatureWebEnv>) => {
          const name = c.req.param("name") ?? "";
          const bytes = await kit.readBody(c, MAX_CLASS_BYTES);
          const cls = guard(() => classes.put(name, bytes));
          kit.audit(c, "moh.class.upload", `${name} (${bytes.length} bytes)`);
          options.log.info("music-on-hold class uploaded", { class: name, bytes: bytes.length });
          return c.json(cls, 201);
        };
        api.put("/moh/classes/:name", put);
        api.post("/moh/classes/:name", put);
        api.delete("/moh/classes/:name", (c) => {
          const name = c.req.param("name");
          guard(() => classes.delete(name));
          kit.audit(c, "moh.class.delete", name);
          return c.body(null, 204);
        });
        api.put("/moh/selected", async (c) => {
          const body = await c.req.json().catch(() => undefined) as { class?: unknown } | undefined;
          const name = body?.class;
          if (typeof name !== "string") return kit.fail(400, 'body must be {"class": "<name>"}');
          guard(() => classes.select(name));
          kit.audit(c, "moh.class.select", name);
          return c.json({ selected: classes.selected() });
        });
      },
      uploads: ["/api/moh/classes/"],
      pages: [{
        path: "/moh",
        title: "Music on hold",
        script: new URL("./web/moh.js", import.meta.url),
        render: ({ html, dataTable }) =>
          html`
            <p>What callers hear while they are on hold. Upload a WAV file (PCM16, mu-law or A-law, any rate
                        from 8 to 48 kHz, mono or stereo; at most <span id="moh-limit"></span>): the box plays it in each
                        caller's own codec.</p>
                        ${dataTable("moh-table", ["Class", "Audio", "Size", "In use", ""])}
                        <form id="moh-form" class="stack card">
              <h3>Upload a class</h3>
              <label for="moh-name">Name (lower-case letters, digits, - and _)</label>
              <input id="moh-name" name="name" required pattern="[a-z0-9][a-z0-9_\\-]{0,31}" autocomplete="off">
              <label for="moh-file">WAV file</label>
              <input id="moh-file" name="file" type="file" accept=".wav,audio/wav,audio/x-wav" required>
              <div class="buttons"><button type="submit">Upload</button></div>
            </form>
          `,
      }],
      openapi: MOH_OPENAPI,
    },
  };
}

const MOH_OPENAPI = {
  "/api/moh/classes": {
    get: {
      summary: "Music-on-hold classes (the built-in one first) and which is selected",
      tags: ["music on hold"],
      responses: {
        "200": {
          description:
            "{ classes: [{ name, builtin, selected, sampleRate, channels, durationMs, bytes }], maxBytes }",
        },
      },
    },
  },
  "/api/moh/classes/{name}": {
    put: {
      summary:
        "Upload a class: the request body is a WAV file (PCM16, mu-law or A-law; any rate 8-48 kHz, any channels)",
      tags: ["music on hold"],
      parameters: [{ name: "name", in: "path", required: true, schema: { type: "string" } }],
      requestBody: { content: { "audio/wav": { schema: { type: "string", format: "binary" } } } },
      responses: {
        "201": { description: "The class as listed" },
        "400": { description: "Not a usable WAV file, or a bad name; the message says what is wrong" },
        "409": { description: "The built-in class cannot be replaced" },
        "413": { description: "Larger than maxBytes" },
      },
    },
    delete: {
      summary: "Delete an uploaded class (the selection falls back to the built-in one)",
      tags: ["music on hold"],
      parameters: [{ name: "name", in: "path", required: true, schema: { type: "string" } }],
      responses: { "204": { description: "Deleted" }, "404": { description: "No such class" } },
    },
  },
  "/api/moh/selected": {
    put: {
      summary: "Choose the class held parties hear",
      tags: ["music on hold"],
      requestBody: {
        content: {
          "application/json": { schema: { type: "object", properties: { class: { type: "string" } } } },
        },
      },
      responses: { "200": { description: "{ selected }" }, "404": { description: "No such class" } },
    },
  },
};
