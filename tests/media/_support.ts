/**
 * Helpers for media tests: a scripted RTP endpoint on 127.0.0.1 (it sends frames encoded with the
 * box's own codec registry and keeps what it receives), decoding received streams, and a sipp UAS
 * scenario whose SDP names that endpoint's port, so a "phone" can speak any codec the registry has
 * (G.729 included, which Debian's baresip lacks).
 *
 * @module
 */
import dgram from "node:dgram";
import type { Buffer } from "node:buffer";
import { type AudioCodec, defaultRegistry, frameSamples } from "../../runtime/media/codec/mod.ts";
import {
  type Appliance,
  correlate,
  describeSipp,
  PEER_MEDIA_BAND,
  pickPortRange,
  runSipp,
  type SippRun,
  startSipp,
} from "../_harness/mod.ts";
import {
  decodeTelephoneEvent,
  parseRtp,
  type RtpHeader,
  writeRtpHeader,
} from "../../runtime/media/rtp/rtp.ts";

/** One received RTP packet. */
export interface ReceivedRtp {
  header: RtpHeader;
  payload: Uint8Array;
  from: { address: string; port: number };
}

/** A UDP socket speaking RTP. */
export class RtpPeer {
  readonly socket: dgram.Socket;
  readonly received: ReceivedRtp[] = [];
  port = 0;
  #seq = Math.floor(Math.random() * 65535);
  #ts = Math.floor(Math.random() * 2 ** 31);
  #ssrc = Math.floor(Math.random() * 2 ** 31);
  #timer: ReturnType<typeof setInterval> | undefined;

  private constructor(socket: dgram.Socket) {
    this.socket = socket;
    socket.on("message", (msg: Buffer, rinfo: dgram.RemoteInfo) => {
      const u8 = new Uint8Array(msg);
      const header = parseRtp(u8);
      if (header === null) return;
      this.received.push({
        header,
        payload: u8.slice(header.payloadOffset, header.payloadOffset + header.payloadLength),
        from: { address: rinfo.address, port: rinfo.port },
      });
    });
  }

  /** Bind on 127.0.0.1 (port 0 = any free port). */
  static open(port = 0): Promise<RtpPeer> {
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket("udp4");
      s.once("error", reject);
      s.bind(port, "127.0.0.1", () => {
        const p = new RtpPeer(s);
        p.port = s.address().port;
        resolve(p);
      });
    });
  }

  /** Send one RTP packet. `ticks` advances the timestamp afterwards. */
  send(
    dest: { address: string; port: number },
    pt: number,
    payload: Uint8Array,
    ticks: number,
    options: { marker?: boolean; timestamp?: number } = {},
  ): void {
    const buf = new Uint8Array(12 + payload.length);
    writeRtpHeader(buf, {
      payloadType: pt,
      sequence: this.#seq,
      timestamp: options.timestamp ?? this.#ts,
      ssrc: this.#ssrc,
      marker: options.marker ?? false,
    });
    buf.set(payload, 12);
    this.socket.send(buf, dest.port, dest.address);
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#ts = (this.#ts + ticks) >>> 0;
  }

  /** Current RTP timestamp (for telephone-event packets that share the audio clock). */
  get timestamp(): number {
    return this.#ts;
  }

  /**
   * Stream `pcm` (at the codec's sample rate) encoded with `codec`, one packet per frame every
   * `codec.frameMs`, paced by wall time. `dest()` is asked per packet (it may learn the box's port late).
   */
  stream(
    dest: () => { address: string; port: number } | null,
    codec: AudioCodec,
    pt: number,
    pcm: Int16Array,
  ): Promise<void> {
    const n = frameSamples(codec);
    const ticks = Math.round(n * codec.rtpClockRate / codec.sampleRate);
    const out = new Uint8Array(1500);
    let off = 0;
    const start = performance.now();
    let sent = 0;
    return new Promise((resolve) => {
      this.#timer = setInterval(() => {
        const due = Math.floor((performance.now() - start) / codec.frameMs) + 1;
        while (sent < due) {
          if (off + n > pcm.length) {
            clearInterval(this.#timer);
            this.#timer = undefined;
            resolve();
            return;
          }
          const bytes = codec.encode(pcm.subarray(off, off + n), out);
          off += n;
          const d = dest();
          if (d !== null) this.send(d, pt, out.subarray(0, bytes), ticks, { marker: sent === 0 });
          else this.#ts = (this.#ts + ticks) >>> 0;
          sent++;
        }
      }, 5);
    });
  }

  /** Stop streaming and close the socket. */
  close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** Open a codec from the registry by SDP name/rate; throws when its library is missing. */
