import {
  deepStrictEqual as assertEquals,
  ok as assert,
  strictEqual as assertStrictEquals,
} from "node:assert";
import dgram from "node:dgram";
import { createResponse, getHeaderValues, parseMessage, parseVia, StreamFramer } from "../message/mod.ts";
import type { Peer, SipMessage, SipRequest } from "../message/types.ts";
import {
  startTransports,
  type TransportErrorInfo,
  type TransportLayer,
  type TransportOptions,
} from "./transport.ts";
import { makeTestCertificate } from "./_test_cert.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Wait until `fn` is true (polling); fails after 5 s so a broken test cannot hang. */
async function eventually(fn: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 5000;
  while (!fn()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function options(
  msg = "OPTIONS",
  opts: { branch?: string; transport?: string; body?: string; cseq?: string } = {},
): string {
  const body = opts.body ?? "";
  return `${msg} sip:pbx@127.0.0.1 SIP/2.0\r\n` +
    `Via: SIP/2.0/${opts.transport ?? "UDP"} 10.0.0.1:5060;rport;branch=${opts.branch ?? "z9hG4bKt1"}\r\n` +
    "Max-Forwards: 70\r\n" +
    "From: <sip:alice@example.com>;tag=a1\r\n" +
    "To: <sip:pbx@example.com>\r\n" +
    "Call-ID: c1@example.com\r\n" +
    `CSeq: ${opts.cseq ?? "1"} ${msg}\r\n` +
    `Content-Length: ${enc.encode(body).length}\r\n\r\n${body}`;
}

/** A phone on the other side of a transport. */
interface TestClient {
  readonly peer: Peer;
  readonly messages: SipMessage[];
  readonly raw: { text: string };
  readonly closed: { value: boolean };
  send(text: string | Uint8Array): Promise<void>;
  close(): Promise<void>;
}

async function udpClient(server: TransportLayer): Promise<TestClient> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", () => r()));
  const messages: SipMessage[] = [];
  const raw = { text: "" };
  socket.on("message", (buf: Uint8Array) => {
    raw.text += dec.decode(buf);
    try {
      messages.push(parseMessage(new Uint8Array(buf)));
    } catch {
      // not a message
    }
  });
  return {
    peer: { transport: "udp", address: "127.0.0.1", port: socket.address().port },
    messages,
    raw,
    closed: { value: false },
    send: (text) =>
      new Promise((resolve, reject) =>
        socket.send(
          typeof text === "string" ? enc.encode(text) : text,
          server.port,
          "127.0.0.1",
          (e) => e ? reject(e) : resolve(),
        )
      ),
    close: () => new Promise((r) => socket.close(() => r())),
  };
}

function tcpClient(server: TransportLayer): Promise<TestClient> {
  return streamClient(Deno.connect({ hostname: "127.0.0.1", port: server.port }), "tcp");
}

const TEST_CERT = await makeTestCertificate();
/** The TLS listener option every TLS test passes. */
const TLS: Partial<TransportOptions> = { tls: { port: 0, cert: TEST_CERT.cert, key: TEST_CERT.key } };

function tlsClient(server: TransportLayer): Promise<TestClient> {
  assert(server.tlsPort !== null, "TLS is listening");
  return streamClient(
    Deno.connectTls({ hostname: "127.0.0.1", port: server.tlsPort, caCerts: [TEST_CERT.cert] }),
    "tls",
  );
}

async function streamClient(
  connecting: Promise<Deno.TcpConn | Deno.TlsConn>,
  transport: "tcp" | "tls",
): Promise<TestClient> {
  const conn = await connecting;
  const messages: SipMessage[] = [];
  const raw = { text: "" };
  const closed = { value: false };
  const framer = new StreamFramer();
  const loop = (async () => {
    const buf = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        raw.text += dec.decode(buf.subarray(0, n));
        framer.push(buf.subarray(0, n));
        for (let f = framer.next(); f !== undefined; f = framer.next()) {
          if (f.message) messages.push(f.message);
        }
      }
    } catch {
      // closed under us
    }
    closed.value = true;
  })();
  return {
    peer: { transport, address: "127.0.0.1", port: (conn.localAddr as Deno.NetAddr).port },
    messages,
    raw,
    closed,
    send: async (text) => {
      const data = typeof text === "string" ? enc.encode(text) : text;
      let off = 0;
      while (off < data.length) off += await conn.write(data.subarray(off));
    },
    close: async () => {
      try {
        conn.close();
      } catch {
        // already closed by the server
      }
      await loop;
    },
  };
}

