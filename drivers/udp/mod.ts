/**
 * Batched IPv4 UDP through libc (FFI): non-blocking sockets, one epoll set, recvmmsg/sendmmsg over
 * preallocated message arrays. Built for the media worker, where Deno's `node:dgram` costs one
 * event plus one async op per packet (~50 us) and ~64 kB RSS per bound socket.
 *
 * One {@linkcode UdpPoller} per thread (JS isolate) owns every socket it binds and runs one poll
 * loop while at least one socket is open: it waits on epoll (blocking, on a helper thread through
 * a `nonblocking` FFI symbol; paced by a timer; or, in a dedicated worker, blocking the calling
 * thread itself in a synchronous epoll_wait), drains each ready socket with recvmmsg into a
 * shared receive arena and hands each datagram to the socket's callback. Sends are copied into a
 * shared send arena and flushed with sendmmsg (one call per run of packets from the same socket)
 * at the end of the current task, or at once when the arena is full.
 *
 * Struct layouts are for Linux glibc x86_64 and aarch64, which agree on sockaddr_in (16), iovec
 * (16), msghdr (56) and mmsghdr (64); they differ on epoll_event: packed 12 bytes on x86_64, 16 on
 * aarch64 (data at offset 8). `structLayout()` exposes the constants; the test checks them against
 * a C program compiled with gcc.
 *
 * @module
 */
