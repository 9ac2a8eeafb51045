import { assert, assertEquals } from "../_test_assert.ts";
import dgram from "node:dgram";
import type { Buffer } from "node:buffer";
import { VirtualClock } from "../../runtime/clock/mod.ts";
import { checkTftpPath, startTftpServer, type TftpServerOptions } from "./server.ts";
import { decodePacket, encodeAck, encodeRequest } from "./packet.ts";
import { type GetResult, sendRaw, tftpGet } from "./_test_client.ts";

function assertOk(r: GetResult): asserts r is Extract<GetResult, { ok: true }> {
  if (!r.ok) throw new Error(`transfer failed: error ${r.code} ${r.message}`);
}

function bytes(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = x & 0xff;
  }
  return out;
}

const FILES: Record<string, Uint8Array> = {
  "small.cfg": new TextEncoder().encode("hello\nworld\n"),
  "exact.bin": bytes(1024),
  "big.bin": bytes(100_000),
  "empty.bin": new Uint8Array(0),
};

async function withServer(
  fn: (port: number, server: Awaited<ReturnType<typeof startTftpServer>>) => Promise<void>,
  extra: Partial<TftpServerOptions> = {},
) {
  const server = await startTftpServer({
    bind: "127.0.0.1",
    port: 0,
    resolve: (path) => FILES[path] ?? null,
    ...extra,
  });
  try {
    await fn(server.port, server);
  } finally {
    await server.close();
  }
}

Deno.test("RRQ without options transfers a file in 512-byte blocks", async () => {
  await withServer(async (port) => {
    const r = await tftpGet(port, "big.bin");
    assertOk(r);
    assertEquals(r.oack, null);
    assertEquals(r.data, FILES["big.bin"]);
    assert(r.serverPort !== port, "transfer must come from its own TID");
  });
});

Deno.test("a file that is an exact multiple of blksize ends with an empty block", async () => {
  await withServer(async (port) => {
    const r = await tftpGet(port, "exact.bin");
    assertOk(r);
    assertEquals(r.data, FILES["exact.bin"]);
    const e = await tftpGet(port, "empty.bin");
    assertOk(e);
    assertEquals(e.data.length, 0);
  });
});

Deno.test("blksize and tsize are negotiated with an OACK", async () => {
  await withServer(async (port) => {
    const r = await tftpGet(port, "big.bin", { options: { blksize: "1428", tsize: "0", foo: "bar" } });
    assertOk(r);
    assertEquals(r.oack?.get("blksize"), "1428");
    assertEquals(r.oack?.get("tsize"), "100000");
    assertEquals(r.oack?.has("foo"), false);
    assertEquals(r.data, FILES["big.bin"]);
  });
});

Deno.test("blksize below 8 is ignored and above 65464 is clamped", async () => {
  await withServer(async (port) => {
    const low = await tftpGet(port, "small.cfg", { options: { blksize: "4", tsize: "0" } });
    assertOk(low);
    assertEquals(low.oack?.has("blksize"), false);
    const high = await tftpGet(port, "big.bin", { options: { blksize: "70000" } });
    assertOk(high);
    assertEquals(high.oack?.get("blksize"), "65464");
    assertEquals(high.data, FILES["big.bin"]);
  });
});

Deno.test("windowsize sends several blocks per ACK (RFC 7440) and timeout is accepted", async () => {
  await withServer(async (port) => {
    const r = await tftpGet(port, "big.bin", { options: { blksize: "512", windowsize: "8", timeout: "3" } });
    assertOk(r);
    assertEquals(r.oack?.get("windowsize"), "8");
    assertEquals(r.oack?.get("timeout"), "3");
    assertEquals(r.data, FILES["big.bin"]);
  });
});

Deno.test("block numbers roll over past 65535 for a large file with a small blksize", async () => {
  const large = bytes(8 * 70_000 + 3);
  await withServer(async (port) => {
    const r = await tftpGet(port, "large.bin", { options: { blksize: "8", windowsize: "128" } });
    assertOk(r);
    assertEquals(r.data.length, large.length);
    assertEquals(r.data, large);
  }, { resolve: (p) => (p === "large.bin" ? large : null) });
});

