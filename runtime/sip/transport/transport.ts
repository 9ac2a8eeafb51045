import dgram from "node:dgram";
import {
  createResponse,
  getHeaderValues,
  MessageTooLargeError,
  parseMessage,
  parseVia,
  serializeMessage,
  SipParseError,
  type StreamFrame,
  StreamFramer,
} from "../message/mod.ts";
import type { Peer, SipMessage, SipRequest, SipResponse } from "../message/types.ts";
import { advertiseTls, normalizeAddress, stampVia } from "./_via.ts";

/** Minimal logger the transport reports oddities to. */
export interface TransportLogger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
  error?(message: string, fields?: Record<string, unknown>): void;
}

/** What `onError` hears about: a message that could not be parsed or was refused. */
export interface TransportErrorInfo {
  source: Peer;
  error: Error;
  /**
   * Set when the message was a readable-enough request that the caller should answer (400, or the
   * error's `status`) with `createResponse(partial, ...)`. Absent when the transport already
   * answered (513) or nothing can be answered.
   */
  partial?: SipMessage;
}

/** The TLS listener of `startTransports()` (SIP over TLS, RFC 3261 section 26). */
export interface TlsListenOptions {
  /** Port for SIP over TLS (5061 by convention); 0 picks a free one. */
  port: number;
  /** Server certificate chain (PEM). */
  cert: string;
  /** Its private key (PEM). */
  key: string;
  /**
   * Extra CA certificates (PEM) trusted when the box opens a TLS connection itself (a phone whose
   * flow is gone); the system roots are trusted too.
   */
  caCerts?: string[];
}

/** Options for `startTransports()`. */
export interface TransportOptions {
  /** Address to bind, e.g. "0.0.0.0" or "127.0.0.1". */
  bind: string;
  /** Port for both UDP and TCP; 0 picks a free one shared by both. */
  port: number;
  /** Largest message accepted, in bytes (default 65535). Bigger requests get 513 (section 21.5.14). */
  maxMessageSize?: number;
  /** Every parsed message. Requests already carry `received`/`rport` in their top Via. */
  onMessage(msg: SipMessage, source: Peer, raw: Uint8Array): void;
  /** Unparsable or refused input. */
  onError?(info: TransportErrorInfo): void;
  /**
   * A TCP or TLS connection ended from the far side (closed, reset, read error), or a SIP WebSocket
   * closed: not when the box closed it itself (idle sweep, limits, shutdown). Dialogs whose peer is
   * that flow are dead.
   */
  onConnectionLost?(peer: Peer): void;
  logger?: TransportLogger;
  /**
   * Close TCP connections that carried no complete message (request, response or CRLFCRLF ping)
   * for this long (default 5 minutes). Bytes of an unfinished message do not count, so a trickle
   * cannot keep a connection open.
   */
  idleTimeoutMs?: number;
  /**
   * Deadline for a message once its first byte arrived, and for the first message on an inbound
   * connection (default 30 s): a slow or never-finished message closes the connection.
   */
  messageTimeoutMs?: number;
  /** Most TCP connections at once, inbound and outbound (default 4096). */
  maxConnections?: number;
  /**
   * Most inbound TCP connections from one IP address (default 64), so one host cannot take the
   * global cap.
   */
  maxConnectionsPerSource?: number;
  /**
   * Bind the UDP socket with SO_REUSEADDR so the SIP plug-and-play multicast listener
   * (224.0.1.75) can share the SIP port. Off by default: it would also let a second process bind
   * the same port silently.
   */
  reuseAddr?: boolean;
  /**
   * The UDP socket for SIP on the batched native path (recvmmsg/sendmmsg through libc, the one
   * the media plane uses) instead of node:dgram. Falls back to node:dgram, with a log line, when
   * the native path is unavailable (no FFI, not Linux x86_64/aarch64), for IPv6 binds, and with
   * `reuseAddr` (the native socket has no SO_REUSEADDR). Off by default here; the appliance turns
   * it on (`PBX_SIP_UDP_NATIVE`).
   */
  nativeUdp?: boolean;
  /**
   * Kernel receive buffer asked for the UDP socket, bytes (unset: the kernel default, ~208 KB,
   * which a burst of a few hundred datagrams fills while the signalling thread is busy). The
   * native socket uses SO_RCVBUFFORCE when allowed (past net.core.rmem_max), node:dgram is capped
   * at rmem_max. The granted size is `udpReceiveBuffer`.
   */
  udpReceiveBuffer?: number;
  /**
   * Also listen for SIP over TLS (TLS 1.2 and 1.3 only: Deno's rustls speaks nothing older). TLS
   * connections share the TCP caps and deadlines (`maxConnections`, `maxConnectionsPerSource`,
   * `idleTimeoutMs`, `messageTimeoutMs`); the handshake must finish within `messageTimeoutMs`.
   * A failed handshake is logged (`SIP TLS handshake failed`). When the TLS port cannot be opened
   * (port taken, unusable certificate) SIP runs without TLS, with an error line.
   */
  tls?: TlsListenOptions;
}

