/**
 * The contracts of the paging feature: what it needs from the hardware (speaker devices, amplifier
 * lines, a datagram socket), injected by the appliance so this feature never imports drivers/, and
 * what it offers to the call side (start a page, push audio, end it).
 *
 * @module
 */

/** Page priorities, highest first: emergency > page > bell (bells/announcements) > music. */
export type PagePriority = "emergency" | "page" | "bell" | "music";

/** Numeric rank of each priority (higher wins). */
export const PRIORITY_RANK: Readonly<Record<PagePriority, number>> = {
  emergency: 3,
  page: 2,
  bell: 1,
  music: 0,
};

/**
 * A multi-channel speaker output (drivers/alsa `AlsaWriter` fits structurally). Channels are
 * 0-based; samples are mono 16-bit at `rate`, queued per channel and played in order.
 */
export interface SpeakerDevice {
  /** Device rate in Hz. */
  readonly rate: number;
  /** Device channel count. */
  readonly channels: number;
  /** Why the device stopped working, or null. */
  readonly error: string | null;
  /** Queue mono audio on channels; `hold` keeps them live (silence-filled) until `end`; `tag` reports when written. */
  write(
    channels: readonly number[],
    samples: Int16Array,
    options?: { hold?: boolean; tag?: number; maxQueueMs?: number },
  ): void;
  /** Drop what is queued on channels (pre-emption). */
  flush(channels: readonly number[]): void;
  /** Release channels; resolves when their queue has been written. */
  end(channels: readonly number[]): Promise<void>;
  /** Close the device. */
  close(): Promise<unknown>;
}

/** What the service tells the opener of a device. */
export interface SpeakerOpenHints {
  /** Channels the configured zones need on this device (highest 1-based channel number). */
  channels: number;
  /** Report a written tag (first frame of a tagged chunk reached the device) at epoch ms `at`. */
  onWritten: (tag: number, at: number) => void;
  /** Report that the device failed after opening. */
  onError: (message: string) => void;
}

/** Opens a speaker device by name (the appliance passes `AlsaWriter.open`). Rejects with a clear Error. */
export type OpenSpeaker = (device: string, hints: SpeakerOpenHints) => Promise<SpeakerDevice>;

/** An amplifier-enable line (drivers/gpio `OutputLine` fits structurally). */
export interface AmpLine {
  set(on: boolean): Promise<void>;
  close(): Promise<void>;
}

/** Opens an amplifier line from its spec; throws a clear Error when it cannot. */
export type OpenAmpLine = (spec: string) => AmpLine;

/** A sender of UDP datagrams for multicast paging. */
export interface DatagramSender {
  send(packet: Uint8Array, address: string, port: number, options: { ttl: number; interface?: string }): void;
  close(): void;
}

/** A frame of caller audio: mono 16-bit PCM at `sampleRate`. */
export interface PcmFrame {
  samples: Int16Array;
  sampleRate: number;
}

/** How a page ended. */
export type PageOutcome = "completed" | "preempted" | "busy" | "failed" | "cancelled";

/** The result of a page. */
export interface PageResult {
  outcome: PageOutcome;
  /** Detail for "failed" (device errors), empty otherwise. */
  detail: string;
  /** The page log id, or null when the page was refused before starting. */
  logId: number | null;
}

/** Who started a page. */
export interface PageOrigin {
  /** The calling extension, when a phone pages. */
  extension?: string;
  /** Otherwise a label: "schedule:3", "api:admin". */
  label?: string;
}

/** Options of {@linkcode PagingService.startPage}. */
export interface StartPageOptions {
  /** A zone or group number (as dialled). */
  target: string;
  /** Default "page". */
  priority?: PagePriority;
  origin: PageOrigin;
  /** Record the page to a WAV under the service's recording directory. */
  record?: boolean;
  /** Play the zones' pre-announce tone (default true). */
  preTone?: boolean;
  /** Play the zones' post-announce tone (default true). */
  postTone?: boolean;
  /** Told when a higher-priority page takes zones away from this one. */
  onPreempted?: (zones: readonly string[]) => void;
  /**
   * Told when the page has lasted the zones' maximum page duration (the shortest non-zero
   * `maxPageSec` of its zones): the caller should end it. Without it the page has no time limit.
   */
  onTimeLimit?: (limitSec: number) => void;
  /** Tag for latency measurement: `onFirstWritten` fires when the first pushed frame reaches a speaker. */
  onFirstWritten?: (at: number) => void;
}

/** The live side of a page: the call's media leg pushes audio into it. */
export interface PageHandle {
  /** Page log id (null when refused). */
  readonly id: number | null;
  /** Zones this page targets. */
  readonly zones: readonly string[];
  /** "rejected" right after startPage when every zone was busy. */
  readonly state: "starting" | "live" | "ending" | "ended" | "rejected";
  /** Push caller audio (any rate; resampled and gain-controlled per zone). Ignored once ending. */
  push(frame: PcmFrame): void;
  /**
   * Push audio and be told (`onWritten(at)`, epoch ms) when its first sample reaches a speaker
   * device: the latency probe the benchmark uses.
   */
  pushTracked(frame: PcmFrame, onWritten: (at: number) => void): void;
  /** The caller hung up: play the post-tone, drain, release. Resolves with the result. */
  end(): Promise<PageResult>;
  /** Stop at once without post-tone (the call failed). */
  cancel(): Promise<PageResult>;
  /** Resolves when the page is over, however it ended. */
  readonly done: Promise<PageResult>;
}

/** A zone in the live status. */
export interface ZoneStatus {
  number: string;
  name: string;
  state: "idle" | "paging" | "faulty" | "disabled";
  /** Why the zone is faulty. */
  fault?: string;
  /** The page on it. */
  page?: { id: number | null; priority: PagePriority; origin: string };
}
