/**
 * Interfaces the call layer needs from below (media plane, storage) and offers above (live status).
 * The appliance wires concrete implementations to them.
 */

/** One RTP/RTCP port pair anchored at the box. */
export interface MediaLeg {
  legId: string;
  address: string;
  rtpPort: number;
  rtcpPort: number;
}

/** What the call layer asks of the media plane (runtime/media/relay's MediaPlane satisfies it). */
export interface MediaPort {
  allocateLeg(): Promise<MediaLeg>;
  configureLeg(
    legId: string,
    config: { remote?: { address: string; port: number; rtcpPort?: number } | undefined },
  ): Promise<void>;
  bridge(legA: string, legB: string): Promise<void>;
  releaseLeg(legId: string): Promise<void>;
}

/** How a call ended, as written to the call records. */
export type Disposition =
  | "answered"
  | "busy"
  | "no-answer"
  | "cancelled"
  | "failed"
  | "unavailable"
  | "not-found"
  | "rejected";

/** One finished call, as handed to the CDR store. */
export interface CallRecord {
  callId: string;
  caller: string;
  callee: string;
  callerName?: string;
  startedAt: number;
  answeredAt?: number;
  endedAt: number;
  durationMs: number;
  billsecMs: number;
  disposition: Disposition;
  hangupBy: "caller" | "callee" | "system";
  sipCode: number;
  reason?: string;
}

/** Where finished calls go. */
export interface CallRecordSink {
  insert(record: CallRecord): void;
}

/** A live call for the API and the dashboard. */
export interface LiveCall {
  id: string;
  caller: string;
  callee: string;
  state: "dialing" | "ringing" | "answered";
  startedAt: number;
  answeredAt?: number;
}
