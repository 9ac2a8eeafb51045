/**
 * Runs baresip 1.0 (Debian package) as a scripted SIP phone: plays a WAV as its microphone,
 * records what it sends and receives (sndfile), and is driven over ctrl_tcp (netstring JSON).
 *
 * @module
 */
import { LoggedProcess } from "./process.ts";
import { freePorts, PEER_MEDIA_BAND, pickPortRange } from "./ports.ts";
import { makeTestWav, type TestSignalOptions } from "./wav.ts";

/** Options for {@linkcode startBaresip}. */
export interface BaresipOptions {
  /** SIP user (extension number). */
  user: string;
  /** Digest password (auth_pass). */
  password?: string;
  /**
   * The registrar/PBX SIP port on 127.0.0.1. When given, the account registers there (regint 60);
   * when omitted, the phone does not register (direct calls between peers).
   */
  sipPort?: number;
  /** Audio codecs in preference order, baresip names: "PCMU", "PCMA", "G722", "opus/48000/2". */
  codecs: string[];
  /**
   * WAV played as the microphone. It must match the first codec's rate and channels (PCMU 8000/1,
   * G722 16000/1, opus/48000/2 48000/2). Default: a 60 s test chirp generated at that format
   * (see wav.ts makeTestSignal); its path is `playWav` on the result.
   */
  playWav?: string;
  /**
   * Shape of the generated signal when playWav is not given. Default depends on the user so two
   * phones send distinguishable audio: users ending in an even digit send a rising chirp, odd ones
   * a falling chirp (see {@linkcode defaultSignalFor}).
   */
  signal?: TestSignalOptions;
  /** Where sndfile writes dump-*-enc.wav (sent) and dump-*-dec.wav (received). Default: temp dir. */
  recordDir?: string;
  /** Answer incoming calls at once (answermode=auto). Default true. */
  autoAnswer?: boolean;
  /** Extra lines for the config file. */
  extraConfig?: string[];
  /** Lines of the contacts file, e.g. `<sip:201@127.0.0.1:5060>;presence=p2p` (needs module contact.so). */
  contacts?: string[];
  /** Extra account parameters, e.g. ";ptime=20". */
  extraAccountParams?: string;
  /**
   * Signalling transport of the account (default "udp"). With "tls", `sipPort` is the box's SIP TLS
   * port and `caFile` the CA that signed its certificate (sip_cafile).
   */
  transport?: "udp" | "tls";
  /** CA certificate (PEM) baresip verifies the TLS server with. */
  caFile?: string;
  /**
   * Media encryption (baresip's mediaenc account parameter, loads the module): "srtp" (best effort,
   * RTP/AVP with a=crypto), "srtp-mand" (RTP/SAVP), "srtp-mandf" (RTP/SAVPF), "dtls_srtp".
   */
  mediaenc?: "srtp" | "srtp-mand" | "srtp-mandf" | "dtls_srtp";
}

/** One ctrl_tcp event, e.g. {type: "CALL_ESTABLISHED", peeruri, id, ...}. */
export interface BaresipEvent {
  type: string;
  [key: string]: unknown;
}

/** A running baresip. `await using phone = await startBaresip(...)` stops it at scope end. */
export interface Baresip {
  /** Its own SIP port on 127.0.0.1. */
  localSipPort: number;
  /** "sip:USER@127.0.0.1:localSipPort", to dial it directly. */
  directUri: string;
  /** Config directory (config, accounts). */
  configDir: string;
  /** Where recordings go. */
  recordDir: string;
  /** The WAV it plays as microphone. */
  playWav: string;
  /** Dials a URI ("sip:2002@127.0.0.1:5060"); resolves when baresip accepted the command. */
  dial(uri: string): Promise<void>;
  /** Hangs up the current call. */
  hangup(): Promise<void>;
  /** Answers the ringing call (when autoAnswer is false). */
  answer(): Promise<void>;
  /** Sends DTMF digits in the current call (RFC 4733 by default). */
  sendDtmf(digits: string): Promise<void>;
  /** Any ctrl_tcp command; resolves with its response data. */
  command(command: string, params?: string): Promise<string>;
  /**
   * Resolves with the first event (already seen or future) of `type`, optionally matching `filter`.
   * Events from before the ctrl_tcp connection (the first REGISTER) are not seen: use registered().
   */
  waitForEvent(
    type: string,
    timeoutMs?: number,
    filter?: (e: BaresipEvent) => boolean,
  ): Promise<BaresipEvent>;
  /** Resolves when the account's registration got 200 (seen in the log). */
  registered(timeoutMs?: number): Promise<void>;
  /** All events so far. */
  events(): BaresipEvent[];
  /** Waits for a regex in the log (stdout is line-buffered through stdbuf). */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** The log so far. */
  logs(): string;
  /** Recordings so far, sorted: `sent` = dump-*-enc.wav, `received` = dump-*-dec.wav. */
  recordings(): Promise<{ sent: string[]; received: string[] }>;
  /**
   * Kills baresip with SIGKILL, as a phone that loses power: no BYE, its RTP simply stops.
   * Resolves when the process has exited.
   */
  kill(): Promise<void>;
  /** Quits baresip (quit command, then SIGTERM/SIGKILL). Recordings stay readable. */
  stop(): Promise<void>;
  /** stop(), then removes the config dir and, if the helper created it, the recordings. */
  remove(): Promise<void>;
  /** Same as remove(). */
  [Symbol.asyncDispose](): Promise<void>;
}

