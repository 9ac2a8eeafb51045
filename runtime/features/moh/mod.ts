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
import type { FeatureModule, HeldParty, HoldHandler } from "../../call/mod.ts";
import type { Logger } from "../../log/mod.ts";
import { defaultMelody } from "./melody.ts";

export { defaultMelody };

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
}

/** Options for `createMusicOnHold`. */
export interface MusicOnHoldOptions {
  media: MohMedia;
  log: Logger;
  /** The class to play: mono PCM and its rate; default the generated melody at 8 kHz. */
  music?: { samples: Int16Array; sampleRate: number };
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
      if (media.playLoop === undefined && !narrowband) {
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
      });
      if (media.playLoop !== undefined) {
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

/** Music on hold as a feature module: it adds the hold handler (appliance/ registers it). */
export function mohFeature(options: MusicOnHoldOptions): FeatureModule & { hold: MusicOnHold } {
  return { name: "moh", hold: createMusicOnHold(options) };
}