interface Harness {
  server: TransportLayer;
  received: { msg: SipMessage; source: Peer }[];
  errors: TransportErrorInfo[];
}

async function withServer(
  extra: Partial<TransportOptions>,
  fn: (h: Harness) => Promise<void>,
): Promise<void> {
  const received: Harness["received"] = [];
  const errors: TransportErrorInfo[] = [];
  const server = await startTransports({
    bind: "127.0.0.1",
    port: 0,
    onMessage: (msg, source) => received.push({ msg, source }),
    onError: (info) => errors.push(info),
    ...extra,
  });
  try {
    await fn({ server, received, errors });
  } finally {
    await server.close();
  }
}

function topVia(msg: SipMessage) {
  return parseVia(getHeaderValues(msg, "Via")[0]!);
}

/** The cases every transport must pass (one shared suite, run per transport). */
function transportCases(
  name: "udp" | "tcp" | "udp-native" | "tls",
  connect: (s: TransportLayer) => Promise<TestClient>,
  extra: Partial<TransportOptions> = {},
): void {
  const T = name === "tcp" ? "TCP" : name === "tls" ? "TLS" : "UDP";
  const stream = name === "tcp" || name === "tls";

  if (stream) {
    Deno.test(`${name}: a connection the peer closes is reported lost; one the box closes (idle) is not`, async () => {
      const lost: Peer[] = [];
      await withServer(
        { ...extra, idleTimeoutMs: 300, onConnectionLost: (p) => lost.push(p) },
        async ({ server, received }) => {
          const a = await connect(server);
          await a.send(options("OPTIONS", { transport: T }));
          await eventually(() => received.length === 1, "the request");
          await a.close(); // the phone's side goes away
          await eventually(() => lost.length === 1, "the lost connection");
          assertEquals(lost[0], a.peer);
          const b = await connect(server);
          await b.send(options("OPTIONS", { transport: T }));
          await eventually(() => b.closed.value, "the idle close by the box");
          await new Promise((r) => setTimeout(r, 50));
          assertEquals(lost.length, 1, "closing an idle connection is not a lost phone");
          await b.close();
        },
      );
    });
  }

  Deno.test(`${name}: an inbound request gets received and rport stamped on its top Via`, async () => {
    await withServer({ ...extra }, async ({ server, received }) => {
      const client = await connect(server);
      await client.send(options("OPTIONS", { transport: T }));
      await eventually(() => received.length === 1, "the request");
      const { msg, source } = received[0]!;
      assertEquals(source, client.peer);
      const via = topVia(msg);
      assertEquals(via.params.get("received"), "127.0.0.1");
      assertEquals(via.params.get("rport"), String(client.peer.port));
      await client.close();
    });
  });

  Deno.test(`${name}: a response is routed back to the request's source port, not the sent-by port`, async () => {
    await withServer({ ...extra }, async ({ server, received }) => {
      const client = await connect(server);
      await client.send(options("OPTIONS", { transport: T }));
      await eventually(() => received.length === 1, "the request");
      await server.sendResponse(createResponse(received[0]!.msg as SipRequest, 200, { toTag: "x" }));
      await eventually(() => client.messages.length === 1, "the response");
      const res = client.messages[0]!;
      assert(res.type === "response" && res.status === 200);
      await client.close();
    });
  });

  Deno.test(`${name}: garbage does not crash the transport and yields onError`, async () => {
    await withServer({ ...extra }, async ({ server, received, errors }) => {
      const client = await connect(server);
      await client.send("this is not SIP at all\r\n\r\n");
      await eventually(() => errors.length >= 1, "onError");
      assertStrictEquals(received.length, 0);
      assert(errors[0]!.error instanceof Error);
      assertEquals(errors[0]!.source.port, client.peer.port);
      if (stream) {
        // A stream that cannot be framed is closed; a fresh connection works.
        await eventually(() => client.closed.value, "the connection to close");
        await client.close();
        const again = await connect(server);
        await again.send(options("OPTIONS", { transport: T }));
        await eventually(() => received.length === 1, "a request after garbage");
        await again.close();
      } else {
        await client.send(options("OPTIONS", { transport: T }));
        await eventually(() => received.length === 1, "a request after garbage");
        await client.close();
      }
    });
  });

  Deno.test(`${name}: an unparsable request comes with a partial message the caller can answer 400 with`, async () => {
    await withServer({ ...extra }, async ({ server, errors }) => {
      const client = await connect(server);
      await client.send(options("OPTIONS", { transport: T, cseq: "notanumber" }));
      await eventually(() => errors.length === 1, "onError");
      const partial = errors[0]!.partial;
      assert(partial !== undefined && partial.type === "request");
      await server.sendResponse(createResponse(partial, 400));
      // The 400 echoes the bad CSeq, so the client's parser would refuse it: check the raw text.
      await eventually(() => client.raw.text.startsWith("SIP/2.0 400 "), "the 400");
      await client.close();
    });
  });

  Deno.test(`${name}: an oversized request is answered 513 Message Too Large`, async () => {
    await withServer({ ...extra, maxMessageSize: 1024 }, async ({ server, received, errors }) => {
      const client = await connect(server);
      await client.send(options("MESSAGE", { transport: T, body: "x".repeat(2000) }));
      await eventually(() => client.messages.length === 1, "the 513");
      const res = client.messages[0]!;
      assert(res.type === "response" && res.status === 513, JSON.stringify(res));
      assertStrictEquals(received.length, 0);
      await eventually(() => errors.length === 1, "onError");
      assertStrictEquals(errors[0]!.partial, undefined, "already answered");
      await client.close();
    });
  });

  Deno.test(`${name}: sendRequest reaches a peer that contacted us`, async () => {
    await withServer({ ...extra }, async ({ server, received }) => {
      const client = await connect(server);
      await client.send(options("REGISTER", { transport: T }));
      await eventually(() => received.length === 1, "the REGISTER");
      const req = parseMessage(enc.encode(options("OPTIONS", { transport: T, branch: "z9hG4bKout" })));
      await server.sendRequest(req as SipRequest, received[0]!.source);
      await eventually(() => client.messages.length === 1, "our request");
      assert(client.messages[0]!.type === "request");
      if (stream) assertStrictEquals(server.connectionCount, 1, "the inbound connection was reused");
      await client.close();
    });
  });
}