const CODEC_MODULES: Record<string, string> = {
  pcmu: "g711.so",
  pcma: "g711.so",
  g722: "g722.so",
  g726: "g726.so",
  opus: "opus.so",
  l16: "l16.so",
  gsm: "gsm.so",
};

/** Sample rate and channels baresip's aufile needs for a codec name ("opus/48000/2" -> 48000, 2). */
export function codecFormat(codec: string): { sampleRate: number; channels: number } {
  const [name = "", rate, ch] = codec.toLowerCase().split("/");
  if (name === "pcmu" || name === "pcma" || name === "g726" || name === "gsm") {
    return { sampleRate: 8000, channels: 1 };
  }
  if (name === "g722") return { sampleRate: 16000, channels: 1 };
  if (name === "opus") return { sampleRate: Number(rate ?? 48000), channels: Number(ch ?? 2) };
  if (rate !== undefined) return { sampleRate: Number(rate), channels: Number(ch ?? 1) };
  throw new RangeError(`unknown codec ${JSON.stringify(codec)}: give rate/channels, e.g. "L16/16000/1"`);
}

/** The default test signal for a user: rising chirp for an even last digit, falling for odd. */
export function defaultSignalFor(user: string): TestSignalOptions {
  const last = user.charCodeAt(user.length - 1) || 0;
  return last % 2 === 0
    ? { fromHz: 300, toHz: 3000, periodSec: 1.3 }
    : { fromHz: 3000, toHz: 300, periodSec: 1.1 };
}

function netstring(obj: unknown): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(obj));
  const head = new TextEncoder().encode(`${body.length}:`);
  const out = new Uint8Array(head.length + body.length + 1);
  out.set(head);
  out.set(body, head.length);
  out[out.length - 1] = 0x2c; // ','
  return out;
}

/** Starts baresip with a generated config and waits until its ctrl_tcp port answers. */
export async function startBaresip(options: BaresipOptions): Promise<Baresip> {
  // baresip also binds SIP over TLS next to its SIP port, which was not picked as free: a test running
  // in parallel may hold it. Such a start fails at once ("Address already in use"); try new ports.
  for (let attempt = 1;; attempt++) {
    try {
      return await startBaresipOnce(options);
    } catch (e) {
      if (attempt >= 4 || !/Address already in use/.test(String((e as Error).message))) throw e;
    }
  }
}

