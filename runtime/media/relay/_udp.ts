/**
 * The media worker's UDP sockets: what _worker.ts needs from a socket, over either the native
 * batched path (drivers/udp: epoll + recvmmsg/sendmmsg through libc, one poll loop per worker) or
 * `node:dgram` (fallback when libc cannot be loaded, for IPv6 addresses, or when chosen).
 *
 * PBX_MEDIA_IO=native|dgram selects the path (default native when libc loads).
 * PBX_MEDIA_POLL=sync|thread|paced picks how the native loop waits (see UdpPollerOptions.wait;
 * default "sync"; "sync" applies only inside a worker, elsewhere it means "thread"),
 * PBX_MEDIA_POLL_US its pause between batches while busy (sync default 0, thread 250),
 * PBX_MEDIA_YIELD_MS how often a "sync" loop returns to the event loop (default 250). The same
 * choice per plane: MediaPlaneOptions.poll.
 *
 * In "sync" mode the worker's thread sits in epoll_wait, so its event loop (messages, timers)
 * only runs when the loop yields: the main thread adds to the poller's eventfd after each
 * postMessage ({@linkcode commandWakeFd}), the loop then returns to the event loop until that
 * message has been delivered and handled ({@linkcode commandArrived}), and the worker's timers run
 * from the loop ({@linkcode mediaInterval}).
 */
import dgram from "node:dgram";
import {
  available as nativeAvailable,
  type PollTimer,
  UdpPoller,
  type UdpPollerOptions,
} from "../../../drivers/udp/mod.ts";

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
    const wait = pollOverride ?? env("PBX_MEDIA_POLL") ?? DEFAULT_POLL;
    if (wait === "paced" || wait === "thread") opts.wait = wait;
    // Blocking the thread is only right for a dedicated worker (never the signalling thread).
    else if (wait === "sync") opts.wait = inWorker() ? "sync" : "thread";
    else console.error(`PBX_MEDIA_POLL=${wait} is not sync, thread or paced: using ${DEFAULT_POLL}`);
    const pace = Number(env("PBX_MEDIA_POLL_US") ?? "NaN");
    if (Number.isInteger(pace) && pace >= 0) opts.busyPaceUs = pace;
    const every = Number(env("PBX_MEDIA_YIELD_MS") ?? "NaN");
    if (Number.isFinite(every) && every > 0) opts.yieldEveryMs = every;
    poller = UdpPoller.open(opts);
    pollerFailed = false;
    if (poller.wait === "sync") poller.onWake(onCommandWake);
  } catch (err) {
    console.error(`native UDP unavailable, media sockets use node:dgram: ${String(err)}`);
  }
  return poller;
}

let pollOverride: string | undefined;

/**
 * Choose the native loop's wait mode before the first socket is bound (MediaPlaneOptions.poll);
 * false when the poller already exists.
 */
export function setPollMode(wait: "sync" | "thread" | "paced"): boolean {
  if (poller !== null || pollerFailed) return false;
  pollOverride = wait;
  return true;
}

/** How the native loop waits unless PBX_MEDIA_POLL says otherwise. */
const DEFAULT_POLL = "sync";

function inWorker(): boolean {
  return typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined";
}

// ---- "sync" mode: commands and timers while the thread sits in epoll_wait ----

/** Wake-ups read from the eventfd minus messages delivered: > 0 = a message is on its way. */
let owed = 0;
let owedDone: (() => void) | null = null;
let owedTimer: ReturnType<typeof setTimeout> | undefined;

function onCommandWake(count: number): Promise<void> | void {
  owed += count;
  if (owed <= 0) return;
  return new Promise<void>((resolve) => {
    owedDone = resolve;
    // Never wait forever on a count that went wrong: the periodic yield still delivers messages.
    owedTimer = setTimeout(() => {
      owed = 0;
      settleOwed();
    }, 50);
  });
}

function settleOwed(): void {
  if (owedTimer !== undefined) clearTimeout(owedTimer);
  owedTimer = undefined;
  const done = owedDone;
  owedDone = null;
  done?.();
}

/**
 * The eventfd the main thread adds 1 to after each postMessage to this worker, or null when the
 * worker does not wait in "sync" mode (messages then arrive through the event loop as usual).
 */
export function commandWakeFd(): number | null {
  if (mediaIoMode() !== "native") return null;
  const p = nativePoller();
  return p !== null && p.wait === "sync" ? p.wakeFd : null;
}

/**
 * Call at the start of each message handler with the handler's work and whether the sender
 * signalled the eventfd for it: counts the message against the wake-ups, and keeps a "sync" loop
 * from blocking until the work is done.
 */
export function commandArrived(work: Promise<unknown>, woken: boolean): void {
  const p = poller;
  if (p === null || p.wait !== "sync") return;
  p.hold(work);
  if (!woken) return;
  owed--;
  if (owed <= 0) settleOwed();
}

/**
 * setInterval for the worker's media clocks: driven by the poll loop in "sync" mode (the thread's
 * own timers only fire when the loop yields), setInterval otherwise.
 */
export function mediaInterval(fn: () => void, periodMs: number): PollTimer {
  const p = mode === "native" || (mode === null && mediaIoMode() === "native") ? nativePoller() : null;
  if (p !== null && p.wait === "sync") return p.interval(fn, periodMs);
  const id = setInterval(fn, periodMs);
  return { clear: () => clearInterval(id) };
}

/** node:dgram sockets open in this worker: a "sync" loop yields every ms while there are any. */
let dgramOpen = 0;

function dgramCount(delta: number): void {
  dgramOpen += delta;
  if (poller !== null && poller.wait === "sync") poller.yieldEveryMs = dgramOpen > 0 ? 1 : baseYieldMs();
}

function baseYieldMs(): number {
  const every = Number(env("PBX_MEDIA_YIELD_MS") ?? "NaN");
  return Number.isFinite(every) && every > 0 ? every : 250;
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
      // The driver's socket already has this shape: no wrapper object and closures per socket.
      return Promise.resolve(p.bind(port, address));
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
      dgramCount(1);
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
            dgramCount(-1);
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