transportCases("udp", udpClient);
transportCases("tcp", tcpClient);
// SIP over TLS on its own port: the same cases on a TLS connection.
transportCases("tls", tlsClient, TLS);
// The same cases on the batched native UDP path (drivers/udp), when libc FFI works here.
transportCases("udp-native", udpClient, { nativeUdp: true });

Deno.test("udp-native: the native path is used when asked, node:dgram otherwise", async () => {
  await withServer({ nativeUdp: true }, ({ server }) => {
    assertStrictEquals(server.udpKind, "native");
    return Promise.resolve();
  });
  await withServer({}, ({ server }) => {
    assertStrictEquals(server.udpKind, "dgram");
    return Promise.resolve();
  });
  // Plug-and-play needs SO_REUSEADDR, which the native socket lacks: it falls back.
  await withServer({ nativeUdp: true, reuseAddr: true }, ({ server }) => {
    assertStrictEquals(server.udpKind, "dgram");
    return Promise.resolve();
  });
});

Deno.test("udp: the receive buffer asked for is granted, on both UDP paths", async () => {
  for (const nativeUdp of [true, false]) {
    await withServer({ nativeUdp, udpReceiveBuffer: 1 << 20 }, ({ server }) => {
      // The kernel reports twice what it granted, at most net.core.rmem_max unless forced (root).
      const max = Number(Deno.readTextFileSync("/proc/sys/net/core/rmem_max").trim());
      const granted = server.udpReceiveBuffer;
      assertStrictEquals(granted >= 2 * Math.min(1 << 20, max), true, `${server.udpKind}: ${granted}`);
      return Promise.resolve();
    });
  }
});

// --- transport-specific cases -----------------------------------------------------------------------

Deno.test("UDP and TCP listen on the same picked port", async () => {
  await withServer({}, async ({ server, received }) => {
    assert(server.port > 0);
    assertEquals(server.address, "127.0.0.1");
    const u = await udpClient(server);
    const t = await tcpClient(server);
    await u.send(options("OPTIONS", { branch: "z9hG4bKu" }));
    await t.send(options("OPTIONS", { transport: "TCP", branch: "z9hG4bKt" }));
    await eventually(() => received.length === 2, "both requests");
    assertEquals(new Set(received.map((r) => r.source.transport)), new Set(["udp", "tcp"]));
    await u.close();
    await t.close();
  });
});