/** The running UDP+TCP transport (RFC 3261 section 18). */
export interface TransportLayer {
  /** The bound address. */
  readonly address: string;
  /** The port both UDP and TCP listen on. */
  readonly port: number;
  /** The SIP over TLS port, or null when TLS is off. */
  readonly tlsPort: number | null;
  /** Open TCP and TLS connections. */
  readonly connectionCount: number;
  /** Which UDP implementation runs: node:dgram, or the native batched socket (`nativeUdp`). */
  readonly udpKind: "dgram" | "native";
  /** The UDP socket's receive buffer as the kernel reports it (SO_RCVBUF: twice the granted size). */
  readonly udpReceiveBuffer: number;
  /** Send raw bytes to a peer (UDP datagram, or over a reused/new TCP or TLS connection). */
  send(data: Uint8Array, peer: Peer): Promise<void>;
  /** Send a request (section 18.1.1); over TCP an open connection to the peer is reused, inbound ones too. */
  sendRequest(req: SipRequest, target: Peer): Promise<void>;
  /** Send a response where its top Via says (section 18.2.2, RFC 3581 section 4). */
  sendResponse(res: SipResponse): Promise<void>;
  /**
   * Take a WebSocket the web server accepted with subprotocol `sip` (RFC 7118): each message on it
   * is one SIP message from `{ transport: ws|wss, address, port }`, and requests and responses for
   * that peer go back on it. The box never opens WebSocket connections itself.
   */
  attachWebSocket(socket: WebSocket, remote: { address: string; port: number }, secure: boolean): void;
  /** Open SIP WebSocket connections. */
  readonly webSocketCount: number;
  /** Close every socket and connection. */
  close(): Promise<void>;
}

const CRLF = new Uint8Array([13, 10]);
const DEFAULT_PORT = 5060;
const DEFAULT_TLS_PORT = 5061;

interface Connection {
  conn: Deno.TcpConn | Deno.TlsConn;
  peer: Peer;
  keys: string[];
  framer: StreamFramer;
  /** Last complete message or write (the idle timer). */
  lastActivity: number;
  /** When the unfinished message now buffered began, or null when none is. */
  partialSince: number | null;
  opened: number;
  inbound: boolean;
  /** Whether a complete message arrived yet (inbound connections must send one soon). */
  delivered: boolean;
  closed: boolean;
  writing: Promise<void>;
}

type StreamTransport = "tcp" | "tls";

function peerKey(transport: StreamTransport, address: string, port: number): string {
  return `${transport}:${normalizeAddress(address)}:${port}`;
}

/** Whether an error is the process (EMFILE) or system (ENFILE) running out of file descriptors. */
export function isFdExhaustion(e: unknown): boolean {
  return /os error 2[34]\b|too many open files/i.test(String(e));
}

/** Whether a datagram is only CR/LF/space: the keepalive many phones send over UDP. */
function isBlank(data: Uint8Array): boolean {
  for (const b of data) if (b !== 13 && b !== 10 && b !== 32 && b !== 9 && b !== 0) return false;
  return true;
}

/** A STUN message (RFC 5389 section 6: first two bits zero, magic cookie at offset 4), used as keepalive. */
function isStun(data: Uint8Array): boolean {
  return data.length >= 20 && (data[0]! & 0xc0) === 0 && data[4] === 0x21 && data[5] === 0x12 &&
    data[6] === 0xa4 && data[7] === 0x42;
}

/** The UDP side of the transport: node:dgram or the native batched socket. */
interface UdpEndpoint {
  readonly address: string;
  readonly port: number;
  readonly kind: "dgram" | "native";
  /** SO_RCVBUF as read back. */
  readonly receiveBuffer: number;
  /** Every datagram; the view may be reused after the call returns. */
  onMessage(handler: (data: Uint8Array, source: Peer) => void): void;
  send(data: Uint8Array, port: number, address: string): Promise<void>;
  close(): Promise<void>;
}