Deno.test("unknown file gets error 1, WRQ gets error 2", async () => {
  await withServer(async (port) => {
    const r = await tftpGet(port, "nope.cfg");
    assertEquals(r.ok, false);
    if (!r.ok) assertEquals(r.code, 1);
    const w = await tftpGet(port, "x", { raw: encodeRequest("wrq", "upload.cfg") });
    assertEquals(w.ok, false);
    if (!w.ok) assertEquals(w.code, 2);
  });
});

Deno.test("path traversal, absolute paths, backslashes and long names are refused", async () => {
  const asked: string[] = [];
  await withServer(async (port) => {
    for (
      const name of ["../etc/passwd", "/etc/passwd", "a/../../b", "a\\b.cfg", "x".repeat(300), "a//b", "./a"]
    ) {
      const r = await tftpGet(port, name);
      assertEquals(r.ok, false, name);
      if (!r.ok) assertEquals(r.code, 2, name);
    }
  }, {
    resolve: (p) => {
      asked.push(p);
      return null;
    },
  });
  assertEquals(asked, [], "refused names never reach resolve()");
  assertEquals(checkTftpPath("dir/ok.cfg"), null);
  assert(checkTftpPath("a\u0001b") !== null);
});

Deno.test("netascii mode converts LF to CRLF", async () => {
  await withServer(async (port) => {
    const r = await tftpGet(port, "small.cfg", { mode: "netascii" });
    assertOk(r);
    assertEquals(new TextDecoder().decode(r.data), "hello\r\nworld\r\n");
    const m = await tftpGet(port, "small.cfg", { mode: "mail" });
    assertEquals(m.ok, false);
  });
});

Deno.test("malformed packets get an error and never crash the server", async () => {
  await withServer(async (port) => {
    const junk = [
      Uint8Array.of(0),
      Uint8Array.of(0, 9, 1, 2),
      Uint8Array.of(0, 1, 0x61, 0x62), // RRQ without NUL
      Uint8Array.of(0, 1, 0x61, 0, 0x6f, 0x63, 0x74, 0x65, 0x74, 0, 0x62, 0x6c, 0), // option without value
      Uint8Array.of(0, 4, 0), // short ACK
      Uint8Array.of(0, 4, 0, 1), // stray ACK
    ];
    for (const j of junk) {
      const answer = await sendRaw(port, j);
      if (answer === null) throw new Error("no answer to junk packet");
      const p = decodePacket(answer);
      assertEquals(p.op, "error");
      if (p.op === "error") assertEquals(p.code, 4);
    }
    const r = await tftpGet(port, "small.cfg");
    assertOk(r);
  });
});