export function openCodec(
  name: string,
  clockRate: number,
  options: { frameMs?: number; sampleRate?: number } = {},
): AudioCodec {
  const f = defaultRegistry().get(name, clockRate);
  if (f === undefined) throw new Error(`codec ${name}/${clockRate} not available`);
  return f.create(options);
}

/** Whether a codec's library loads here. */
export function codecAvailable(name: string, clockRate: number): boolean {
  return defaultRegistry().get(name, clockRate) !== undefined;
}

/** Decode received packets of one payload type, in sequence order, concatenated. */
export function decodeStream(packets: readonly ReceivedRtp[], pt: number, codec: AudioCodec): Int16Array {
  const audio = packets.filter((p) => p.header.payloadType === pt)
    .sort((a, b) => seqDiff(a.header.sequence, b.header.sequence));
  const out = new Int16Array(audio.length * 5760);
  let n = 0;
  for (const p of audio) n += codec.decode(p.payload, out.subarray(n));
  return out.slice(0, n);
}

function seqDiff(a: number, b: number): number {
  const d = (a - b) & 0xffff;
  return d > 32768 ? d - 65536 : d;
}

/** The RFC 4733 digits in received packets of payload type `pt` (one per event, by its end). */
export function telephoneEvents(packets: readonly ReceivedRtp[], pt: number): string[] {
  const DIGITS = "0123456789*#ABCD";
  const seen = new Set<number>();
  const out: string[] = [];
  for (const p of packets) {
    if (p.header.payloadType !== pt) continue;
    const ev = decodeTelephoneEvent(p.payload);
    if (ev === null || !ev.end || seen.has(p.header.timestamp)) continue;
    seen.add(p.header.timestamp);
    out.push(DIGITS[ev.event] ?? "?");
  }
  return out;
}

/** Naive rate conversion by linear interpolation, for comparing signals (not for audio paths). */
export function resampleLinear(input: Int16Array, from: number, to: number): Int16Array {
  if (from === to) return input;
  const n = Math.floor(input.length * to / from);
  const out = new Int16Array(n);
  const step = from / to;
  for (let i = 0; i < n; i++) {
    const x = i * step;
    const j = Math.floor(x);
    const f = x - j;
    const a = input[j] ?? 0;
    const b = input[j + 1] ?? a;
    out[i] = Math.round(a + (b - a) * f);
  }
  return out;
}

/**
 * How well `heard` carries `sent` (same rate): the median normalized cross-correlation of several
 * 0.3 s windows of `sent` searched in `heard`. Windows make one concealed or dropped frame cost one
 * window, not the whole comparison.
 */
export function windowedCorrelation(
  sent: Int16Array,
  heard: Int16Array,
  sampleRate: number,
  startsSec: readonly number[] = [0.3, 0.7, 1.1, 1.5],
): number {
  const w = Math.round(sampleRate * 0.3);
  const values = startsSec.map((t) => {
    const a = Math.round(t * sampleRate);
    const slice = sent.subarray(a, a + w);
    return slice.length < w
      ? 0
      : correlate(slice, heard, { minOverlap: w, maxLagSamples: heard.length }).maxCorr;
  }).sort((x, y) => x - y);
  const mid = values.length >> 1;
  return values.length % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
}

/** Resolve after `ms` (waiting for media; never used to assert timing). */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Wait until `check()` is true (polling every 20 ms), or throw `what` after `timeoutMs`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * A sipp UAS scenario (XML text) answering one INVITE with SDP `m=audio RTP_PORT RTP/AVP ...`
 * listing `codecs` (e.g. ["18 G729/8000", "101 telephone-event/8000"]), then waiting for BYE.
 * The RTP port is a key ([rtp_port]), so a Deno RtpPeer, not sipp, handles the media.
 */
