/**
 * The media worker's UDP sockets: what _worker.ts needs from a socket, over either the native
 * batched path (drivers/udp: epoll + recvmmsg/sendmmsg through libc, one poll loop per worker) or
 * `node:dgram` (fallback when libc cannot be loaded, for IPv6 addresses, or when chosen).
 *
 * PBX_MEDIA_IO=native|dgram selects the path (default native when libc loads).
 * PBX_MEDIA_POLL=thread|paced picks how the native loop waits, PBX_MEDIA_POLL_US its pacing while
 * busy (see UdpPollerOptions; for benchmarks).
 */
import dgram from "node:dgram";
import { available as nativeAvailable, UdpPoller, type UdpPollerOptions } from "../../../drivers/udp/mod.ts";

/** Where a datagram came from. May be a reused object: copy the fields you keep. */
export interface RelayRemote {
  address: string;
  port: number;
}

/**
 * A bound UDP socket. Received `data` is only valid during the callback on the native path (a view
 * into the poll loop's receive arena); `send` copies (native) or holds the buffer until sent
 * (dgram), so callers must not reuse a buffer passed to `send` on the dgram path.
 */
export interface RelaySocket {
  /** Local port. */
  readonly port: number;
  /** Queue one datagram; native sends go out in a batch at the end of the current task. */
  send(data: Uint8Array, port: number, address: string): void;
  /** Deliver each received datagram (replaces an earlier callback). */
  onMessage(callback: (data: Uint8Array, remote: RelayRemote) => void): void;
  /** Close; resolves once the socket is gone. Safe to call twice. */
  close(): Promise<void>;
}

/** Which socket layer is in use. */
export type MediaIoMode = "native" | "dgram";

let poller: UdpPoller | null = null;
let pollerFailed = false;
let mode: MediaIoMode | null = null;

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env
  }
}

/** The worker's one poller, opened on first use; null when libc cannot be used here. */
function nativePoller(): UdpPoller | null {
  if (poller !== null || pollerFailed) return poller;
  pollerFailed = true;
  if (!nativeAvailable()) return null; // the driver loader logged why
  try {
    const opts: UdpPollerOptions = {};
    const wait = env("PBX_MEDIA_POLL");
    if (wait === "paced" || wait === "thread") opts.wait = wait;
    const pace = Number(env("PBX_MEDIA_POLL_US") ?? "NaN");
    if (Number.isInteger(pace) && pace >= 0) opts.busyPaceUs = pace;
    poller = UdpPoller.open(opts);
    pollerFailed = false;
  } catch (err) {
    console.error(`native UDP unavailable, media sockets use node:dgram: ${String(err)}`);
  }
  return poller;
}

/** The mode chosen for this worker (decided on first use). */
export function mediaIoMode(): MediaIoMode {
  if (mode !== null) return mode;
  const want = env("PBX_MEDIA_IO") ?? "native";
  if (want !== "native" && want !== "dgram") {
    console.error(`PBX_MEDIA_IO=${want} is neither native nor dgram: using dgram`);
  }
  mode = want === "native" && nativePoller() !== null ? "native" : "dgram";
  return mode;
}

/** Options for {@linkcode bindRelaySocket}. */
export interface BindOptions {
  /** Force a socket layer (tests run both); default {@linkcode mediaIoMode}. */
  io?: MediaIoMode;
}

/**
 * Bind a UDP socket on `address:port` (0 = ephemeral). Rejects when the port is taken (the
 * caller's port pool moves on).
 */
export function bindRelaySocket(
  port: number,
  address: string,
  options: BindOptions = {},
): Promise<RelaySocket> {
  const io = options.io ?? mediaIoMode();
  if (io === "native" && !address.includes(":")) {
    const p = nativePoller();
    if (p === null) return Promise.reject(new Error("native UDP is not available here"));
    try {
      const s = p.bind(port, address);
      return Promise.resolve({
        port: s.port,
        send: (data, p, a) => void s.send(data, p, a),
        onMessage: (cb) => s.onMessage(cb),
        close: () => s.close(),
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }
  return bindDgram(port, address);
}

function bindDgram(port: number, address: string): Promise<RelaySocket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type: address.includes(":") ? "udp6" : "udp4", reuseAddr: false });
    const onError = (err: Error) => {
      s.close();
      reject(err);
    };
    s.once("error", onError);
    s.bind(port, address, () => {
      s.off("error", onError);
      // Runtime socket errors (e.g. ICMP unreachable) must not take the worker down.
      s.on("error", () => {});
      let closed = false;
      resolve({
        port: s.address().port,
        send: (data, p, a) => {
          if (!closed) s.send(data, p, a);
        },
        onMessage: (cb) => {
          s.removeAllListeners("message");
          s.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => cb(msg, rinfo));
        },
        close: () =>
          new Promise<void>((done) => {
            if (closed) return done();
            closed = true;
            try {
              s.close(() => done());
            } catch {
              done(); // already closed
            }
          }),
      });
    });
  });
}