Deno.test("tcp: a message split across chunks is framed once it is complete", async () => {
  await withServer({}, async ({ server, received }) => {
    const client = await tcpClient(server);
    const text = options("MESSAGE", { transport: "TCP", body: "hello world" });
    const cut1 = 20;
    const cut2 = text.length - 5;
    await client.send(text.slice(0, cut1));
    await new Promise((r) => setTimeout(r, 20));
    await client.send(text.slice(cut1, cut2));
    await new Promise((r) => setTimeout(r, 20));
    assertStrictEquals(received.length, 0);
    await client.send(text.slice(cut2));
    await eventually(() => received.length === 1, "the message");
    assertEquals(dec.decode(received[0]!.msg.body), "hello world");
    await client.close();
  });
});

Deno.test("tcp: two messages in one chunk are both delivered", async () => {
  await withServer({}, async ({ server, received }) => {
    const client = await tcpClient(server);
    await client.send(
      options("OPTIONS", { transport: "TCP", branch: "z9hG4bK1" }) +
        options("OPTIONS", { transport: "TCP", branch: "z9hG4bK2" }),
    );
    await eventually(() => received.length === 2, "both messages");
    assertEquals(received.map((r) => topVia(r.msg).params.get("branch")), ["z9hG4bK1", "z9hG4bK2"]);
    await client.close();
  });
});

Deno.test("tcp: a CRLFCRLF keepalive ping is answered with a CRLF pong", async () => {
  await withServer({}, async ({ server, errors }) => {
    const client = await tcpClient(server);
    await client.send("\r\n\r\n");
    await eventually(() => client.raw.text === "\r\n", "the pong");
    assertStrictEquals(errors.length, 0);
    await client.close();
  });
});

Deno.test("udp: blank keepalive datagrams are ignored silently", async () => {
  await withServer({}, async ({ server, received, errors }) => {
    const client = await udpClient(server);
    await client.send("\r\n\r\n");
    await client.send(options("OPTIONS"));
    await eventually(() => received.length === 1, "the request");
    assertStrictEquals(errors.length, 0);
    await client.close();
  });
});

Deno.test("tcp: a request to a peer without a connection opens one", async () => {
  await withServer({}, async ({ server }) => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const accepted = listener.accept();
    const req = parseMessage(enc.encode(options("OPTIONS", { transport: "TCP" }))) as SipRequest;
    await server.sendRequest(req, { transport: "tcp", address: "127.0.0.1", port });
    const conn = await accepted;
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    assert(n !== null && dec.decode(buf.subarray(0, n)).startsWith("OPTIONS sip:"));
    assertStrictEquals(server.connectionCount, 1);
    // A second request reuses it.
    await server.sendRequest(req, { transport: "tcp", address: "127.0.0.1", port });
    assertStrictEquals(server.connectionCount, 1);
    conn.close();
    listener.close();
  });
});

Deno.test("tcp: idle connections are closed after the idle timeout", async () => {
  await withServer({ idleTimeoutMs: 100 }, async ({ server }) => {
    const client = await tcpClient(server);
    await eventually(() => server.connectionCount === 1, "the connection");
    await eventually(() => client.closed.value, "the idle close");
    assertStrictEquals(server.connectionCount, 0);
    await client.close();
  });
});

Deno.test("tcp: connections beyond maxConnections are refused", async () => {
  await withServer({ maxConnections: 1 }, async ({ server }) => {
    const a = await tcpClient(server);
    await eventually(() => server.connectionCount === 1, "the first connection");
    const b = await tcpClient(server);
    await eventually(() => b.closed.value, "the second to be closed");
    assertStrictEquals(a.closed.value, false);
    await a.close();
    await b.close();
  });
});

Deno.test("tcp: a response whose connection is gone is sent on a new connection to received:sent-by port", async () => {
  await withServer({}, async ({ server }) => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const accepted = listener.accept();
    const req = parseMessage(enc.encode(options("OPTIONS", { transport: "TCP" }))) as SipRequest;
    req.headers[0]!.value = `SIP/2.0/TCP 127.0.0.1:${port};branch=z9hG4bKgone;received=127.0.0.1;rport=1`;
    await server.sendResponse(createResponse(req, 200));
    const conn = await accepted;
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    assert(n !== null && dec.decode(buf.subarray(0, n)).startsWith("SIP/2.0 200"));
    conn.close();
    listener.close();
  });
});

Deno.test("close() closes the sockets and every connection", async () => {
  const server = await startTransports({ bind: "127.0.0.1", port: 0, onMessage: () => {} });
  const client = await tcpClient(server);
  await eventually(() => server.connectionCount === 1, "the connection");
  await server.close();
  await eventually(() => client.closed.value, "the client to see the close");
  await client.close();
  let refused = false;
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    c.close();
  } catch {
    refused = true;
  }
  assert(refused);
});

