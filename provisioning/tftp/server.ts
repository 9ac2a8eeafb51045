/**
 * A read-only TFTP server over node:dgram (works with only --allow-net).
 *
 * RFC 1350 read requests, RFC 2347 option negotiation (OACK), RFC 2348 blksize, RFC 2349
 * timeout and tsize, RFC 7440 windowsize. Each transfer runs on its own ephemeral socket
 * (its TID). Write requests are refused: the box never accepts files from phones.
 */
import dgram from "node:dgram";
import type { Buffer } from "node:buffer";
import { type Clock, realClock, type TimerId } from "../../runtime/clock/mod.ts";
import {
  decodePacket,
  encodeData,
  encodeError,
  encodeOack,
  TftpErrorCode,
  type TftpPacket,
  toNetascii,
} from "./packet.ts";

/** Who asked for a file. */
export interface TftpClient {
  address: string;
  port: number;
}

/** Minimal logger; every method optional so callers can pass `console` or nothing. */
export interface TftpLogger {
  debug?(message: string, data?: Record<string, unknown>): void;
  info?(message: string, data?: Record<string, unknown>): void;
  warn?(message: string, data?: Record<string, unknown>): void;
}

/** Options of {@linkcode startTftpServer}. */
export interface TftpServerOptions {
  /** Address to bind, e.g. "0.0.0.0" or "127.0.0.1". */
  bind: string;
  /** UDP port; 0 picks a free one (tests). */
  port: number;
  /** File content for a (validated, relative) path, or null for "file not found". */
  resolve(path: string, client: TftpClient): Promise<Uint8Array | null> | Uint8Array | null;
  logger?: TftpLogger;
  /** Concurrent transfers allowed; further requests get an error. Default 200. */
  maxSessions?: number;
  /** Concurrent transfers from one IP address. Default 8. */
  maxSessionsPerSource?: number;
  /**
   * How long a transfer waits for the client's first ACK (whatever `timeout` it negotiated) before
   * it ends. Until that ACK the client has not proven its address, so nothing is retransmitted:
   * a spoofed request gets one small packet back. Default 5000 ms.
   */
  unverifiedLifetimeMs?: number;
  /** Longest a transfer may run in total, retransmissions included. Default 10 minutes. */
  maxSessionLifetimeMs?: number;
  clock?: Clock;
  /** Retransmission timeout when the client does not ask for one (ms). Default 1000. */
  defaultTimeoutMs?: number;
  /** Retransmissions of one window before the client is given up. Default 5. */
  maxRetries?: number;
  /** Longest accepted file name. Default 255. */
  maxPathLength?: number;
}

/** A running TFTP server. */
export interface TftpServer {
  /** The bound port (useful with port 0). */
  port: number;
  /** Stop listening and abort every transfer. */
  close(): Promise<void>;
  /** Transfers in progress. */
  activeSessions(): number;
}

/** blksize bounds (RFC 2348). */
export const MIN_BLKSIZE = 8;
/** blksize bounds (RFC 2348). */
export const MAX_BLKSIZE = 65464;

/**
 * Check a requested file name; returns the reason it is refused, or null when it is safe.
 * Only plain relative names are served: no "..", no leading "/", no backslash, no control bytes.
 */
export function checkTftpPath(path: string, maxLength = 255): string | null {
  if (path.length === 0) return "empty file name";
  if (path.length > maxLength) return `file name longer than ${maxLength} characters`;
  if (path.startsWith("/")) return "absolute paths are not served";
  if (path.includes("\\")) return "backslash in file name";
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(path)) return "control character in file name";
  if (path.split("/").some((seg) => seg === ".." || seg === "." || seg === "")) {
    return "path traversal or empty segment in file name";
  }
  return null;
}

interface Negotiated {
  blksize: number;
  timeoutMs: number;
  windowsize: number;
  oack: Map<string, string>;
}

function negotiate(
  requested: Map<string, string>,
  size: number,
  defaultTimeoutMs: number,
): Negotiated {
  const oack = new Map<string, string>();
  let blksize = 512;
  let timeoutMs = defaultTimeoutMs;
  let windowsize = 1;
  for (const [name, value] of requested) {
    const n = /^\d{1,6}$/.test(value) ? Number(value) : NaN;
    switch (name) {
      case "blksize":
        // RFC 2348: the server may answer with a smaller value; clamp instead of refusing.
        if (n >= MIN_BLKSIZE) {
          blksize = Math.min(n, MAX_BLKSIZE);
          oack.set("blksize", String(blksize));
        }
        break;
      case "timeout":
        if (n >= 1 && n <= 255) {
          timeoutMs = n * 1000;
          oack.set("timeout", String(n));
        }
        break;
      case "tsize":
        // For a read request the client sends 0 and the server answers with the size.
        if (!Number.isNaN(n)) oack.set("tsize", String(size));
        break;
      case "windowsize":
        if (n >= 1 && n <= 65535) {
          windowsize = n;
          oack.set("windowsize", String(n));
        }
        break;
      default:
        // RFC 2347: unknown options are silently left out of the OACK.
        break;
    }
  }
  return { blksize, timeoutMs, windowsize, oack };
}