import { NativeLibrary } from "../loader.ts";

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  // The same function on a helper thread: a blocking wait that resolves a Promise.
  epoll_wait_blocking: {
    name: "epoll_wait",
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  // Message vectors are passed as raw addresses (usize): no per-call pointer objects.
  recvmmsg: { parameters: ["i32", "usize", "u32", "i32", "pointer"], result: "i32" },
  sendmmsg: { parameters: ["i32", "usize", "u32", "i32"], result: "i32" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "i32" },
  // Pacing while busy: sleep on a helper thread so packets gather into one batch.
  usleep_blocking: { name: "usleep", parameters: ["u32"], result: "i32", nonblocking: true },
  // The same on the calling thread ("sync" mode).
  usleep: { parameters: ["u32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The raw libc symbols this driver binds. */
export type LibcUdp = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** libc opened lazily (env override: PBX_LIBC_PATH; tests point it at a missing file). */
export const library: NativeLibrary<typeof SYMBOLS> = new NativeLibrary({
  label: "native UDP (media sockets fall back to node:dgram)",
  soname: "libc.so.6",
  aptPackage: "libc6",
  envVar: "PBX_LIBC_PATH",
  symbols: SYMBOLS,
});

/** True when libc loads with every symbol and the platform's struct layouts are known here. */
export function available(): boolean {
  return Deno.build.os === "linux" && (Deno.build.arch === "x86_64" || Deno.build.arch === "aarch64") &&
    library.available();
}

// Linux constants (identical on x86_64 and aarch64).
const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_RCVBUFFORCE = 33;
const IPPROTO_IP = 0;
const IP_TOS = 1;
const EPOLL_CLOEXEC = 0o2000000;
const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLLIN = 0x1;
const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
const EINTR = 4;
const EAGAIN = 11;
const EACCES = 13;
const EADDRINUSE = 98;
const EADDRNOTAVAIL = 99;

/** Struct sizes and field offsets this driver writes (Linux glibc, 64-bit). */
export interface StructLayout {
  sockaddrIn: { size: number; family: number; port: number; addr: number };
  iovec: { size: number; base: number; len: number };
  msghdr: {
    size: number;
    name: number;
    namelen: number;
    iov: number;
    iovlen: number;
    control: number;
    controllen: number;
    flags: number;
  };
  mmsghdr: { size: number; len: number };
  epollEvent: { size: number; events: number; data: number };
}

const LAYOUT: StructLayout = {
  sockaddrIn: { size: 16, family: 0, port: 2, addr: 4 },
  iovec: { size: 16, base: 0, len: 8 },
  msghdr: { size: 56, name: 0, namelen: 8, iov: 16, iovlen: 24, control: 32, controllen: 40, flags: 48 },
  mmsghdr: { size: 64, len: 56 },
  // x86_64 declares struct epoll_event packed; aarch64 does not.
  epollEvent: Deno.build.arch === "x86_64"
    ? { size: 12, events: 0, data: 4 }
    : { size: 16, events: 0, data: 8 },
};

/** The layout constants in use (for the layout test). */
export function structLayout(): StructLayout {
  return structuredClone(LAYOUT);
}

const MH = LAYOUT.mmsghdr.size;
const EV = LAYOUT.epollEvent.size;
const EV_DATA = LAYOUT.epollEvent.data;

/** Where a datagram came from. The poller reuses one object: copy fields you keep. */
export interface UdpRemote {
  address: string;
  port: number;
}

/**
 * Called once per datagram. `data` is a view into the poller's receive arena: valid only during
 * the call (the next recvmmsg overwrites it, and the same view object may be passed again for a
 * later datagram of the same length); copy what must outlive it. Sending it is fine: send copies.
 */
export type UdpMessageHandler = (data: Uint8Array, remote: UdpRemote) => void;

/** Options for {@linkcode UdpPoller}. */
export interface UdpPollerOptions {
  /**
   * How the loop waits: "thread" polls (timeout 0) and, when nothing is ready, blocks in
   * epoll_wait on a helper thread; "paced" polls with timeout 0 every `paceMs` from a timer;
   * "sync" blocks the calling thread in epoll_wait (only for a dedicated worker: the thread's
   * event loop runs only when the loop yields, see {@linkcode UdpPoller.interval},
   * {@linkcode UdpPoller.onWake} and `yieldEveryMs`).
   */
  wait?: "thread" | "paced" | "sync";
  /**
   * "sync" only: return to the event loop (one MessageChannel round trip) at least this often, so
   * promises, timers and messages of the thread still run (default 250 ms). Each return costs an
   * event-loop turn that delays the packets behind it: at 1000 relayed calls 20 ms gave a p99 of
   * 14-19 ms against 8 ms for 250 ms. Wake-ups that need the event loop sooner go through
   * {@linkcode UdpPoller.onWake} / {@linkcode UdpPoller.hold}.
   */
  yieldEveryMs?: number;
  /** Poll period for "paced" (default 1 ms; Deno timers are ~1 ms at best). */
  paceMs?: number;
  /**
   * "thread" only: after a batch, sleep this long on a helper thread before polling again, so the
   * next batch gathers more packets (default 250 us). Each helper-thread call costs ~30 us of CPU in
   * Deno 2.9, so waking per packet costs more than the relaying; this bounds wake-ups to ~1/paceUs
   * under load and adds at most paceUs of delay. 0 = block in epoll_wait after every batch.
   * "sync": the same pause with a plain usleep on the worker's own thread (default 0).
   */
  busyPaceUs?: number;
  /** Datagrams per recvmmsg (default 64). */
  recvBatch?: number;
  /** Send arena slots (default 512): more queued packets flush at once. */
  sendSlots?: number;
  /** Largest datagram sent through the arena and received (default 2048); larger sends go alone. */
  slotBytes?: number;
  /** SO_RCVBUF / SO_SNDBUF for each socket (kernel defaults when unset). */
  rcvbuf?: number;
  sndbuf?: number;
  /** IP_TOS for each socket, e.g. 0xb8 (DSCP EF) for RTP. */
  tos?: number;
}

/** A bound non-blocking UDP socket owned by a {@linkcode UdpPoller}. */
export class NativeUdpSocket {
  /** The bound local port. */
  readonly port: number;
  /** @internal file descriptor; -1 once closed. */
  fd: number;
  /** @internal */
  handler: UdpMessageHandler | null = null;
  readonly #poller: UdpPoller;

  /** @internal use {@linkcode UdpPoller.bind}. */
  constructor(poller: UdpPoller, fd: number, port: number) {
    this.#poller = poller;
    this.fd = fd;
    this.port = port;
  }

  /** Deliver received datagrams to `handler` (replaces the previous one). */
  onMessage(handler: UdpMessageHandler): void {
    this.handler = handler;
  }

  /**
   * Queue `data` (copied) for `address:port`; sent in a batch at the end of the current task.
   * Returns false when dropped (socket closed, address not IPv4 dotted-quad, port out of range).
   */
  send(data: Uint8Array, port: number, address: string): boolean {
    return this.#poller.send(this, data, port, address);
  }

  /**
   * Ask for a kernel receive buffer of `bytes` (SO_RCVBUFFORCE when the process may, which passes
   * net.core.rmem_max; else SO_RCVBUF, capped there) and return the size the kernel reports
   * (SO_RCVBUF reads back twice what was granted: the kernel counts its bookkeeping too).
   */
  setReceiveBuffer(bytes: number): number {
    return this.#poller.setReceiveBuffer(this, bytes);
  }

  /** The kernel receive buffer size (SO_RCVBUF as read back). */
  receiveBuffer(): number {
    return this.#poller.receiveBuffer(this);
  }

  /** Flush this socket's queued packets, then close it. Resolves once the poll loop let go of it. */
  close(): Promise<void> {
    return this.#poller.closeSocket(this);
  }
}

/** A repeating callback driven by a poll loop (see {@linkcode UdpPoller.interval}). */
export interface PollTimer {
  /** Stop it; safe to call twice. */
  clear(): void;
}

interface LoopTimer {
  fn: () => void;
  periodMs: number;
  due: number;
}

/**
 * Add `count` to an eventfd of this process from the calling thread (another worker's
 * {@linkcode UdpPoller.wakeFd}), through this thread's own libc handle. False when libc cannot
 * be used here or the write failed.
 */
export function signalWakeFd(fd: number, count = 1): boolean {
  const lib = library.load();
  if (lib === null || !Number.isInteger(fd) || fd < 0) return false;
  const b = new BigUint64Array([BigInt(count)]);
  return lib.write(fd, new Uint8Array(b.buffer), usize(8)) === 8;
}

/** Deno's types ask for bigint on usize parameters; the runtime takes a number too, without a BigInt. */
const usize = (n: number): bigint => n as unknown as bigint;

function ptrValue(buf: ArrayBuffer): number {
  const p = Deno.UnsafePointer.of(buf);
  return Number(Deno.UnsafePointer.value(p));
}

/** Parse dotted-quad IPv4 into a host-order u32; -1 when not one. */
function parseIpv4(s: string): number {
  const parts = s.split(".");
  if (parts.length !== 4) return -1;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return -1;
    const n = Number(p);
    if (n > 255) return -1;
    v = v * 256 + n;
  }
  return v;
}

/**
 * One poll loop over every socket it binds (one per thread). Create it with
 * {@linkcode UdpPoller.open}; throws when libc or the platform is not supported.
 */
export class UdpPoller {
  readonly #lib: LibcUdp;
  readonly #errno: Deno.UnsafePointerView;
  readonly #ep: number;
  readonly #wakeFd: number;
  readonly #opts: Required<Omit<UdpPollerOptions, "rcvbuf" | "sndbuf" | "tos">> & UdpPollerOptions;
  // "sync" mode: loop-driven timers, wake-ups counted from other threads, the yield channel.
  readonly #timers: LoopTimer[] = [];
  #wakeCount = 0;
  #onWake: ((count: number) => Promise<void> | void) | null = null;
  #yieldChannel: MessageChannel | null = null;
  #yieldResolve: (() => void) | null = null;
  readonly #holds = new Set<Promise<void>>();
  readonly #byFd: (NativeUdpSocket | undefined)[] = [];
  #count = 0;
  #running: Promise<void> | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  // epoll
  readonly #events: Uint8Array;
  readonly #eventsView: DataView;
  readonly #maxEvents = 256;
  readonly #ctl = new Uint8Array(16);
  readonly #ctlView = new DataView(this.#ctl.buffer);

  // receive arena: mmsghdr[R] | iovec[R] | sockaddr_in[R] | data[R * slot]
  readonly #rBuf: ArrayBuffer;
  readonly #rAddr: number;
  readonly #rU32: Uint32Array;
  readonly #rU8: Uint8Array;
  readonly #rNameOff: number;
  readonly #rDataOff: number;
  readonly #rBatch: number;
  readonly #remote: UdpRemote = { address: "", port: 0 };
  /** Dotted-quad names by address (key: the address as int32, so the lookup never boxes a number). */
  readonly #names = new Map<number, string>();
  /**
   * One view per receive slot, reused while datagram lengths repeat (RTP streams keep one size):
   * no view object is allocated per datagram, so the young generation fills far more slowly.
   */
  readonly #views: Uint8Array[];

  // send arena: same layout with S slots; slotFd[i] = socket of slot i
  readonly #sBuf: ArrayBuffer;
  readonly #sAddr: number;
  readonly #sU32: Uint32Array;
  readonly #sU8: Uint8Array;
  readonly #sNameOff: number;
  readonly #sDataOff: number;
  readonly #sIovOff: number;
  readonly #slotFd: Int32Array;
  #used = 0;
  #flushQueued = false;
  readonly #flushTask = () => {
    this.#flushQueued = false;
    this.flush();
  };
  readonly #addrs = new Map<string, number>();
  readonly #oneName = new Uint8Array(16);
  readonly #i32 = new Int32Array(1);
  readonly #u64 = new BigUint64Array(1);

  /** Counters: datagrams in/out, sendmmsg/recvmmsg calls, wake-ups, dropped sends. */
  readonly counters = {
    received: 0,
    sent: 0,
    recvCalls: 0,
    sendCalls: 0,
    wakeups: 0,
    sendErrors: 0,
    truncated: 0,
  };

  private constructor(lib: LibcUdp, opts: UdpPollerOptions) {
    this.#lib = lib;
    this.#opts = {
      wait: opts.wait ?? "thread",
      paceMs: opts.paceMs ?? 1,
      busyPaceUs: opts.busyPaceUs ?? (opts.wait === "sync" ? 0 : 250),
      yieldEveryMs: opts.yieldEveryMs ?? 250,
      recvBatch: opts.recvBatch ?? 64,
      sendSlots: opts.sendSlots ?? 512,
      slotBytes: opts.slotBytes ?? 2048,
      ...opts,
    };
    const errnoPtr = lib.__errno_location();
    if (errnoPtr === null) throw new Error("__errno_location returned NULL");
    this.#errno = new Deno.UnsafePointerView(errnoPtr);
    const slot = this.#opts.slotBytes;
    if (!Number.isInteger(slot) || slot < 64 || slot > 65536) throw new RangeError(`bad slotBytes: ${slot}`);

    const R = this.#opts.recvBatch;
    if (!Number.isInteger(R) || R < 1 || R > 1024) throw new RangeError(`bad recvBatch: ${R}`);
    this.#rBatch = R;
    const r = this.#layoutArena(R, slot);
    this.#rBuf = r.buf;
    this.#rAddr = r.addr;
    this.#rNameOff = r.nameOff;
    this.#rDataOff = r.dataOff;
    this.#rU32 = new Uint32Array(r.buf);
    this.#rU8 = new Uint8Array(r.buf);
    this.#views = Array.from({ length: R }, () => this.#rU8.subarray(0, 0));

    const S = this.#opts.sendSlots;
    if (!Number.isInteger(S) || S < 1 || S > 8192) throw new RangeError(`bad sendSlots: ${S}`);
    const s = this.#layoutArena(S, slot);
    this.#sBuf = s.buf;
    this.#sAddr = s.addr;
    this.#sNameOff = s.nameOff;
    this.#sDataOff = s.dataOff;
    this.#sIovOff = s.iovOff;
    this.#sU32 = new Uint32Array(s.buf);
    this.#sU8 = new Uint8Array(s.buf);
    this.#slotFd = new Int32Array(S);

    this.#events = new Uint8Array(this.#maxEvents * EV);
    this.#eventsView = new DataView(this.#events.buffer);

    this.#ep = lib.epoll_create1(EPOLL_CLOEXEC);
    if (this.#ep < 0) throw new Error(`epoll_create1 failed: errno ${this.#errnoValue()}`);
    this.#wakeFd = lib.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (this.#wakeFd < 0) {
      lib.close(this.#ep);
      throw new Error(`eventfd failed: errno ${this.#errnoValue()}`);
    }
    this.#epollAdd(this.#wakeFd);
  }

  /** A poller over libc; throws Error (with the loader's reason) when libc is unusable here. */
  static open(options: UdpPollerOptions = {}): UdpPoller {
    if (Deno.build.os !== "linux" || (Deno.build.arch !== "x86_64" && Deno.build.arch !== "aarch64")) {
      throw new Error(`native UDP needs Linux on x86_64 or aarch64, not ${Deno.build.os}/${Deno.build.arch}`);
    }
    return new UdpPoller(library.require(), options);
  }

  /** Lay out n messages of one iovec each, with fixed pointers written once. */
  #layoutArena(n: number, slot: number) {
    const iovOff = n * MH;
    const nameOff = iovOff + n * 16;
    const dataOff = nameOff + n * 16;
    const buf = new ArrayBuffer(dataOff + n * slot);
    const addr = ptrValue(buf);
    const dv = new DataView(buf);
    const M = LAYOUT.msghdr;
    for (let i = 0; i < n; i++) {
      const m = i * MH;
      dv.setBigUint64(m + M.name, BigInt(addr + nameOff + i * 16), true);
      dv.setUint32(m + M.namelen, 16, true);
      dv.setBigUint64(m + M.iov, BigInt(addr + iovOff + i * 16), true);
      dv.setBigUint64(m + M.iovlen, 1n, true);
      dv.setBigUint64(m + M.control, 0n, true);
      dv.setBigUint64(m + M.controllen, 0n, true);
      dv.setInt32(m + M.flags, 0, true);
      dv.setBigUint64(iovOff + i * 16 + LAYOUT.iovec.base, BigInt(addr + dataOff + i * slot), true);
      dv.setBigUint64(iovOff + i * 16 + LAYOUT.iovec.len, BigInt(slot), true);
      dv.setUint16(nameOff + i * 16, AF_INET, true);
    }
    return { buf, addr, iovOff, nameOff, dataOff };
  }

  #errnoValue(): number {
    return this.#errno.getInt32(0);
  }

  #epollAdd(fd: number): void {
    this.#ctlView.setUint32(0, EPOLLIN, true);
    this.#ctlView.setBigUint64(EV_DATA, 0n, true);
    this.#ctlView.setInt32(EV_DATA, fd, true);
    if (this.#lib.epoll_ctl(this.#ep, EPOLL_CTL_ADD, fd, this.#ctl) !== 0) {
      throw new Error(`epoll_ctl ADD ${fd} failed: errno ${this.#errnoValue()}`);
    }
  }

  /** Sockets currently open. */
  get sockets(): number {
    return this.#count;
  }

  /**
   * Bind a non-blocking IPv4 UDP socket to `address:port` (port 0 = ephemeral). Throws
   * Deno.errors.AddrInUse when taken, TypeError when `address` is not dotted-quad IPv4.
   */
  bind(port: number, address: string): NativeUdpSocket {
    if (this.#closed) throw new Error("UdpPoller closed");
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`bad UDP port: ${port}`);
    const ip = parseIpv4(address);
    if (ip < 0) throw new TypeError(`native UDP binds IPv4 dotted-quad addresses only, not "${address}"`);
    const lib = this.#lib;
    const fd = lib.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new Error(`socket() failed: errno ${this.#errnoValue()}`);
    try {
      const o = this.#opts;
      if (o.rcvbuf !== undefined) this.#setInt(fd, SOL_SOCKET, SO_RCVBUF, o.rcvbuf);
      if (o.sndbuf !== undefined) this.#setInt(fd, SOL_SOCKET, SO_SNDBUF, o.sndbuf);
      if (o.tos !== undefined) this.#setInt(fd, IPPROTO_IP, IP_TOS, o.tos);
      const sa = new Uint8Array(16);
      const dv = new DataView(sa.buffer);
      dv.setUint16(0, AF_INET, true);
      dv.setUint16(2, port, false);
      dv.setUint32(4, ip, false);
      if (lib.bind(fd, sa, 16) !== 0) {
        const e = this.#errnoValue();
        if (e === EADDRINUSE || e === EACCES) {
          throw new Deno.errors.AddrInUse(`UDP ${address}:${port} is in use (errno ${e})`);
        }
        if (e === EADDRNOTAVAIL) throw new Deno.errors.AddrNotAvailable(`cannot bind UDP ${address}:${port}`);
        throw new Error(`bind UDP ${address}:${port} failed: errno ${e}`);
      }
      const len = new Uint32Array([16]);
      if (lib.getsockname(fd, sa, len) !== 0) {
        throw new Error(`getsockname failed: errno ${this.#errnoValue()}`);
      }
      const bound = dv.getUint16(2, false);
      this.#epollAdd(fd);
      const sock = new NativeUdpSocket(this, fd, bound);
      this.#byFd[fd] = sock;
      this.#count++;
      this.#start();
      return sock;
    } catch (err) {
      lib.close(fd);
      throw err;
    }
  }

  /** @internal see NativeUdpSocket.setReceiveBuffer. */
  setReceiveBuffer(sock: NativeUdpSocket, bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 1024 || bytes > 0x3fffffff) {
      throw new RangeError(`bad receive buffer size: ${bytes}`);
    }
    if (sock.fd < 0) throw new Error("socket closed");
    this.#i32[0] = bytes;
    const value = new Uint8Array(this.#i32.buffer);
    if (this.#lib.setsockopt(sock.fd, SOL_SOCKET, SO_RCVBUFFORCE, value, 4) !== 0) {
      this.#setInt(sock.fd, SOL_SOCKET, SO_RCVBUF, bytes);
    }
    return this.receiveBuffer(sock);
  }

  /** @internal see NativeUdpSocket.receiveBuffer. */
  receiveBuffer(sock: NativeUdpSocket): number {
    if (sock.fd < 0) throw new Error("socket closed");
    const out = new Int32Array(1);
    const len = new Uint32Array([4]);
    if (
      this.#lib.getsockopt(
        sock.fd,
        SOL_SOCKET,
        SO_RCVBUF,
        new Uint8Array(out.buffer),
        new Uint8Array(len.buffer),
      ) !== 0
    ) {
      throw new Error(`getsockopt(SO_RCVBUF) failed: errno ${this.#errnoValue()}`);
    }
    return out[0]!;
  }

  #setInt(fd: number, level: number, name: number, value: number): void {
    this.#i32[0] = value;
    if (this.#lib.setsockopt(fd, level, name, new Uint8Array(this.#i32.buffer), 4) !== 0) {
      throw new Error(`setsockopt(${level}, ${name}, ${value}) failed: errno ${this.#errnoValue()}`);
    }
  }

  #addrOf(address: string): number {
    let ip = this.#addrs.get(address);
    if (ip === undefined) {
      ip = address === "localhost" ? 0x7f000001 : parseIpv4(address);
      if (this.#addrs.size > 4096) this.#addrs.clear();
      this.#addrs.set(address, ip);
    }
    return ip;
  }

  /** @internal queue a datagram (see NativeUdpSocket.send). */
  send(sock: NativeUdpSocket, data: Uint8Array, port: number, address: string): boolean {
    if (sock.fd < 0 || port <= 0 || port > 65535) return false;
    const ip = this.#addrOf(address);
    if (ip < 0) return false;
    const len = data.length;
    const slotBytes = this.#opts.slotBytes;
    if (len > slotBytes) return this.#sendOne(sock.fd, data, port, ip);
    if (this.#used === this.#slotFd.length) this.flush();
    const i = this.#used++;
    this.#slotFd[i] = sock.fd;
    this.#sU8.set(data, this.#sDataOff + i * slotBytes);
    // iov_len (low 32 bits; the high half stays 0), then port and address in network order.
    this.#sU32[(this.#sIovOff + i * 16 + 8) >> 2] = len;
    const n = this.#sNameOff + i * 16;
    const u8 = this.#sU8;
    u8[n + 2] = port >> 8;
    u8[n + 3] = port & 0xff;
    u8[n + 4] = ip >>> 24;
    u8[n + 5] = (ip >>> 16) & 0xff;
    u8[n + 6] = (ip >>> 8) & 0xff;
    u8[n + 7] = ip & 0xff;
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flushTask);
    }
    return true;
  }

  #sendOne(fd: number, data: Uint8Array, port: number, ip: number): boolean {
    const sa = this.#oneName;
    const dv = new DataView(sa.buffer);
    dv.setUint16(0, AF_INET, true);
    dv.setUint16(2, port, false);
    dv.setUint32(4, ip, false);
    const r = this.#lib.sendto(fd, data, usize(data.length), 0, sa, 16);
    if (r < 0) {
      this.counters.sendErrors++;
      return false;
    }
    this.counters.sent++;
    return true;
  }

  /** Send everything queued now: one sendmmsg per run of consecutive packets of one socket. */
  flush(): void {
    const used = this.#used;
    if (used === 0) return;
    this.#used = 0;
    const fds = this.#slotFd;
    const lib = this.#lib;
    let start = 0;
    while (start < used) {
      const fd = fds[start]!;
      let end = start + 1;
      while (end < used && fds[end] === fd) end++;
      let i = start;
      while (i < end) {
        const r = lib.sendmmsg(fd, usize(this.#sAddr + i * MH), end - i, MSG_DONTWAIT);
        this.counters.sendCalls++;
        if (r > 0) {
          i += r;
          this.counters.sent += r;
        } else {
          const e = this.#errnoValue();
          if (e === EINTR) continue;
          // EAGAIN: the socket buffer is full, drop the rest of the run; else skip the bad packet.
          if (e === EAGAIN) {
            this.counters.sendErrors += end - i;
            break;
          }
          this.counters.sendErrors++;
          i++;
        }
      }
      start = end;
    }
  }

  /** @internal */
  async closeSocket(sock: NativeUdpSocket): Promise<void> {
    const fd = sock.fd;
    if (fd < 0) return;
    this.flush();
    sock.fd = -1;
    sock.handler = null;
    this.#ctlView.setBigUint64(0, 0n);
    this.#lib.epoll_ctl(this.#ep, EPOLL_CTL_DEL, fd, this.#ctl);
    this.#lib.close(fd);
    this.#byFd[fd] = undefined;
    this.#count--;
    if (this.#count === 0) {
      this.#stopPaced();
      // "sync": the loop runs on this thread and sees the count when it next looks.
      if (this.#opts.wait === "sync") return;
      this.#wake();
      if (this.#running !== null) await this.#running;
    }
  }

  /** "sync" mode: the longest the loop goes without returning to the event loop (ms). */
  get yieldEveryMs(): number {
    return this.#opts.yieldEveryMs;
  }

  set yieldEveryMs(ms: number) {
    if (!Number.isFinite(ms) || ms <= 0) throw new RangeError(`bad yieldEveryMs: ${ms}`);
    this.#opts.yieldEveryMs = ms;
  }

  /** How this poller waits (see {@linkcode UdpPollerOptions.wait}). */
  get wait(): "thread" | "paced" | "sync" {
    return this.#opts.wait;
  }

  /**
   * The eventfd in this poller's epoll set. In "sync" mode another thread adds to it with
   * {@linkcode signalWakeFd} to wake the loop; the count reaches {@linkcode UdpPoller.onWake}.
   * Valid until {@linkcode UdpPoller.close}.
   */
  get wakeFd(): number {
    return this.#wakeFd;
  }

  /**
   * "sync" mode: called with the count other threads added to {@linkcode UdpPoller.wakeFd} since
   * the last call. When it returns a promise, the loop returns to the event loop until it settles
   * (e.g. until the message that came with the wake-up has been delivered). Replaces an earlier
   * handler; null removes it.
   */
  onWake(handler: ((count: number) => Promise<void> | void) | null): void {
    this.#onWake = handler;
  }

  /**
   * "sync" mode: keep the loop from blocking in epoll_wait until `work` settles (returning to the
   * event loop meanwhile), e.g. a command handler that awaits. Other modes: no effect.
   */
  hold(work: Promise<unknown>): void {
    if (this.#opts.wait !== "sync") return;
    const p = work.then(() => {}, () => {}).finally(() => this.#holds.delete(p));
    this.#holds.add(p);
  }

  /**
   * Call `fn` every `periodMs`. In "sync" mode the poll loop runs it (its epoll timeout is the time
   * to the next deadline) and keeps running while a timer is set, since the thread's own timers
   * only fire when the loop yields; in the other modes this is setInterval. RangeError for a period
   * that is not a positive finite number.
   */
  interval(fn: () => void, periodMs: number): PollTimer {
    if (!Number.isFinite(periodMs) || periodMs <= 0) throw new RangeError(`bad timer period: ${periodMs} ms`);
    if (this.#opts.wait !== "sync") {
      const id = setInterval(fn, periodMs);
      return { clear: () => clearInterval(id) };
    }
    if (this.#closed) throw new Error("UdpPoller closed");
    const t: LoopTimer = { fn, periodMs, due: performance.now() + periodMs };
    this.#timers.push(t);
    this.#start();
    return {
      clear: () => {
        const i = this.#timers.indexOf(t);
        if (i >= 0) this.#timers.splice(i, 1);
      },
    };
  }

  #wake(): void {
    this.#u64[0] = 1n;
    this.#lib.write(this.#wakeFd, new Uint8Array(this.#u64.buffer), usize(8));
  }

  #start(): void {
    if (this.#opts.wait === "paced") {
      if (this.#timer === undefined) {
        this.#timer = setInterval(() => {
          const n = this.#lib.epoll_wait(this.#ep, this.#events, this.#maxEvents, 0);
          if (n > 0) this.#dispatch(n);
        }, this.#opts.paceMs);
      }
      return;
    }
    if (this.#running === null) {
      const sync = this.#opts.wait === "sync";
      this.#running = (sync ? this.#runSync() : this.#run()).finally(() => {
        this.#running = null;
        // A socket (or timer) added while the loop was finishing: start again.
        if ((this.#count > 0 || (sync && this.#timers.length > 0)) && !this.#closed) this.#start();
      });
    }
  }

  /** Run the due loop timers; returns ms until the next deadline (Infinity when none). */
  #runTimers(now: number): number {
    let next = Infinity;
    // A copy: a callback may clear or add timers.
    for (const t of this.#timers.slice()) {
      if (now >= t.due) {
        try {
          t.fn();
        } catch (err) {
          console.error("poll loop timer threw:", err);
        }
        t.due += t.periodMs;
        // Late by more than a period (a stall): resume from now instead of bursting.
        if (t.due <= now) t.due = now + t.periodMs;
      }
      if (t.due < next) next = t.due;
    }
    if (next !== Infinity) this.flush();
    return next - now;
  }

  /** Return to the event loop for one macrotask (a MessageChannel round trip). */
  #yieldOnce(): Promise<void> {
    let ch = this.#yieldChannel;
    if (ch === null) {
      ch = this.#yieldChannel = new MessageChannel();
      ch.port1.onmessage = () => {
        const r = this.#yieldResolve;
        this.#yieldResolve = null;
        r?.();
      };
    }
    const p = new Promise<void>((r) => this.#yieldResolve = r);
    ch.port2.postMessage(null);
    return p;
  }

  /**
   * "sync" mode: block this thread in epoll_wait (timeout: next timer deadline, or the next
   * periodic yield), dispatch, run timers. Each iteration awaits once so promise continuations
   * (microtasks) run; the event loop itself only runs on a yield: when {@linkcode onWake} asks for
   * it, and every `yieldEveryMs`.
   */
  async #runSync(): Promise<void> {
    const lib = this.#lib;
    const pace = this.#opts.busyPaceUs;
    // Let the task that started the loop (e.g. a handler binding sockets) finish first.
    await this.#yieldOnce();
    let lastYield = performance.now();
    try {
      while (!this.#closed && (this.#count > 0 || this.#timers.length > 0)) {
        if (this.#holds.size > 0) {
          await Promise.all(this.#holds);
          lastYield = performance.now();
          continue;
        }
        let now = performance.now();
        const toTimer = this.#timers.length > 0 ? this.#runTimers(now) : Infinity;
        const every = this.#opts.yieldEveryMs;
        const toYield = every - (now - lastYield);
        const wait = Math.max(0, Math.ceil(Math.min(toTimer, toYield, 1000)));
        const n = lib.epoll_wait(this.#ep, this.#events, this.#maxEvents, wait);
        if (n > 0) this.#dispatch(n);
        const woken = this.#wakeCount;
        if (woken > 0) {
          this.#wakeCount = 0;
          const hold = this.#onWake?.(woken);
          if (hold !== undefined) {
            await hold;
            lastYield = performance.now();
            continue;
          }
        }
        now = performance.now();
        if (now - lastYield >= this.#opts.yieldEveryMs) {
          await this.#yieldOnce();
          lastYield = performance.now();
        } else {
          await null; // microtasks only
        }
        if (pace > 0 && n > 0) lib.usleep(pace);
      }
    } finally {
      this.#yieldChannel?.port1.close();
      this.#yieldChannel = null;
    }
  }

  #stopPaced(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #run(): Promise<void> {
    const lib = this.#lib;
    const pace = this.#opts.busyPaceUs;
    while (this.#count > 0) {
      let n = pace > 0 ? lib.epoll_wait(this.#ep, this.#events, this.#maxEvents, 0) : 0;
      if (n > 0) {
        this.#dispatch(n);
        // Busy: let the next batch gather (and the worker's timers and messages run meanwhile).
        await lib.usleep_blocking(pace);
        continue;
      }
      // Idle: block on a helper thread; the eventfd wakes it when the last socket closes.
      n = await lib.epoll_wait_blocking(this.#ep, this.#events, this.#maxEvents, 1000);
      if (n > 0) this.#dispatch(n);
    }
  }

  /** Handle n epoll events: drain each ready socket, then flush what the handlers queued. */
  #dispatch(n: number): void {
    this.counters.wakeups++;
    const dv = this.#eventsView;
    for (let k = 0; k < n; k++) {
      const fd = dv.getInt32(k * EV + EV_DATA, true);
      if (fd === this.#wakeFd) {
        this.#u64[0] = 0n;
        this.#lib.read(this.#wakeFd, new Uint8Array(this.#u64.buffer), usize(8));
        if (this.#opts.wait === "sync") this.#wakeCount += Number(this.#u64[0]);
        continue;
      }
      const sock = this.#byFd[fd];
      if (sock !== undefined) this.#drain(sock);
    }
    this.flush();
  }

  #drain(sock: NativeUdpSocket): void {
    const lib = this.#lib;
    const R = this.#rBatch;
    const slot = this.#opts.slotBytes;
    const u32 = this.#rU32;
    const u8 = this.#rU8;
    const remote = this.#remote;
    const views = this.#views;
    // Level-triggered epoll: one full batch at a time, the rest on the next wake-up.
    const got = lib.recvmmsg(sock.fd, usize(this.#rAddr), R, MSG_DONTWAIT, null);
    this.counters.recvCalls++;
    if (got <= 0) return;
    this.counters.received += got;
    for (let i = 0; i < got; i++) {
      const m = i * MH;
      const len = u32[(m + 56) >> 2]!;
      const flags = u32[(m + 48) >> 2]!;
      u32[(m + 8) >> 2] = 16; // msg_namelen back to the buffer size
      if ((flags & MSG_TRUNC) !== 0) {
        this.counters.truncated++;
        continue;
      }
      const handler = sock.handler;
      if (handler === null) return; // closed by an earlier handler in this batch
      const na = this.#rNameOff + i * 16;
      remote.port = (u8[na + 2]! << 8) | u8[na + 3]!;
      const ip = ((u8[na + 4]! << 24) | (u8[na + 5]! << 16) | (u8[na + 6]! << 8) | u8[na + 7]!) >>> 0;
      let name = this.#names.get(ip | 0);
      if (name === undefined) {
        name = `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`;
        if (this.#names.size > 4096) this.#names.clear();
        this.#names.set(ip | 0, name);
      }
      remote.address = name;
      let view = views[i]!;
      if (view.length !== len) {
        const off = this.#rDataOff + i * slot;
        view = views[i] = u8.subarray(off, off + len);
      }
      try {
        handler(view, remote);
      } catch (err) {
        // A throwing handler must not stop the loop or lose the rest of the batch.
        console.error("UDP message handler threw:", err);
      }
    }
  }

  /**
   * Close every socket and the epoll and wake fds. Resolves when the loop has stopped. The poller
   * cannot be used afterwards.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    for (const s of this.#byFd) if (s !== undefined) await s.close();
    this.#closed = true;
    this.#stopPaced();
    this.#timers.length = 0;
    // "sync": the loop is parked on this thread and checks #closed before touching an fd again;
    // awaiting it here could deadlock when close() runs in work the loop holds for.
    if (this.#running !== null && this.#opts.wait !== "sync") {
      this.#wake();
      await this.#running;
    } else if (this.#running !== null) {
      const r = this.#yieldResolve;
      this.#yieldResolve = null;
      r?.();
      if (this.#holds.size === 0) await this.#running;
    }
    this.#lib.close(this.#wakeFd);
    this.#lib.close(this.#ep);
    // Keep the arenas alive until here: the kernel holds raw addresses into them.
    void this.#rBuf;
    void this.#sBuf;
  }
}