/** A TCP client bound to a chosen loopback source address (127.0.0.2 and friends). */
async function tcpFrom(server: TransportLayer, localAddress: string): Promise<TestClient> {
  const net = await import("node:net");
  const socket = net.connect({ host: "127.0.0.1", port: server.port, localAddress });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  const messages: SipMessage[] = [];
  const raw = { text: "" };
  const closed = { value: false };
  const framer = new StreamFramer();
  socket.on("data", (buf: Uint8Array) => {
    raw.text += dec.decode(buf);
    framer.push(new Uint8Array(buf));
    for (let f = framer.next(); f !== undefined; f = framer.next()) if (f.message) messages.push(f.message);
  });
  socket.on("close", () => closed.value = true);
  socket.on("error", () => {});
  return {
    peer: { transport: "tcp", address: localAddress, port: socket.localPort ?? 0 },
    messages,
    raw,
    closed,
    send: (text) =>
      new Promise((resolve, reject) =>
        socket.write(typeof text === "string" ? enc.encode(text) : text, (e) => e ? reject(e) : resolve())
      ),
    close: () => {
      socket.destroy();
      return Promise.resolve();
    },
  };
}

function logSink(): { lines: string[]; logger: { warn(m: string, f?: Record<string, unknown>): void } } {
  const lines: string[] = [];
  return { lines, logger: { warn: (m, f) => lines.push(`${m} ${JSON.stringify(f ?? {})}`) } };
}

Deno.test("tcp: one source cannot hold more than maxConnectionsPerSource; another source still gets in", async () => {
  const { lines, logger } = logSink();
  await withServer({ maxConnectionsPerSource: 3, logger }, async ({ server, received }) => {
    const flood: TestClient[] = [];
    for (let i = 0; i < 6; i++) flood.push(await tcpClient(server));
    await eventually(() => flood.filter((c) => c.closed.value).length === 3, "three refused");
    assertStrictEquals(server.connectionCount, 3);
    assert(lines.some((l) => l.includes("per-source") && l.includes("127.0.0.1")), lines.join("\n"));
    // The cap is logged once per episode, not once per refused connection.
    assertStrictEquals(lines.filter((l) => l.includes("per-source")).length, 1);
    const other = await tcpFrom(server, "127.0.0.2");
    await other.send(options("OPTIONS", { transport: "TCP" }));
    await eventually(() => received.length === 1, "the other source's request");
    assertStrictEquals(received[0]!.source.address, "127.0.0.2");
    for (const c of [...flood, other]) await c.close();
  });
});

Deno.test("tcp: a trickle of bytes that never completes a message does not keep the connection open", async () => {
  const { lines, logger } = logSink();
  await withServer({ idleTimeoutMs: 60_000, messageTimeoutMs: 300, logger }, async ({ server }) => {
    const client = await tcpClient(server);
    const text = options("OPTIONS", { transport: "TCP" });
    await client.send(text); // one complete request first: the deadline is per message, not per connection
    let i = 0;
    const trickle = setInterval(() => {
      if (!client.closed.value && i < text.length - 4) void client.send(text[i++]!).catch(() => {});
    }, 20);
    try {
      await eventually(() => client.closed.value, "the partial-message deadline to close it");
    } finally {
      clearInterval(trickle);
    }
    assert(lines.some((l) => l.includes("message deadline")), lines.join("\n"));
    await client.close();
  });
});

Deno.test("tcp: stray bytes do not reset the idle timer: only complete messages do", async () => {
  await withServer({ idleTimeoutMs: 300 }, async ({ server }) => {
    const client = await tcpClient(server);
    // A byte every 50 ms used to reset the idle timer; a lone CR is no message.
    const trickle = setInterval(() => void client.send("\r").catch(() => {}), 50);
    try {
      await eventually(() => client.closed.value, "the idle close despite the trickle");
    } finally {
      clearInterval(trickle);
    }
    await client.close();
  });
});

Deno.test("tcp: reaching the global connection cap is logged", async () => {
  const { lines, logger } = logSink();
  await withServer({ maxConnections: 1, logger }, async ({ server }) => {
    const a = await tcpClient(server);
    await eventually(() => server.connectionCount === 1, "the first connection");
    const b = await tcpClient(server);
    await eventually(() => b.closed.value, "the second to be closed");
    assert(lines.some((l) => l.includes("connection limit")), lines.join("\n"));
    await a.close();
    await b.close();
  });
});