class Transfer {
  readonly #socket: dgram.Socket;
  readonly #data: Uint8Array;
  readonly #opts: Negotiated;
  readonly #client: TftpClient;
  readonly #clock: Clock;
  readonly #maxRetries: number;
  readonly #onDone: (t: Transfer, reason: string) => void;
  readonly #lastBlock: number; // absolute index of the final (short) block, 1-based
  #base = 1; // first unacknowledged absolute block
  #awaitingOackAck: boolean;
  #retries = 0;
  #timer: TimerId | undefined;
  #lifetime: TimerId | undefined;
  /** Whether the client ACKed anything yet: only then is it known to own its address. */
  #verified = false;
  readonly #unverifiedMs: number;
  readonly #lifetimeMs: number;
  #done = false;

  constructor(args: {
    socket: dgram.Socket;
    data: Uint8Array;
    opts: Negotiated;
    client: TftpClient;
    clock: Clock;
    maxRetries: number;
    unverifiedMs: number;
    lifetimeMs: number;
    onDone: (t: Transfer, reason: string) => void;
  }) {
    this.#unverifiedMs = args.unverifiedMs;
    this.#lifetimeMs = args.lifetimeMs;
    this.#socket = args.socket;
    this.#data = args.data;
    this.#opts = args.opts;
    this.#client = args.client;
    this.#clock = args.clock;
    this.#maxRetries = args.maxRetries;
    this.#onDone = args.onDone;
    this.#lastBlock = Math.floor(args.data.length / args.opts.blksize) + 1;
    this.#awaitingOackAck = args.opts.oack.size > 0;
    this.#socket.on("message", (msg: Buffer, rinfo: dgram.RemoteInfo) => this.#onMessage(msg, rinfo));
    this.#socket.on("error", () => this.finish("socket error"));
  }

  start(): void {
    this.#lifetime = this.#clock.setTimeout(() => {
      this.#lifetime = undefined;
      this.finish("session lifetime exceeded");
    }, this.#lifetimeMs);
    this.#sendCurrent();
  }

  /**
   * The client sent its request again before any ACK (its first packet from us was lost): answer
   * it once more. One reply per request, so a spoofed source gains nothing by repeating.
   */
  repeatFirst(): void {
    if (this.#verified || this.#done) return;
    // Not re-armed: the deadline for the first ACK runs from the first request, however often
    // the request is repeated.
    if (this.#awaitingOackAck) this.#send(encodeOack(this.#opts.oack));
    else this.#sendBlock(this.#base);
  }

  /** True once the client ACKed. */
  get verified(): boolean {
    return this.#verified;
  }

  #send(packet: Uint8Array): void {
    if (this.#done) return;
    this.#socket.send(packet, this.#client.port, this.#client.address);
  }

  #sendCurrent(): void {
    if (this.#awaitingOackAck) this.#send(encodeOack(this.#opts.oack));
    else {
      const end = Math.min(this.#base + this.#opts.windowsize - 1, this.#lastBlock);
      for (let b = this.#base; b <= end; b++) this.#sendBlock(b);
    }
    this.#arm();
  }

  #sendBlock(abs: number): void {
    const start = (abs - 1) * this.#opts.blksize;
    const chunk = this.#data.subarray(start, Math.min(start + this.#opts.blksize, this.#data.length));
    // Block numbers are 16 bits and roll over to 0 after 65535 (as tftp-hpa and atftp expect).
    this.#send(encodeData(abs & 0xffff, chunk));
  }

  #arm(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    const wait = this.#verified ? this.#opts.timeoutMs : Math.min(this.#opts.timeoutMs, this.#unverifiedMs);
    this.#timer = this.#clock.setTimeout(() => this.#onTimeout(), wait);
  }

  #onTimeout(): void {
    this.#timer = undefined;
    if (this.#done) return;
    if (!this.#verified) {
      // No retransmission to an address that never answered (anti-amplification).
      this.finish("no ACK from the client");
      return;
    }
    if (++this.#retries > this.#maxRetries) {
      this.finish("client stopped answering");
      return;
    }
    this.#sendCurrent();
  }

  #onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.#done) return;
    if (rinfo.address !== this.#client.address || rinfo.port !== this.#client.port) {
      // RFC 1350: a packet from a foreign TID gets error 5 and does not disturb the transfer.
      this.#socket.send(
        encodeError(TftpErrorCode.UNKNOWN_TID, "unknown transfer ID"),
        rinfo.port,
        rinfo.address,
      );
      return;
    }
    let packet: TftpPacket;
    try {
      packet = decodePacket(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength));
    } catch {
      return; // garbage from the peer: ignore, the timer covers us
    }
    if (packet.op === "error") {
      this.finish(`client sent error ${packet.code}: ${packet.message}`);
      return;
    }
    if (packet.op !== "ack") {
      this.#send(encodeError(TftpErrorCode.ILLEGAL_OPERATION, "expected ACK"));
      this.finish("illegal packet from client");
      return;
    }
    if (this.#awaitingOackAck) {
      if (packet.block !== 0) return;
      this.#verified = true;
      this.#awaitingOackAck = false;
      this.#retries = 0;
      this.#sendCurrent();
      return;
    }
    // Map the 16-bit ACK onto the window currently in flight; anything else is a duplicate
    // or stale ACK and is ignored (no retransmission: avoids the Sorcerer's Apprentice bug).
    const end = Math.min(this.#base + this.#opts.windowsize - 1, this.#lastBlock);
    let acked = -1;
    for (let b = this.#base; b <= end; b++) if ((b & 0xffff) === packet.block) acked = b;
    if (acked < 0) return;
    this.#verified = true;
    this.#retries = 0;
    if (acked === this.#lastBlock) {
      this.finish("complete");
      return;
    }
    this.#base = acked + 1;
    this.#sendCurrent();
  }

  finish(reason: string): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#lifetime !== undefined) this.#clock.clearTimeout(this.#lifetime);
    this.#lifetime = undefined;
    try {
      this.#socket.close();
    } catch { /* already closed */ }
    this.#onDone(this, reason);
  }
}

