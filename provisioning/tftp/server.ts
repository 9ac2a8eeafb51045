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
  #done = false;

  constructor(args: {
    socket: dgram.Socket;
    data: Uint8Array;
    opts: Negotiated;
    client: TftpClient;
    clock: Clock;
    maxRetries: number;
    onDone: (t: Transfer, reason: string) => void;
  }) {
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
    this.#sendCurrent();
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
    this.#timer = this.#clock.setTimeout(() => this.#onTimeout(), this.#opts.timeoutMs);
  }

  #onTimeout(): void {
    this.#timer = undefined;
    if (this.#done) return;
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
  const transfers = new Set<Transfer>();
  let pending = 0; // requests whose file is still being resolved
  let closed = false;

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
    if (transfers.size + pending >= maxSessions) {
      replyError(client, TftpErrorCode.NOT_DEFINED, "server busy, try again");
      return;
    }
    pending++;
    let data: Uint8Array | null;
    try {
      data = await options.resolve(packet.filename, client);
    } catch (err) {
      log.warn?.("tftp resolve failed", { filename: packet.filename, error: String(err) });
      replyError(client, TftpErrorCode.NOT_DEFINED, "internal error");
      return;
    } finally {
      pending--;
    }
    if (closed) return;
    if (data === null) {
      log.debug?.("tftp file not found", { ...client, filename: packet.filename });
      replyError(client, TftpErrorCode.FILE_NOT_FOUND, "file not found");
      return;
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
      return;
    }
    if (closed) {
      socket.close();
      return;
    }
    const transfer = new Transfer({
      socket,
      data,
      opts,
      client,
      clock,
      maxRetries,
      onDone: (t, reason) => {
        transfers.delete(t);
        log.debug?.("tftp transfer ended", { ...client, filename: packet.filename, reason });
      },
    });
    transfers.add(transfer);
    log.debug?.("tftp transfer started", { ...client, filename: packet.filename, size: data.length });
    transfer.start();
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
