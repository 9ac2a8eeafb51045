/**
 * Paging: zones (an ALSA output and/or a multicast group), groups and all-call, priorities with
 * pre-emption, amplifier-enable lines, pre/post-announce tones, AGC, multicast RTP and Polycom
 * group paging, scheduled bells with time zones and DST, and the page log.
 *
 * The hardware comes in through interfaces (`OpenSpeaker`, `OpenAmpLine`, `DatagramSender`): the
 * appliance wires drivers/alsa `AlsaWriter.open` and drivers/gpio `openLine` in.
 *
 * @example
 * ```ts
 * const paging = new PagingService({ store: storage.paging, openSpeaker, openAmpLine });
 * if (paging.canPage("201", "71")) {
 *   const page = paging.startPage({ target: "71", origin: { extension: "201" } });
 *   page.push({ samples: pcm, sampleRate: 8000 }); // from the call's media leg
 *   await page.end();                              // caller hung up
 * }
 * ```
 *
 * @module
 */
export { PagingService, type PagingServiceOptions } from "./service.ts";
export {
  type AmpLine,
  type DatagramSender,
  type OpenAmpLine,
  type OpenSpeaker,
  type PageHandle,
  type PageOrigin,
  type PageOutcome,
  type PagePriority,
  type PageResult,
  type PcmFrame,
  PRIORITY_RANK,
  type SpeakerDevice,
  type SpeakerOpenHints,
  type StartPageOptions,
  type ZoneStatus,
} from "./types.ts";
export { Agc, type AgcOptions, applyVolume } from "./agc.ts";
export { type LocalTime, localTime, nextOccurrence, type WeeklyRule, zonedToEpoch } from "./calendar.ts";
export {
  createUdpSender,
  MulticastStream,
  type MulticastStreamOptions,
  parsePolycomPacket,
  POLYCOM_CODEC,
  POLYCOM_OP,
  type PolycomPacket,
  writePolycomHeader,
} from "./multicast.ts";
export { LATENCY_PROBE_EVERY, type PageArgs, pagingApplication, pagingFeature } from "./application.ts";