async function dgramEndpoint(
  bind: string,
  port: number,
  reuseAddr: boolean,
  receiveBuffer: number | undefined,
  logger?: TransportLogger,
): Promise<UdpEndpoint> {
  const socket = await bindUdp(bind, port, reuseAddr);
  socket.on("error", (e: Error) => logger?.warn?.("UDP socket error", { error: e.message }));
  let granted = 0;
  try {
    if (receiveBuffer !== undefined) socket.setRecvBufferSize(receiveBuffer);
    granted = socket.getRecvBufferSize();
  } catch (e) {
    logger?.warn?.("SIP UDP receive buffer not set", { asked: receiveBuffer, error: String(e) });
  }
  return {
    address: socket.address().address,
    port: socket.address().port,
    kind: "dgram",
    receiveBuffer: granted,
    onMessage(handler) {
      socket.on("message", (buf: Uint8Array, rinfo: dgram.RemoteInfo) => {
        handler(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), {
          transport: "udp",
          address: normalizeAddress(rinfo.address),
          port: rinfo.port,
        });
      });
    },
    send: (data, p, address) =>
      new Promise<void>((resolve, reject) => socket.send(data, p, address, (e) => e ? reject(e) : resolve())),
    close: () => closeUdp(socket),
  };
}

/** The native batched socket, or null (logged) when it cannot be used here. */
async function nativeEndpoint(
  bind: string,
  port: number,
  receiveBuffer: number | undefined,
  logger?: TransportLogger,
): Promise<UdpEndpoint | null> {
  let udp: typeof import("../../../drivers/udp/mod.ts");
  try {
    udp = await import("../../../drivers/udp/mod.ts");
  } catch (e) {
    logger?.warn?.("native SIP UDP unavailable; using node:dgram", { error: String(e) });
    return null;
  }
  if (bind.includes(":") || !udp.available()) {
    logger?.warn?.("native SIP UDP unavailable; using node:dgram", {
      reason: bind.includes(":") ? "IPv6 bind" : "libc UDP not usable here",
    });
    return null;
  }
  // Datagrams up to 64 KiB in the arena: a SIP message over UDP may be that large.
  const poller = udp.UdpPoller.open({ wait: "thread", slotBytes: 65536, recvBatch: 16, sendSlots: 64 });
  let sock: InstanceType<typeof udp.NativeUdpSocket>;
  let granted: number;
  try {
    sock = poller.bind(port, bind);
    granted = receiveBuffer === undefined ? sock.receiveBuffer() : sock.setReceiveBuffer(receiveBuffer);
  } catch (e) {
    await poller.close();
    throw e;
  }
  return {
    address: bind,
    port: sock.port,
    kind: "native",
    receiveBuffer: granted,
    onMessage(handler) {
      sock.onMessage((data, remote) => {
        handler(data, { transport: "udp", address: remote.address, port: remote.port });
      });
    },
    send(data, p, address) {
      return sock.send(data, p, address)
        ? Promise.resolve()
        : Promise.reject(new TypeError(`UDP send to ${address}:${p} dropped (closed or not IPv4)`));
    },
    async close() {
      await sock.close();
      await poller.close();
    },
  };
}

function bindUdp(bind: string, port: number, reuseAddr = false): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: bind.includes(":") ? "udp6" : "udp4", reuseAddr });
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => {
      socket.close();
      reject(e);
    };
    socket.once("error", onError);
    socket.bind(port, bind, () => {
      socket.off("error", onError);
      resolve(socket);
    });
  });
}