/** Start a read-only TFTP server. Resolves once the socket is bound. */
export async function startTftpServer(options: TftpServerOptions): Promise<TftpServer> {
  const clock = options.clock ?? realClock;
  const log = options.logger ?? {};
  const maxSessions = options.maxSessions ?? 200;
  const maxRetries = options.maxRetries ?? 5;
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 1000;
  const maxPathLength = options.maxPathLength ?? 255;
  const maxPerSource = options.maxSessionsPerSource ?? 8;
  const unverifiedMs = options.unverifiedLifetimeMs ?? 5000;
  const lifetimeMs = options.maxSessionLifetimeMs ?? 600_000;
  const transfers = new Set<Transfer>();
  /** Transfers by client address:port (its TID), to answer a repeated request. */
  const byTid = new Map<string, Transfer>();
  const resolving = new Set<string>();
  /** Transfers and pending requests per client address. */
  const perSource = new Map<string, number>();
  /** Per-source cap lines: when last logged and refusals since (one line a minute per source). */
  const capLogged = new Map<string, { at: number; refused: number }>();
  let globalCapLogged = false;
  let pending = 0; // requests whose file is still being resolved
  let closed = false;
  const addSource = (address: string, n: number) => {
    const v = (perSource.get(address) ?? 0) + n;
    if (v <= 0) perSource.delete(address);
    else perSource.set(address, v);
  };

  const main = dgram.createSocket({ type: options.bind.includes(":") ? "udp6" : "udp4" });
  const replyError = (client: TftpClient, code: number, message: string) => {
    if (!closed) main.send(encodeError(code, message), client.port, client.address);
  };

  const handleRequest = async (packet: TftpPacket, client: TftpClient) => {
    if (packet.op === "wrq") {
      log.info?.("tftp write request refused", { ...client, filename: packet.filename });
      replyError(client, TftpErrorCode.ACCESS_VIOLATION, "write requests are not accepted");
      return;
    }
    if (packet.op !== "rrq") {
      // Stray DATA/ACK/ERROR to the well-known port: not part of any transfer.
      if (packet.op !== "error") {
        replyError(client, TftpErrorCode.ILLEGAL_OPERATION, "expected a read request");
      }
      return;
    }
    if (packet.mode !== "octet" && packet.mode !== "netascii") {
      replyError(client, TftpErrorCode.ILLEGAL_OPERATION, `unsupported transfer mode "${packet.mode}"`);
      return;
    }
    const refusal = checkTftpPath(packet.filename, maxPathLength);
    if (refusal !== null) {
      log.warn?.("tftp request refused", { ...client, filename: packet.filename.slice(0, 300), refusal });
      replyError(client, TftpErrorCode.ACCESS_VIOLATION, refusal);
      return;
    }
    const tid = `${client.address}:${client.port}`;
    const existing = byTid.get(tid);
    if (existing !== undefined) {
      // RFC 1350 clients repeat their request when our first packet was lost.
      existing.repeatFirst();
      return;
    }
    if (resolving.has(tid)) return; // a repeat of a request still being resolved
    if (transfers.size + pending >= maxSessions) {
      if (!globalCapLogged) {
        globalCapLogged = true;
        log.warn?.("tftp session limit reached; refusing requests", { limit: maxSessions, ...client });
      }
      replyError(client, TftpErrorCode.NOT_DEFINED, "server busy, try again");
      return;
    }
    if ((perSource.get(client.address) ?? 0) >= maxPerSource) {
      const now = clock.now();
      const seen = capLogged.get(client.address);
      if (seen === undefined || now - seen.at >= 60_000) {
        log.warn?.("tftp per-source session limit reached; refusing", {
          address: client.address,
          limit: maxPerSource,
          refusedSinceLastLine: seen?.refused ?? 0,
        });
        capLogged.set(client.address, { at: now, refused: 0 });
        if (capLogged.size > 1000) capLogged.delete(capLogged.keys().next().value!);
      } else seen.refused++;
      replyError(client, TftpErrorCode.NOT_DEFINED, "too many transfers from this address, try again");
      return;
    }
    pending++;
    addSource(client.address, 1);
    resolving.add(tid);
    let started = false;
    try {
      started = await startTransfer(packet, client, tid);
    } finally {
      resolving.delete(tid);
      if (!started) addSource(client.address, -1);
    }
  };

  /** Resolve the file and start its transfer; true when a transfer started (it owns the slot). */
  const startTransfer = async (
    packet: { filename: string; mode: string; options: Map<string, string> },
    client: TftpClient,
    tid: string,
  ): Promise<boolean> => {
    let data: Uint8Array | null;
    try {
      data = await options.resolve(packet.filename, client);
    } catch (err) {
      log.warn?.("tftp resolve failed", { filename: packet.filename, error: String(err) });
      replyError(client, TftpErrorCode.NOT_DEFINED, "internal error");
      return false;
    } finally {
      pending--;
    }
    if (closed) return false;
    if (data === null) {
      log.debug?.("tftp file not found", { ...client, filename: packet.filename });
      replyError(client, TftpErrorCode.FILE_NOT_FOUND, "file not found");
      return false;
    }
    if (packet.mode === "netascii") data = toNetascii(data);
    const opts = negotiate(packet.options, data.length, defaultTimeoutMs);
    const socket = dgram.createSocket({ type: options.bind.includes(":") ? "udp6" : "udp4" });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        socket.bind(0, options.bind, () => {
          socket.off("error", reject);
          resolve();
        });
      });
    } catch (err) {
      log.warn?.("tftp could not open a transfer socket", { error: String(err) });
      try {
        socket.close();
      } catch { /* ignore */ }
      replyError(client, TftpErrorCode.NOT_DEFINED, "server busy, try again");
      return false;
    }
    if (closed) {
      socket.close();
      return false;
    }
    const transfer = new Transfer({
      socket,
      data,
      opts,
      client,
      clock,
      maxRetries,
      unverifiedMs,
      lifetimeMs,
      onDone: (t, reason) => {
        transfers.delete(t);
        if (byTid.get(tid) === t) byTid.delete(tid);
        addSource(client.address, -1);
        if (transfers.size + pending < maxSessions * 0.9) globalCapLogged = false;
        log.debug?.("tftp transfer ended", { ...client, filename: packet.filename, reason });
      },
    });
    transfers.add(transfer);
    byTid.set(tid, transfer);
    log.debug?.("tftp transfer started", { ...client, filename: packet.filename, size: data.length });
    transfer.start();
    return true;
  };

  main.on("message", (msg: Buffer, rinfo: dgram.RemoteInfo) => {
    const client = { address: rinfo.address, port: rinfo.port };
    let packet: TftpPacket;
    try {
      packet = decodePacket(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength));
    } catch (err) {
      log.debug?.("tftp malformed packet", { ...client, error: String(err) });
      replyError(client, TftpErrorCode.ILLEGAL_OPERATION, (err as Error).message);
      return;
    }
    handleRequest(packet, client).catch((err) => log.warn?.("tftp request failed", { error: String(err) }));
  });
  main.on("error", (err: Error) => log.warn?.("tftp socket error", { error: String(err) }));

  await new Promise<void>((resolve, reject) => {
    main.once("error", reject);
    main.bind(options.port, options.bind, () => {
      main.off("error", reject);
      resolve();
    });
  });

  return {
    port: main.address().port,
    activeSessions: () => transfers.size,
    close: async () => {
      if (closed) return;
      closed = true;
      for (const t of [...transfers]) t.finish("server closing");
      await new Promise<void>((resolve) => main.close(() => resolve()));
    },
  };
}