Deno.test("50 concurrent transfers all complete intact", async () => {
  await withServer(async (port, server) => {
    const results = await Promise.all(
      Array.from(
        { length: 50 },
        (_, i) => tftpGet(port, "big.bin", i % 2 ? { options: { blksize: "1024" } } : {}),
      ),
    );
    for (const r of results) {
      assertOk(r);
      assertEquals(r.data, FILES["big.bin"]);
    }
    // The final ACK may still be in flight when the client returns: wait for it to land.
    for (let i = 0; i < 200 && server.activeSessions() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assertEquals(server.activeSessions(), 0);
  }, { maxSessionsPerSource: 50 }); // all 50 come from 127.0.0.1
});

Deno.test("maxSessions refuses extra transfers with a busy error", async () => {
  const clock = new VirtualClock();
  await withServer(async (port, server) => {
    const hold = await rawSession(port, "big.bin");
    const r = await tftpGet(port, "small.cfg");
    assertEquals(r.ok, false);
    assertEquals(server.activeSessions(), 1);
    hold.close();
  }, { maxSessions: 1, clock });
});

/** Open a transfer by hand: returns the packets received and a way to send ACKs. */
async function rawSession(port: number, file: string) {
  const sock = dgram.createSocket("udp4");
  const received: Uint8Array[] = [];
  let serverPort = -1;
  let notify: (() => void) | null = null;
  sock.on("message", (msg: Buffer, rinfo: dgram.RemoteInfo) => {
    serverPort = rinfo.port;
    received.push(new Uint8Array(msg));
    notify?.();
  });
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  const next = (count: number) =>
    new Promise<void>((resolve) => {
      if (received.length >= count) return resolve();
      notify = () => {
        if (received.length >= count) {
          notify = null;
          resolve();
        }
      };
    });
  sock.send(encodeRequest("rrq", file), port, "127.0.0.1");
  await next(1);
  return {
    received,
    next,
    ack: (n: number) => sock.send(encodeAck(n), serverPort, "127.0.0.1"),
    close: () => sock.close(),
  };
}

Deno.test("a duplicate ACK does not trigger a retransmission (no Sorcerer's Apprentice)", async () => {
  const clock = new VirtualClock();
  await withServer(async (port) => {
    const s = await rawSession(port, "big.bin");
    s.ack(1);
    await s.next(2);
    const p2 = decodePacket(s.received[1]!);
    assertEquals(p2.op === "data" && p2.block, 2);
    s.ack(1); // duplicate
    s.ack(1);
    // Virtual time does not move, so only a (wrong) reaction to the duplicates could send more.
    await new Promise((r) => setTimeout(r, 150));
    assertEquals(s.received.length, 2);
    s.ack(2);
    await s.next(3);
    const p3 = decodePacket(s.received[2]!);
    assertEquals(p3.op === "data" && p3.block, 3);
    s.close();
  }, { clock });
});

Deno.test("a client that vanishes after its first ACK is retried then dropped", async () => {
  const clock = new VirtualClock();
  await withServer(async (port, server) => {
    const s = await rawSession(port, "big.bin");
    assertEquals(server.activeSessions(), 1);
    s.ack(1);
    await s.next(2);
    for (let i = 1; i <= 3; i++) {
      clock.advance(1000);
      await s.next(2 + i);
    }
    clock.advance(1000); // 4th timeout: over the retry limit
    assertEquals(server.activeSessions(), 0);
    assertEquals(clock.pending, 0);
    for (const pkt of s.received.slice(1)) {
      const p = decodePacket(pkt);
      assertEquals(p.op === "data" && p.block, 2);
    }
    s.close();
  }, { clock, maxRetries: 3 });
});

/** Send RRQs from `count` sockets that never answer; returns the bytes each got and a closer. */
async function silentRequests(port: number, count: number, options: Record<string, string> = {}) {
  const socks: dgram.Socket[] = [];
  const stats = { packets: 0, bytes: 0, requestBytes: 0 };
  for (let i = 0; i < count; i++) {
    const sock = dgram.createSocket("udp4");
    sock.on("message", (msg: Buffer) => {
      stats.packets++;
      stats.bytes += msg.byteLength;
    });
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
    const req = encodeRequest("rrq", "big.bin", { options });
    stats.requestBytes += req.length;
    sock.send(req, port, "127.0.0.1");
    socks.push(sock);
  }
  return { stats, close: () => socks.forEach((s) => s.close()) };
}

Deno.test("210 un-ACKed requests (timeout=255) from one source leave room for another client", async () => {
  const clock = new VirtualClock();
  const warnings: string[] = [];
  await withServer(async (port, server) => {
    const flood = await silentRequests(port, 210, { timeout: "255" });
    try {
      // Every request was answered (busy error or first packet) before the other client asks.
      const deadline = performance.now() + 5000;
      while (flood.stats.packets < 210 && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert(server.activeSessions() <= 8, `one source holds ${server.activeSessions()} sessions`);
      const r = await tftpGet(port, "small.cfg", { localAddress: "127.0.0.2" });
      assertOk(r);
      assert(warnings.some((w) => w.includes("per-source")), warnings.join("\n"));
      // And the held sessions end within the unverified lifetime, whatever timeout was negotiated.
      clock.advance(10_000);
      assertEquals(server.activeSessions(), 0);
    } finally {
      flood.close();
    }
  }, { clock, logger: { warn: (m, f) => warnings.push(`${m} ${JSON.stringify(f)}`) } });
});

Deno.test("a spoofed source that never ACKs gets one first packet per request, never retransmissions", async () => {
  const clock = new VirtualClock();
  await withServer(async (port) => {
    for (const options of [{}, { blksize: "65464", windowsize: "64" }, { timeout: "1" }]) {
      const flood = await silentRequests(port, 4, options);
      try {
        const deadline = performance.now() + 5000;
        while (flood.stats.packets < 4 && performance.now() < deadline) {
          await new Promise((r) => setTimeout(r, 10));
        }
        for (let i = 0; i < 20; i++) {
          clock.advance(1000); // every retransmission timer there would be
          await new Promise((r) => setTimeout(r, 5)); // let each send leave before the next step
        }
        await new Promise((r) => setTimeout(r, 100));
        assertEquals(flood.stats.packets, 4, JSON.stringify({ options, ...flood.stats }));
        // At most one 516-byte block (or a small OACK) per request.
        assert(flood.stats.bytes <= 4 * 516, JSON.stringify({ options, ...flood.stats }));
      } finally {
        flood.close();
      }
    }
  }, { clock });
});

Deno.test("resolve() throwing yields error 0, not a crash", async () => {
  await withServer(async (port) => {
    const r = await tftpGet(port, "boom.cfg");
    assertEquals(r.ok, false);
    if (!r.ok) assertEquals(r.code, 0);
  }, {
    resolve: () => {
      throw new Error("db down");
    },
  });
});

async function hasBinary(name: string): Promise<boolean> {
  try {
    await Deno.stat(`/usr/bin/${name}`);
    return true;
  } catch {
    return false;
  }
}

Deno.test("real client atftp downloads with blksize 1428 and tsize", async () => {
  if (!(await hasBinary("atftp"))) {
    console.warn("SKIP: /usr/bin/atftp not installed");
    return;
  }
  const dir = await Deno.makeTempDir();
  try {
    await withServer(async (port) => {
      const out = `${dir}/out.bin`;
      const cmd = new Deno.Command("atftp", {
        args: [
          "--option",
          "blksize 1428",
          "--option",
          "tsize 0",
          "-g",
          "-r",
          "big.bin",
          "-l",
          out,
          "127.0.0.1",
          String(port),
        ],
        stdout: "piped",
        stderr: "piped",
      });
      const res = await cmd.output();
      assertEquals(res.code, 0, new TextDecoder().decode(res.stderr));
      assertEquals(await Deno.readFile(out), FILES["big.bin"]);
      const missing = await new Deno.Command("atftp", {
        args: ["-g", "-r", "missing.cfg", "-l", `${dir}/m`, "127.0.0.1", String(port)],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert(missing.code !== 0, "atftp reports the missing file");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("real client tftp-hpa downloads a file", async () => {
  if (!(await hasBinary("tftp"))) {
    console.warn("SKIP: /usr/bin/tftp (tftp-hpa) not installed");
    return;
  }
  const dir = await Deno.makeTempDir();
  try {
    await withServer(async (port) => {
      const out = `${dir}/out.bin`;
      const res = await new Deno.Command("tftp", {
        args: ["127.0.0.1", String(port), "-m", "binary", "-c", "get", "big.bin", out],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(res.code, 0, new TextDecoder().decode(res.stderr));
      assertEquals(await Deno.readFile(out), FILES["big.bin"]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a client repeating its request before any ACK gets its first packet again, on the same transfer", async () => {
  const clock = new VirtualClock();
  await withServer(async (port, server) => {
    const sock = dgram.createSocket("udp4");
    const got: Uint8Array[] = [];
    sock.on("message", (msg: Buffer) => got.push(new Uint8Array(msg)));
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
    try {
      for (let i = 0; i < 3; i++) {
        sock.send(encodeRequest("rrq", "big.bin"), port, "127.0.0.1");
        const deadline = performance.now() + 5000;
        while (got.length <= i && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      }
      assertEquals(got.length, 3);
      for (const g of got) {
        const p = decodePacket(g);
        assertEquals(p.op === "data" && p.block, 1);
      }
      assertEquals(server.activeSessions(), 1);
      // Repeating does not extend the wait for the first ACK (5 s from the first request).
      clock.advance(4000);
      sock.send(encodeRequest("rrq", "big.bin"), port, "127.0.0.1");
      const deadline = performance.now() + 5000;
      while (got.length < 4 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      clock.advance(1000);
      assertEquals(server.activeSessions(), 0);
    } finally {
      sock.close();
    }
  }, { clock });
});