function closeUdp(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

/**
 * Start listening for SIP on UDP and TCP on the same port (RFC 3261 section 18: a server MUST listen
 * on both). With port 0, UDP picks a free port first and TCP takes the same number, retrying with a
 * new port when TCP finds it taken.
 */
export async function startTransports(options: TransportOptions): Promise<TransportLayer> {
  let native = options.nativeUdp === true;
  if (native && options.reuseAddr) {
    options.logger?.warn?.("native SIP UDP has no SO_REUSEADDR (needed for plug-and-play); using node:dgram");
    native = false;
  }
  for (let attempt = 0;; attempt++) {
    const rb = options.udpReceiveBuffer;
    const udp = (native ? await nativeEndpoint(options.bind, options.port, rb, options.logger) : null) ??
      await dgramEndpoint(options.bind, options.port, options.reuseAddr ?? false, rb, options.logger);
    const port = udp.port;
    let tcp: Deno.TcpListener;
    try {
      tcp = Deno.listen({ hostname: options.bind, port, transport: "tcp" });
    } catch (e) {
      await udp.close();
      if (options.port !== 0 || !(e instanceof Deno.errors.AddrInUse) || attempt >= 20) throw e;
      continue;
    }
    return new Transports(options, udp, tcp, listenTls(options));
  }
}

/** The TLS listener, or null (logged) when TLS is off or its port cannot be opened. */
function listenTls(options: TransportOptions): Deno.TlsListener | null {
  const tls = options.tls;
  if (tls === undefined) return null;
  try {
    return Deno.listenTls({
      hostname: options.bind,
      port: tls.port,
      transport: "tcp",
      cert: tls.cert,
      key: tls.key,
    });
  } catch (e) {
    options.logger?.error?.("SIP over TLS is off: cannot listen", { port: tls.port, error: String(e) });
    return null;
  }
}

class Transports implements TransportLayer {
  readonly address: string;
  readonly port: number;
  /** Which UDP implementation runs. */
  readonly udpKind: "dgram" | "native";
  readonly udpReceiveBuffer: number;
  readonly tlsPort: number | null;
  #options: TransportOptions;
  #max: number;
  #idle: number;
  #messageTimeout: number;
  #maxConnections: number;
  #maxPerSource: number;
  #perSource = new Map<string, number>();
  /** Sources refused at the per-source cap: when last logged, and refusals since. */
  #capLogged = new Map<string, { at: number; refused: number }>();
  #globalCapLogged = false;
  #udp: UdpEndpoint;
  #tcp: Deno.TcpListener;
  #tls: Deno.TlsListener | null;
  #conns = new Map<string, Connection>();
  #all = new Set<Connection>();
  /** SIP WebSockets by `ws|wss:address:port` (RFC 7118). */
  #ws = new Map<string, WebSocket>();
  #connecting = new Map<string, Promise<Connection>>();
  #loops = new Set<Promise<void>>();
  #sweeper: ReturnType<typeof setInterval>;
  #closed = false;

  constructor(
    options: TransportOptions,
    udp: UdpEndpoint,
    tcp: Deno.TcpListener,
    tls: Deno.TlsListener | null,
  ) {
    this.#options = options;
    this.#max = options.maxMessageSize ?? 65535;
    this.#idle = options.idleTimeoutMs ?? 300_000;
    this.#messageTimeout = options.messageTimeoutMs ?? 30_000;
    this.#maxConnections = options.maxConnections ?? 4096;
    this.#maxPerSource = options.maxConnectionsPerSource ?? 64;
    this.#udp = udp;
    this.#tcp = tcp;
    this.#tls = tls;
    this.tlsPort = tls === null ? null : (tls.addr as Deno.NetAddr).port;
    this.address = udp.address;
    this.port = udp.port;
    this.udpKind = udp.kind;
    this.udpReceiveBuffer = udp.receiveBuffer;
    // The native path reuses its receive arena: keep a copy of what may outlive the call.
    const copy = udp.kind === "native";
    udp.onMessage((data, source) => this.#onDatagram(copy ? data.slice() : data, source));
    this.#track(this.#acceptLoop(tcp, "tcp"));
    if (tls !== null) this.#track(this.#acceptLoop(tls, "tls"));
    const tick = Math.max(50, Math.min(this.#idle / 4, this.#messageTimeout / 4, 30_000));
    this.#sweeper = setInterval(() => this.#sweep(), tick);
  }

  get connectionCount(): number {
    return this.#all.size;
  }

  async send(data: Uint8Array, peer: Peer): Promise<void> {
    if (this.#closed) throw new Deno.errors.BadResource("transport is closed");
    if (peer.transport === "udp") return await this.#udp.send(data, peer.port, peer.address);
    if (peer.transport === "ws" || peer.transport === "wss") return this.#sendWs(data, peer);
    const c = await this.#connection(peer);
    await this.#write(c, data);
  }

  sendRequest(req: SipRequest, target: Peer): Promise<void> {
    if (target.transport === "tls") this.#advertise(req);
    return this.send(serializeMessage(req), target);
  }

  sendResponse(res: SipResponse): Promise<void> {
    // Throws become rejections, but the routing itself runs synchronously so a write is queued at once.
    try {
      return this.#routeResponse(res);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #routeResponse(res: SipResponse): Promise<void> {
    const top = getHeaderValues(res, "Via")[0];
    if (top === undefined) throw new TypeError(`${res.status} response has no Via to route it by`);
    const via = parseVia(top);
    if (via.transport === "TLS") this.#advertise(res);
    const data = serializeMessage(res);
    const received = via.params.get("received") || undefined;
    const rportText = via.params.get("rport");
    const rport = rportText ? Number(rportText) : undefined;
    const secure = via.transport === "TLS";
    const port = via.port ?? (secure ? DEFAULT_TLS_PORT : DEFAULT_PORT);
    if (via.transport === "WS" || via.transport === "WSS") {
      // RFC 7118 section 5: the response goes back on the WebSocket the request came on.
      const transport = via.transport === "WSS" ? "wss" : "ws";
      return this.send(data, { transport, address: received ?? via.host, port: rport ?? port });
    }
    if (via.transport !== "UDP") {
      const transport = secure ? "tls" : "tcp";
      // 18.2.2: reliable transport -> the connection the request came on, if still open.
      const existing = this.#conns.get(peerKey(transport, received ?? via.host, rport ?? port));
      if (existing !== undefined && !existing.closed) return this.#write(existing, data);
      // Else open one to the source address ("received") at the sent-by port.
      return this.send(data, { transport, address: received ?? via.host, port });
    }
    const maddr = via.params.get("maddr") || undefined;
    if (maddr !== undefined) return this.send(data, { transport: "udp", address: maddr, port });
    if (rport !== undefined && Number.isInteger(rport)) {
      // RFC 3581 section 4: back to the source address and port of the request.
      return this.send(data, { transport: "udp", address: received ?? via.host, port: rport });
    }
    return this.send(data, { transport: "udp", address: received ?? via.host, port });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    for (const l of [this.#tcp, this.#tls]) {
      try {
        l?.close();
      } catch {
        // already closed
      }
    }
    for (const c of this.#all) this.#closeConnection(c);
    for (const ws of this.#ws.values()) {
      try {
        ws.close(1001, "shutting down");
      } catch {
        // already closing
      }
    }
    this.#ws.clear();
    await this.#udp.close();
    await Promise.allSettled([...this.#connecting.values()]);
    while (this.#loops.size > 0) await Promise.allSettled([...this.#loops]);
  }

  // --- UDP ----------------------------------------------------------------------------------------

  #onDatagram(data: Uint8Array, source: Peer): void {
    try {
      if (isBlank(data) || isStun(data)) return;
      if (data.length > this.#max) return this.#tooLargeDatagram(data, source);
      let msg: SipMessage;
      try {
        msg = parseMessage(data);
      } catch (e) {
        return this.#parseError(e, source);
      }
      this.#deliver(msg, source, data);
    } catch (e) {
      this.#options.logger?.warn?.("dropping UDP datagram", { error: String(e), source });
    }
  }

  /** 18.1.1 / 21.5.14: an oversized request gets 513; an oversized response is dropped. */
  #tooLargeDatagram(data: Uint8Array, source: Peer): void {
    let msg: SipMessage | undefined;
    try {
      msg = parseMessage(data);
    } catch (e) {
      msg = e instanceof SipParseError ? e.partial : undefined;
    }
    if (msg?.type === "request" && msg.method !== "ACK" && stampVia(msg, source)) {
      this.#respondTooLarge(msg);
    }
    this.#options.onError?.({ source, error: new MessageTooLargeError(data.length, this.#max) });
  }

  // --- TCP ----------------------------------------------------------------------------------------

  /**
   * Accept until closed. An accept error never ends the loop: out of file descriptors (EMFILE,
   * ENFILE) or anything else, it backs off (10 ms doubling to 1 s), logs once per episode and
   * logs again when accepting works.
   */
  async #acceptLoop(listener: Deno.Listener, transport: StreamTransport): Promise<void> {
    const log = this.#options.logger;
    const label = transport === "tls" ? "SIP TLS" : "SIP TCP";
    let backoff = 10;
    let failingSince: number | null = null;
    let failures = 0;
    while (!this.#closed) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (this.#closed || e instanceof Deno.errors.BadResource) return;
        failures++;
        if (failingSince === null) {
          failingSince = performance.now();
          log?.warn?.(
            isFdExhaustion(e)
              ? `${label} accept: out of file descriptors; backing off`
              : `${label} accept failed; backing off`,
            { error: String(e), connections: this.#all.size },
          );
        }
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 1000);
        continue;
      }
      if (failingSince !== null) {
        log?.warn?.(`${label} accept recovered`, {
          failedMs: Math.round(performance.now() - failingSince),
          failures,
        });
        failingSince = null;
        failures = 0;
        backoff = 10;
      }
      if (this.#closed) {
        conn.close();
        return;
      }
      this.#accept(conn as Deno.TcpConn | Deno.TlsConn, transport);
    }
  }

  /** Admit an inbound connection, or close it at the global or per-source cap (logged). */
  #accept(conn: Deno.TcpConn | Deno.TlsConn, transport: StreamTransport): void {
    const source = normalizeAddress(conn.remoteAddr.hostname);
    if (this.#all.size >= this.#maxConnections) {
      if (!this.#globalCapLogged) {
        this.#globalCapLogged = true;
        this.#options.logger?.warn?.("SIP TCP connection limit reached; refusing new connections", {
          limit: this.#maxConnections,
          source,
          transport,
        });
      }
      conn.close();
      return;
    }
    if ((this.#perSource.get(source) ?? 0) >= this.#maxPerSource) {
      const now = performance.now();
      const seen = this.#capLogged.get(source);
      if (seen === undefined || now - seen.at >= 60_000) {
        this.#options.logger?.warn?.("SIP TCP per-source connection limit reached; refusing", {
          source,
          limit: this.#maxPerSource,
          refusedSinceLastLine: seen?.refused ?? 0,
          transport,
        });
        this.#capLogged.set(source, { at: now, refused: 0 });
      } else seen.refused++;
      conn.close();
      return;
    }
    this.#adopt(conn, { transport, inbound: true });
  }

  #adopt(
    conn: Deno.TcpConn | Deno.TlsConn,
    how: { transport: StreamTransport; alias?: string; inbound?: boolean },
  ): Connection {
    const remote = conn.remoteAddr;
    const peer: Peer = {
      transport: how.transport,
      address: normalizeAddress(remote.hostname),
      port: remote.port,
    };
    const key = peerKey(how.transport, peer.address, peer.port);
    const alias = how.alias;
    const inbound = how.inbound ?? false;
    const c: Connection = {
      conn,
      peer,
      keys: alias !== undefined && alias !== key ? [key, alias] : [key],
      framer: new StreamFramer({ maxMessageSize: this.#max }),
      lastActivity: performance.now(),
      partialSince: null,
      opened: performance.now(),
      inbound,
      delivered: false,
      closed: false,
      writing: Promise.resolve(),
    };
    for (const k of c.keys) this.#conns.set(k, c);
    this.#perSource.set(peer.address, (this.#perSource.get(peer.address) ?? 0) + 1);
    this.#all.add(c);
    this.#track(this.#readLoop(c));
    return c;
  }

  async #readLoop(c: Connection): Promise<void> {
    const buf = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await c.conn.read(buf);
        if (n === null) break;
        c.framer.push(buf.subarray(0, n)); // the framer copies into its own buffer
        let framed = false;
        for (;;) {
          const item = c.framer.next();
          if (item === undefined) break;
          framed = true;
          if (!this.#onFrame(c, item)) {
            // Let a queued 513 leave before the connection closes.
            await c.writing.catch(() => {});
            return;
          }
        }
        // Only complete messages reset the idle timer; an unfinished one runs on its own deadline.
        const now = performance.now();
        if (framed) {
          c.lastActivity = now;
          c.delivered = true;
        }
        if (c.framer.buffered === 0) c.partialSince = null;
        else if (framed || c.partialSince === null) c.partialSince = now;
      }
    } catch (e) {
      // The TLS handshake runs inside the first read (an explicit handshake() could not be cut
      // short by the sweep): an error before any message arrived is a failed handshake.
      if (c.peer.transport === "tls" && c.inbound && !c.delivered && !c.closed) this.#handshakeFailed(c, e);
      else if (
        !c.closed && !(e instanceof Deno.errors.BadResource) && !(e instanceof Deno.errors.Interrupted)
      ) {
        this.#options.logger?.debug?.(`${c.peer.transport.toUpperCase()} read failed`, {
          error: String(e),
          peer: c.peer,
        });
      }
    } finally {
      const byPeer = !c.closed && !this.#closed;
      this.#closeConnection(c);
      if (byPeer && c.delivered) {
        try {
          this.#options.onConnectionLost?.(c.peer);
        } catch (e) {
          this.#options.logger?.warn?.("connection-lost handler failed", { error: String(e) });
        }
      }
    }
  }

  /**
   * Log a failed inbound TLS handshake (plain text, TLS 1.0/1.1 only, no common cipher) with the
   * source and the reason. A handshake that never finishes is closed by the sweep like a
   * connection without a first message.
   */
  #handshakeFailed(c: Connection, e: unknown): void {
    this.#options.logger?.warn?.("SIP TLS handshake failed", {
      source: `${c.peer.address}:${c.peer.port}`,
      error: String(e instanceof Error ? e.message : e),
    });
  }

  /** Rewrite the box's own Via/Contact for a message leaving on TLS (see `advertiseTls`). */
  #advertise(msg: SipMessage): void {
    if (this.tlsPort !== null) advertiseTls(msg, { plain: this.port, tls: this.tlsPort });
  }

  /** One framed item. Returns false when the connection must close. */
  #onFrame(c: Connection, item: StreamFrame): boolean {
    if (item.ping) {
      // RFC 5626 section 4.4.1: a CRLFCRLF ping is answered with a CRLF pong.
      this.#write(c, CRLF).catch(() => {});
      return true;
    }
    if (item.error !== undefined) {
      const err = item.error;
      if (err instanceof MessageTooLargeError) {
        const partial = err.partial;
        if (partial?.type === "request" && partial.method !== "ACK" && stampVia(partial, c.peer)) {
          this.#respondTooLarge(partial);
        }
        this.#options.onError?.({ source: c.peer, error: err });
      } else {
        this.#parseError(err, c.peer);
      }
      // After a fatal framing error the rest of the stream cannot be cut into messages.
      return !(item.fatal || err instanceof MessageTooLargeError);
    }
    if (item.message !== undefined) this.#deliver(item.message, c.peer, item.raw);
    return true;
  }

  #connection(peer: Peer): Promise<Connection> {
    const transport: StreamTransport = peer.transport === "tls" ? "tls" : "tcp";
    const key = peerKey(transport, peer.address, peer.port);
    const existing = this.#conns.get(key);
    if (existing !== undefined && !existing.closed) return Promise.resolve(existing);
    const pending = this.#connecting.get(key);
    if (pending !== undefined) return pending;
    if (this.#all.size >= this.#maxConnections) {
      return Promise.reject(new RangeError(`TCP connection limit of ${this.#maxConnections} reached`));
    }
    const opening: Promise<Deno.TcpConn | Deno.TlsConn> = transport === "tls"
      ? Deno.connectTls({
        hostname: peer.address,
        port: peer.port,
        ...(this.#options.tls?.caCerts ? { caCerts: this.#options.tls.caCerts } : {}),
      }).then(async (conn) => {
        try {
          await conn.handshake();
        } catch (e) {
          conn.close();
          this.#options.logger?.warn?.("SIP TLS handshake failed", {
            destination: `${peer.address}:${peer.port}`,
            error: String(e instanceof Error ? e.message : e),
          });
          throw e;
        }
        return conn;
      })
      : Deno.connect({ hostname: peer.address, port: peer.port, transport: "tcp" });
    const p = opening.then((conn) => {
      if (this.#closed) {
        conn.close();
        throw new Deno.errors.BadResource("transport is closed");
      }
      return this.#adopt(conn, { transport, alias: key });
    }).finally(() => this.#connecting.delete(key));
    this.#connecting.set(key, p);
    return p;
  }

  #write(c: Connection, data: Uint8Array): Promise<void> {
    const p = c.writing.catch(() => {}).then(async () => {
      if (c.closed) {
        throw new Deno.errors.BadResource(`connection to ${c.peer.address}:${c.peer.port} is closed`);
      }
      let off = 0;
      while (off < data.length) off += await c.conn.write(data.subarray(off));
      c.lastActivity = performance.now();
    });
    c.writing = p;
    return p;
  }

  #closeConnection(c: Connection): void {
    if (c.closed) return;
    c.closed = true;
    for (const k of c.keys) if (this.#conns.get(k) === c) this.#conns.delete(k);
    this.#all.delete(c);
    const left = (this.#perSource.get(c.peer.address) ?? 1) - 1;
    if (left <= 0) this.#perSource.delete(c.peer.address);
    else this.#perSource.set(c.peer.address, left);
    if (this.#all.size < this.#maxConnections * 0.9) this.#globalCapLogged = false;
    try {
      c.conn.close();
    } catch {
      // already closed
    }
  }

  /**
   * Close connections idle for longer than the idle timeout, with a message unfinished past its
   * deadline, or inbound without a first message by then. One log line per sweep and reason.
   */
  #sweep(): void {
    const now = performance.now();
    const idleLimit = now - this.#idle;
    const messageLimit = now - this.#messageTimeout;
    const closed = { idle: 0, "message deadline": 0, "no first message": 0 };
    const sources = new Set<string>();
    for (const c of this.#all) {
      let reason: keyof typeof closed | null = null;
      if (c.partialSince !== null && c.partialSince < messageLimit) reason = "message deadline";
      else if (c.inbound && !c.delivered && c.opened < messageLimit) reason = "no first message";
      else if (c.lastActivity < idleLimit) reason = "idle";
      if (reason === null) continue;
      closed[reason]++;
      if (reason !== "idle") sources.add(c.peer.address);
      this.#closeConnection(c);
    }
    const log = this.#options.logger;
    for (const reason of ["message deadline", "no first message"] as const) {
      if (closed[reason] > 0) {
        log?.warn?.(`SIP TCP connections closed: ${reason}`, {
          count: closed[reason],
          timeoutMs: this.#messageTimeout,
          sources: [...sources].slice(0, 10).join(","),
        });
      }
    }
    if (closed.idle > 0) log?.debug?.("SIP TCP idle connections closed", { count: closed.idle });
    for (const [source, seen] of this.#capLogged) if (now - seen.at > 120_000) this.#capLogged.delete(source);
  }

  // --- WebSocket (RFC 7118) -------------------------------------------------------------------------

  get webSocketCount(): number {
    return this.#ws.size;
  }

  attachWebSocket(socket: WebSocket, remote: { address: string; port: number }, secure: boolean): void {
    const peer: Peer = {
      transport: secure ? "wss" : "ws",
      address: normalizeAddress(remote.address),
      port: remote.port,
    };
    const key = `${peer.transport}:${peer.address}:${peer.port}`;
    if (this.#closed) {
      socket.close(1001, "shutting down");
      return;
    }
    socket.binaryType = "arraybuffer";
    socket.addEventListener("open", () => this.#ws.set(key, socket));
    if (socket.readyState === WebSocket.OPEN) this.#ws.set(key, socket);
    socket.addEventListener("message", (ev: MessageEvent) => {
      const data = typeof ev.data === "string"
        ? new TextEncoder().encode(ev.data)
        : new Uint8Array(ev.data as ArrayBuffer);
      try {
        if (isBlank(data)) return; // keep-alive
        if (data.length > this.#max) {
          this.#options.logger?.warn?.("SIP WebSocket message too large; closing", {
            source: key,
            bytes: data.length,
          });
          socket.close(1009, "message too large");
          return;
        }
        let msg: SipMessage;
        try {
          msg = parseMessage(data);
        } catch (e) {
          return this.#parseError(e, peer);
        }
        this.#deliver(msg, peer, data);
      } catch (e) {
        this.#options.logger?.warn?.("dropping SIP WebSocket message", { error: String(e), source: key });
      }
    });
    let lost = false;
    const gone = () => {
      if (this.#ws.get(key) === socket) this.#ws.delete(key);
      // The browser (or phone) went away: its dialogs are dead, as for a TCP flow (not on shutdown).
      if (lost || this.#closed) return;
      lost = true;
      try {
        this.#options.onConnectionLost?.(peer);
      } catch (e) {
        this.#options.logger?.warn?.("connection-lost handler failed", { error: String(e) });
      }
    };
    socket.addEventListener("close", gone);
    socket.addEventListener("error", gone);
  }

  #sendWs(data: Uint8Array, peer: Peer): Promise<void> {
    const socket = this.#ws.get(`${peer.transport}:${normalizeAddress(peer.address)}:${peer.port}`);
    if (socket === undefined || socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(
        new Deno.errors.NotConnected(
          `no SIP WebSocket from ${peer.address}:${peer.port} (the box cannot open one)`,
        ),
      );
    }
    // SIP over WebSocket is text in practice (JsSIP, SIP.js); RFC 7118 allows either frame type.
    socket.send(new TextDecoder().decode(data));
    return Promise.resolve();
  }

  // --- shared -------------------------------------------------------------------------------------

  #deliver(msg: SipMessage, source: Peer, raw: Uint8Array): void {
    if (msg.type === "request" && !stampVia(msg, source)) {
      this.#options.onError?.({ source, error: new SyntaxError(`${msg.method} request has no valid Via`) });
      return;
    }
    try {
      this.#options.onMessage(msg, source, raw);
    } catch (e) {
      this.#options.logger?.warn?.("onMessage threw", { error: String(e), source });
    }
  }

  #parseError(e: unknown, source: Peer): void {
    const error = e instanceof Error ? e : new SyntaxError(String(e));
    const partial = e instanceof SipParseError ? e.partial : undefined;
    const info: TransportErrorInfo = { source, error };
    // Only requests with a routable Via can be answered; ACK never is (section 17).
    if (partial?.type === "request" && partial.method !== "ACK" && stampVia(partial, source)) {
      info.partial = partial;
    }
    this.#options.onError?.(info);
  }

  #respondTooLarge(req: SipRequest): void {
    this.sendResponse(createResponse(req, 513, { reason: "Message Too Large" })).catch((e) =>
      this.#options.logger?.debug?.("could not send 513", { error: String(e) })
    );
  }

  #track(p: Promise<void>): void {
    this.#loops.add(p);
    p.finally(() => this.#loops.delete(p));
  }
}