async function startBaresipOnce(options: BaresipOptions): Promise<Baresip> {
  if (options.codecs.length === 0) throw new RangeError("startBaresip: codecs must not be empty");
  const format = codecFormat(options.codecs[0]!);
  const configDir = await Deno.makeTempDir({ prefix: `baresip-${options.user}-` });
  const recordDir = options.recordDir ?? `${configDir}/recordings`;
  await Deno.mkdir(recordDir, { recursive: true });
  let playWav = options.playWav;
  if (playWav === undefined) {
    playWav = `${configDir}/signal.wav`;
    await makeTestWav(playWav, {
      ...defaultSignalFor(options.user),
      ...options.signal,
      ...format,
      seconds: 60,
    });
  }
  const [localSipPort, ctrlPort] = (await freePorts(2)) as [number, number];
  const [rtpMin, rtpMax] = await pickPortRange(20, PEER_MEDIA_BAND);
  const modules = new Set(options.codecs.map((c) => {
    const m = CODEC_MODULES[c.toLowerCase().split("/")[0] ?? ""];
    if (m === undefined) throw new RangeError(`startBaresip: no baresip module known for codec ${c}`);
    return m;
  }));
  const config = [
    "poll_method epoll",
    `sip_listen 127.0.0.1:${localSipPort}`,
    "net_interface 127.0.0.1",
    `rtp_ports ${rtpMin}-${rtpMax}`,
    `audio_source aufile,${playWav}`,
    // No sound card: ALSA's null device swallows playback; the sndfile filter records instead.
    "audio_player alsa,null",
    "audio_alert alsa,null",
    "module_path /usr/lib/baresip/modules",
    ...[...modules].map((m) => `module ${m}`),
    "module aufile.so",
    "module alsa.so",
    "module sndfile.so",
    `snd_path ${recordDir}`,
    "module_tmp account.so",
    "module_app menu.so",
    "module_app ctrl_tcp.so",
    `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
    ...(options.caFile !== undefined ? [`sip_cafile ${options.caFile}`] : []),
    ...(options.mediaenc === undefined
      ? []
      : [`module ${options.mediaenc.startsWith("srtp") ? "srtp" : "dtls_srtp"}.so`]),
    ...(options.extraConfig ?? []),
    "",
  ].join("\n");
  await Deno.writeTextFile(`${configDir}/config`, config);
  const host = options.sipPort === undefined ? `127.0.0.1:${localSipPort}` : `127.0.0.1:${options.sipPort}`;
  const params = [
    options.password === undefined ? "" : `;auth_pass=${options.password}`,
    options.sipPort === undefined ? ";regint=0" : ";regint=60",
    `;answermode=${options.autoAnswer === false ? "manual" : "auto"}`,
    `;audio_codecs=${options.codecs.join(",")}`,
    options.mediaenc !== undefined ? `;mediaenc=${options.mediaenc}` : "",
    options.extraAccountParams ?? "",
  ].join("");
  const transport = options.transport ?? "udp";
  await Deno.writeTextFile(
    `${configDir}/accounts`,
    `<sip:${options.user}@${host};transport=${transport}>${params}\n`,
  );
  await Deno.writeTextFile(`${configDir}/contacts`, (options.contacts ?? []).map((c) => `${c}\n`).join(""));

  // stdbuf: baresip's stdout is block-buffered into a pipe otherwise, and waitForLog would stall.
  const proc = new LoggedProcess("stdbuf", {
    args: ["-oL", "-eL", "baresip", "-f", configDir],
    name: `baresip ${options.user}`,
  });

  const events: BaresipEvent[] = [];
  const eventWaiters = new Set<{ check: (e: BaresipEvent) => void }>();
  const pending = new Map<string, { resolve: (d: string) => void; reject: (e: Error) => void }>();
  let conn: Deno.TcpConn | undefined;
  let reader: Promise<void> = Promise.resolve();
  let tokenSeq = 0;
  let stopped = false;

  // Own recordings live inside configDir; a caller's recordDir is left alone.
  const cleanupDirs = () => Deno.remove(configDir, { recursive: true }).catch(() => {});

  const readLoop = async (c: Deno.TcpConn) => {
    let buf = new Uint8Array(0);
    const chunk = new Uint8Array(65536);
    while (true) {
      let n: number | null;
      try {
        n = await c.read(chunk);
      } catch {
        n = null;
      }
      if (n === null) break;
      const next = new Uint8Array(buf.length + n);
      next.set(buf);
      next.set(chunk.subarray(0, n), buf.length);
      buf = next;
      while (true) {
        const colon = buf.indexOf(0x3a);
        if (colon === -1) break;
        const len = Number(new TextDecoder().decode(buf.subarray(0, colon)));
        if (buf.length < colon + 1 + len + 1) break;
        const text = new TextDecoder().decode(buf.subarray(colon + 1, colon + 1 + len));
        buf = buf.slice(colon + 2 + len);
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(text);
        } catch {
          continue;
        }
        if (msg.event === true) {
          const ev = msg as BaresipEvent;
          events.push(ev);
          for (const w of [...eventWaiters]) w.check(ev);
        } else if (msg.response === true && typeof msg.token === "string") {
          const p = pending.get(msg.token);
          pending.delete(msg.token);
          if (msg.ok === true) p?.resolve(String(msg.data ?? ""));
          else p?.reject(new Error(`baresip command failed: ${String(msg.data ?? "")}`));
        }
      }
    }
    for (const p of pending.values()) p.reject(new Error("baresip ctrl_tcp connection closed"));
    pending.clear();
  };

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (conn !== undefined && proc.status === undefined) {
      try {
        await conn.write(netstring({ command: "quit", token: "quit" }));
      } catch { /* already closing */ }
      const quit = setTimeout(() => proc.kill("SIGTERM"), 3000);
      await proc.stop("SIGTERM", 6000).finally(() => clearTimeout(quit)).catch(() => {});
    } else {
      await proc.stop("SIGTERM", 3000);
    }
    try {
      conn?.close();
    } catch { /* closed by peer */ }
    await reader;
  };
  let removed = false;
  const remove = async () => {
    await stop();
    if (removed) return;
    removed = true;
    await cleanupDirs();
  };

  try {
    const deadline = Date.now() + 10_000;
    while (conn === undefined) {
      if (proc.status !== undefined) throw new Error(`baresip exited at start.\n${proc.tail()}`);
      try {
        conn = await Deno.connect({ hostname: "127.0.0.1", port: ctrlPort });
      } catch {
        if (Date.now() > deadline) throw new Error(`baresip ctrl_tcp did not open.\n${proc.tail()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    reader = readLoop(conn);
  } catch (e) {
    await stop();
    await cleanupDirs();
    throw e;
  }

  const command = (cmd: string, params?: string): Promise<string> => {
    if (conn === undefined || stopped) return Promise.reject(new Error("baresip is stopped"));
    const token = `t${++tokenSeq}`;
    const c = conn;
    return new Promise((resolve, reject) => {
      pending.set(token, { resolve, reject });
      const msg: Record<string, string> = { command: cmd, token };
      if (params !== undefined) msg.params = params;
      c.write(netstring(msg)).catch((e) => {
        pending.delete(token);
        reject(e);
      });
    });
  };

  const waitForEvent = (type: string, timeoutMs = 10_000, filter?: (e: BaresipEvent) => boolean) => {
    const match = (e: BaresipEvent) => e.type === type && (filter === undefined || filter(e));
    const seen = events.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<BaresipEvent>((resolve, reject) => {
      const waiter = {
        check: (e: BaresipEvent) => {
          if (!match(e)) return;
          clearTimeout(timer);
          eventWaiters.delete(waiter);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        eventWaiters.delete(waiter);
        reject(
          new Error(
            `baresip ${options.user}: no ${type} event within ${timeoutMs} ms; events: ` +
              `${events.map((e) => e.type).join(", ")}\n${proc.tail()}`,
          ),
        );
      }, timeoutMs);
      eventWaiters.add(waiter);
    });
  };

  const kill = async () => {
    await proc.stop("SIGKILL", 1000);
    await stop();
  };

  const phone: Baresip = {
    kill,
    localSipPort,
    directUri: `sip:${options.user}@127.0.0.1:${localSipPort}`,
    configDir,
    recordDir,
    playWav,
    async dial(uri) {
      await command("dial", uri);
    },
    async hangup() {
      await command("hangup");
    },
    async answer() {
      await command("accept");
    },
    async sendDtmf(digits) {
      for (const d of digits) await command("sndcode", d);
    },
    command,
    waitForEvent,
    async registered(timeoutMs = 10_000) {
      // From the log, not the REGISTER_OK event: the first REGISTER often completes before the
      // ctrl_tcp connection is up, and baresip does not replay events.
      const user = options.user.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      await proc.waitForLog(new RegExp(`${user}@[^:\\s]+: \\{\\d+/\\w+/v[46]\\} 200 `), timeoutMs);
    },
    events: () => [...events],
    waitForLog: (re, timeoutMs) => proc.waitForLog(re, timeoutMs),
    logs: () => proc.logs(),
    async recordings() {
      const sent: string[] = [];
      const received: string[] = [];
      for await (const e of Deno.readDir(recordDir)) {
        if (/^dump-.*-enc\.wav$/.test(e.name)) sent.push(`${recordDir}/${e.name}`);
        if (/^dump-.*-dec\.wav$/.test(e.name)) received.push(`${recordDir}/${e.name}`);
      }
      return { sent: sent.sort(), received: received.sort() };
    },
    stop,
    remove,
    [Symbol.asyncDispose]: remove,
  };
  return phone;
}