export function uasScenario(codecs: readonly string[], fmtp: readonly string[] = []): string {
  const pts = codecs.map((c) => c.split(" ")[0]).join(" ");
  const lines = [
    "v=0",
    "o=peer 1 1 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    `m=audio [rtp_port] RTP/AVP ${pts}`,
    ...codecs.map((c) => `a=rtpmap:${c}`),
    ...fmtp.map((f) => `a=fmtp:${f}`),
    "a=ptime:20",
    "a=sendrecv",
  ];
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="uas_rtp_peer">
  <recv request="INVITE" crlf="true" />
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

${lines.map((l) => "      " + l).join("\n")}

    ]]>
  </send>
  <recv request="ACK" />
  <recv request="BYE" />
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
</scenario>
`;
}

/** Passwords the web API accepts (long enough, not containing the number). */
export const pw = (ext: string): string =>
  `Sesame-${[...ext].map((d) => "abcdefghij"[Number(d)]).join("")}-42`;

/** baresip 1.0's libre fails a call (ENOSYS) when any challenge is SHA-256: offer MD5 only. */
export const APP_ENV: Record<string, string> = { PBX_DIGEST_ALGORITHMS: "MD5" };

/** Create extensions (password {@linkcode pw}) through the admin API. */
export async function setupExtensions(app: Appliance, users: readonly string[]): Promise<void> {
  const admin = await app.adminApi();
  for (const u of users) await admin.createExtension({ number: u, name: `User ${u}`, password: pw(u) });
}

/** Register `user`'s contact at `port` (a baresip or sipp UAS) with sipp. */
export async function registerFor(app: Appliance, user: string, port: number): Promise<void> {
  const reg = await runSipp({
    scenario: "register_auth.xml",
    target: `127.0.0.1:${app.sipPort}`,
    user,
    password: pw(user),
    keys: { contact_port: String(port) },
  });
  if (!reg.ok) throw new Error(`register of ${user} failed: ${describeSipp(reg)}`);
}

/** A callee that is sipp (SIP, {@linkcode uasScenario}) + an RtpPeer (media). */
export interface RtpCallee extends AsyncDisposable {
  peer: RtpPeer;
  uas: SippRun;
}

/** Start a callee answering with `codecs` (see {@linkcode uasScenario}) and register it as `user`. */
export async function rtpCallee(
  app: Appliance,
  user: string,
  codecs: readonly string[],
  fmtp: readonly string[] = [],
): Promise<RtpCallee> {
  const peer = await RtpPeer.open();
  const dir = await Deno.makeTempDir({ prefix: "media-uas-" });
  const scenario = `${dir}/uas.xml`;
  await Deno.writeTextFile(scenario, uasScenario(codecs, fmtp));
  const uas = await startSipp({ scenario, keys: { rtp_port: String(peer.port) }, timeoutSec: 60 });
  await registerFor(app, user, uas.localPort);
  return {
    peer,
    uas,
    async [Symbol.asyncDispose]() {
      await peer.close();
      await uas.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A caller that is sipp (SIP, a `uac_*_rtp_peer.xml` scenario) + an RtpPeer (media). */
export interface RtpCaller extends AsyncDisposable {
  peer: RtpPeer;
  sipp: SippRun;
  /** The box's audio port for this caller, from the 200 (the scenario prints BOX_AUDIO_PORT). */
  boxPort: number;
  /** Wait for another number the scenario prints as `NAME=123` (e.g. BOX_TE48_PT). */
  printed(name: string): Promise<number>;
}

/**
 * Place a call from `user` to `service` with a `uac_*_rtp_peer.xml` scenario: sipp binds
 * media_port and media_port+2, and its SDP names media_port+4, where the RtpPeer listens. Resolves
 * once the box answered (its audio port is known).
 */
export async function rtpCaller(
  app: Appliance,
  o: { scenario: string; user: string; service: string },
): Promise<RtpCaller> {
  const [mediaPort] = await pickPortRange(6, PEER_MEDIA_BAND);
  const peer = await RtpPeer.open(mediaPort! + 4);
  let sipp: SippRun;
  try {
    sipp = await startSipp({
      scenario: o.scenario,
      target: `127.0.0.1:${app.sipPort}`,
      user: o.user,
      password: pw(o.user),
      service: o.service,
      mediaPort: mediaPort!,
    });
  } catch (e) {
    await peer.close();
    throw e;
  }
  const printed = async (name: string) => {
    let value = 0;
    await waitFor(
      () => (value = Number(new RegExp(`${name}=(\\d+)`).exec(sipp.output())?.[1] ?? 0)) > 0,
      `${name} from the 200 (sipp prints it)`,
      10_000,
    );
    return value;
  };
  const close = async () => {
    await sipp.stop();
    await peer.close();
  };
  try {
    return { peer, sipp, boxPort: await printed("BOX_AUDIO_PORT"), printed, [Symbol.asyncDispose]: close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Run `fn`; on failure, add the tail of the appliance log to the error. */
export async function withAppLog<T>(app: Appliance, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const tail = app.logs().split("\n").slice(-60).join("\n");
    if (e instanceof Error) e.message += `\n--- appliance log (last 60 lines) ---\n${tail}`;
    throw e;
  }
}
