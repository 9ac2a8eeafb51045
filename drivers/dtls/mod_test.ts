import { deepStrictEqual as assertEquals, match as assertMatch, ok as assert } from "node:assert";
import { available, DtlsCertificate, DtlsEndpoint, type DtlsSrtpProfile, sslLibrary } from "./mod.ts";
import { SrtpSession } from "../srtp/mod.ts";

const ffi = available();
const opts = { ignore: !ffi, sanitizeResources: false, sanitizeOps: false };

const hasOpenssl = new Deno.Command("sh", { args: ["-c", "command -v openssl"] }).outputSync().code === 0;

/** A P-256 self-signed certificate made by the openssl CLI, in a temp dir. */
async function opensslCert(): Promise<{ dir: string; certFile: string; keyFile: string }> {
  const dir = await Deno.makeTempDir();
  const certFile = `${dir}/c.pem`;
  const keyFile = `${dir}/k.pem`;
  const args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  args.push("-subj", "/CN=peer", "-days", "2", "-keyout", keyFile, "-out", certFile);
  const gen = await new Deno.Command("openssl", { args, stdout: "null", stderr: "null" }).output();
  assert(gen.success, "openssl req failed");
  return { dir, certFile, keyFile };
}

/** Parse "Keying material: HEX" from s_server/s_client output into client/server key||salt. */
function keyingMaterial(
  text: string,
  key: number,
  salt: number,
): { client: Uint8Array; server: Uint8Array } | null {
  const m = /Keying material: ([0-9A-F]+)/i.exec(text);
  if (m === null) return null;
  const km = Uint8Array.from(m[1]!.match(/../g)!.map((h) => parseInt(h, 16)));
  const part = (i: number) =>
    new Uint8Array([
      ...km.subarray(i * key, (i + 1) * key),
      ...km.subarray(2 * key + i * salt, 2 * key + (i + 1) * salt),
    ]);
  return { client: part(0), server: part(1) };
}

/** Move datagrams between two endpoints until both are connected (bounded). */
function pump(a: DtlsEndpoint, b: DtlsEndpoint): number {
  let rounds = 0;
  a.start();
  b.start();
  while (!(a.connected && b.connected)) {
    if (++rounds > 20) throw new Error("handshake did not finish in 20 rounds");
    for (const d of a.drain()) b.feed(d);
    for (const d of b.drain()) a.feed(d);
  }
  // the last flight (server Finished) may still be queued
  for (const d of a.drain()) b.feed(d);
  for (const d of b.drain()) a.feed(d);
  return rounds;
}

Deno.test("dtls: self-signed ECDSA certificate has a SHA-256 fingerprint", opts, () => {
  const cert = DtlsCertificate.generate({ commonName: "pbx-test" });
  assertMatch(cert.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  const other = DtlsCertificate.generate();
  assert(cert.fingerprint !== other.fingerprint);
  cert.close();
  other.close();
});

for (
  const [profiles, want] of [
    [undefined, "SRTP_AEAD_AES_128_GCM"],
    [["SRTP_AES128_CM_SHA1_80"], "SRTP_AES128_CM_SHA1_80"],
  ] as const
) {
  Deno.test(`dtls: two endpoints handshake in-process and derive matching ${want} keys`, opts, () => {
    const cc = DtlsCertificate.generate();
    const sc = DtlsCertificate.generate();
    const client = new DtlsEndpoint("client", {
      certificate: cc,
      ...(profiles ? { profiles: profiles as readonly DtlsSrtpProfile[] } : {}),
    });
    const server = new DtlsEndpoint("server", { certificate: sc, mtu: 600 });
    try {
      pump(client, server);
      assert(client.connected && server.connected);
      assertEquals(client.peerFingerprint(), sc.fingerprint);
      assertEquals(server.peerFingerprint(), cc.fingerprint);
      const ck = client.srtpKeys();
      const sk = server.srtpKeys();
      assertEquals(ck.profile, want);
      assertEquals(sk.profile, want);
      assertEquals(ck.local, sk.remote);
      assertEquals(ck.remote, sk.local);
      assert(!ck.local.every((b, i) => b === ck.remote[i]));
      // the keys drive drivers/srtp both ways
      const tx = new SrtpSession("outbound", { suite: ck.suite, keySalt: ck.local });
      const rx = new SrtpSession("inbound", { suite: sk.suite, keySalt: sk.remote });
      const buf = new Uint8Array(200);
      buf.set([0x80, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4]);
      const n = tx.protectRtp(buf, 172);
      assertEquals(rx.unprotectRtp(buf, n), 172);
      tx.close();
      rx.close();
    } finally {
      client.close();
      server.close();
      cc.close();
      sc.close();
    }
  });
}

Deno.test("dtls: garbage input is refused with an Error or ignored, never a crash", opts, () => {
  const cert = DtlsCertificate.generate();
  const server = new DtlsEndpoint("server", { certificate: cert });
  try {
    server.start();
    let threw = false;
    try {
      // a DTLS-looking record header with nonsense inside, then plain junk
      server.feed(new Uint8Array([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4]));
      server.feed(new TextEncoder().encode("hello, this is not DTLS"));
    } catch (err) {
      threw = true;
      assert(err instanceof Error);
    }
    // either refused outright or still waiting: never connected, never crashed
    assert(threw || !server.connected);
    assert(!server.connected);
  } finally {
    server.close();
    cert.close();
  }
  const c2 = DtlsCertificate.generate();
  const idle = new DtlsEndpoint("client", { certificate: c2 });
  assertEquals(idle.drain().length, 0); // nothing before start()
  let early = "";
  try {
    idle.srtpKeys();
  } catch (err) {
    early = String(err);
  }
  assertMatch(early, /not finished/);
  idle.close();
  c2.close();
});

Deno.test("dtls: keys against openssl s_server -dtls1_2 -use_srtp as an independent peer", {
  ...opts,
  ignore: !ffi || new Deno.Command("sh", { args: ["-c", "command -v openssl"] }).outputSync().code !== 0,
}, async () => {
  const dgram = await import("node:dgram");
  const dir = await Deno.makeTempDir();
  const certFile = `${dir}/c.pem`;
  const keyFile = `${dir}/k.pem`;
  const gen = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-subj",
      "/CN=peer",
      "-days",
      "2",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    stdout: "null",
    stderr: "null",
  }).output();
  assert(gen.success);
  // a free UDP port
  const probe = dgram.createSocket("udp4");
  await new Promise<void>((r) => probe.bind(0, "127.0.0.1", () => r()));
  const port = probe.address().port;
  await new Promise<void>((r) => probe.close(() => r()));

  const server = new Deno.Command("openssl", {
    args: [
      "s_server",
      "-dtls1_2",
      "-accept",
      `127.0.0.1:${port}`,
      "-cert",
      certFile,
      "-key",
      keyFile,
      "-use_srtp",
      "SRTP_AES128_CM_SHA1_80",
      "-keymatexport",
      "EXTRACTOR-dtls_srtp",
      "-keymatexportlen",
      "60",
      "-verify",
      "1",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const reader = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of server.stdout) text += dec.decode(chunk);
  })();
  const errReader = (async () => {
    for await (const _ of server.stderr) { /* drain */ }
  })();
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  const cert = DtlsCertificate.generate();
  const client = new DtlsEndpoint("client", { certificate: cert, profiles: ["SRTP_AES128_CM_SHA1_80"] });
  try {
    let heard = false;
    let failure = "";
    sock.on("message", (msg: Uint8Array) => {
      heard = true;
      try {
        client.feed(new Uint8Array(msg));
        for (const d of client.drain()) sock.send(d, port, "127.0.0.1");
      } catch (err) {
        failure = String(err);
      }
    });
    // s_server needs a moment to bind; resend the first flight until it answers (bounded)
    client.start();
    const first = client.drain();
    for (let i = 0; i < 50 && !client.connected; i++) {
      if (i % 5 === 0 && !heard) {
        for (const d of first) sock.send(d, port, "127.0.0.1");
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert(
      client.connected,
      `handshake with openssl s_server did not finish: ${failure} ${text.slice(0, 300)}`,
    );
    for (let i = 0; i < 50 && !/Keying material: [0-9A-F]+/i.test(text); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const m = /Keying material: ([0-9A-F]+)/i.exec(text);
    assert(m !== null, `no keying material in s_server output: ${text.slice(0, 400)}`);
    const km = Uint8Array.from(m[1]!.match(/../g)!.map((h) => parseInt(h, 16)));
    const k = client.srtpKeys();
    assertEquals(k.profile, "SRTP_AES128_CM_SHA1_80");
    // client_key(16) server_key(16) client_salt(14) server_salt(14)
    const clientKs = new Uint8Array([...km.subarray(0, 16), ...km.subarray(32, 46)]);
    const serverKs = new Uint8Array([...km.subarray(16, 32), ...km.subarray(46, 60)]);
    assertEquals(k.local, clientKs);
    assertEquals(k.remote, serverKs);
  } finally {
    client.close();
    cert.close();
    sock.close();
    try {
      server.kill("SIGTERM");
    } catch { /* already gone */ }
    await server.status;
    await reader;
    await errReader;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dtls: a PEM certificate loads and its fingerprint equals openssl x509 -fingerprint", {
  ...opts,
  ignore: !ffi || !hasOpenssl,
}, async () => {
  const { dir, certFile, keyFile } = await opensslCert();
  try {
    const cert = DtlsCertificate.fromPem(await Deno.readTextFile(certFile), await Deno.readTextFile(keyFile));
    const out = await new Deno.Command("openssl", {
      args: ["x509", "-in", certFile, "-noout", "-fingerprint", "-sha256"],
    }).output();
    const fp = /Fingerprint=([0-9A-F:]+)/i.exec(new TextDecoder().decode(out.stdout))![1]!.toUpperCase();
    assertEquals(cert.fingerprint, fp);
    cert.close();
    let msg = "";
    try {
      DtlsCertificate.fromPem("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n", "x");
    } catch (err) {
      msg = String(err);
    }
    assertMatch(msg, /reading the PEM certificate failed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dtls: as server, keys against openssl s_client -dtls1_2 -use_srtp SRTP_AEAD_AES_128_GCM", {
  ...opts,
  ignore: !ffi || !hasOpenssl,
}, async () => {
  const dgram = await import("node:dgram");
  const { dir, certFile, keyFile } = await opensslCert();
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  const port = sock.address().port;
  const cert = DtlsCertificate.generate();
  const server = new DtlsEndpoint("server", { certificate: cert });
  server.start();
  let failure = "";
  sock.on("message", (msg: Uint8Array, rinfo: { port: number; address: string }) => {
    try {
      server.feed(new Uint8Array(msg));
      for (const d of server.drain()) sock.send(d, rinfo.port, rinfo.address);
    } catch (err) {
      failure = String(err);
    }
  });
  const client = new Deno.Command("openssl", {
    args: [
      "s_client",
      "-dtls1_2",
      "-connect",
      `127.0.0.1:${port}`,
      "-cert",
      certFile,
      "-key",
      keyFile,
      "-use_srtp",
      "SRTP_AEAD_AES_128_GCM",
      "-keymatexport",
      "EXTRACTOR-dtls_srtp",
      "-keymatexportlen",
      "56",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let text = "";
  const reader = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of client.stdout) text += dec.decode(chunk);
  })();
  try {
    for (let i = 0; i < 80 && !(server.connected && /Keying material/.test(text)); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert(server.connected, `handshake with openssl s_client did not finish: ${failure}`);
    const km = keyingMaterial(text, 16, 12);
    assert(km !== null, `no keying material in s_client output: ${text.slice(0, 300)}`);
    const k = server.srtpKeys();
    assertEquals(k.profile, "SRTP_AEAD_AES_128_GCM");
    assertEquals(k.local, km.server);
    assertEquals(k.remote, km.client);
    assertEquals(server.peerFingerprint()?.length, 95);
  } finally {
    await client.stdin.close().catch(() => {});
    try {
      client.kill("SIGTERM");
    } catch { /* already gone */ }
    await client.status;
    await reader;
    server.close();
    cert.close();
    sock.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dtls: a missing libssl gives the apt hint, not a crash", () => {
  sslLibrary.setPath("/nonexistent/libssl.so.3");
  try {
    assertEquals(sslLibrary.available(), false);
    assertMatch(sslLibrary.reason() ?? "", /not found: DTLS \(libssl\) disabled \(apt install libssl3\)/);
  } finally {
    sslLibrary.setPath(undefined);
  }
});

/** Wait until `ep`'s retransmission timer expires (polling, no fixed sleep), then let it retransmit. */
async function retransmit(ep: DtlsEndpoint): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const ms = ep.timeoutMs();
    assert(ms !== null, "a flight awaits its reply: the timer runs");
    if (ms === 0 && ep.handleTimeout()) return;
    await new Promise((r) => setTimeout(r, Math.min(Math.max(ms, 5), 50)));
  }
  throw new Error("the DTLS timer never expired");
}

Deno.test(
  "dtls: a lost flight is sent again by the retransmission timer (RFC 6347 4.2.4)",
  opts,
  async () => {
    const cc = DtlsCertificate.generate();
    const sc = DtlsCertificate.generate();
    const client = new DtlsEndpoint("client", { certificate: cc });
    const server = new DtlsEndpoint("server", { certificate: sc });
    try {
      assertEquals(client.timeoutMs(), null, "no timer before the first flight");
      assertEquals(client.handleTimeout(), false);
      client.start();
      const hello = client.drain();
      assert(hello.length > 0);
      // The ClientHello is lost. The timer runs (OpenSSL starts it at 1 s) and nothing is sent early.
      const first = client.timeoutMs();
      assert(first !== null && first > 0 && first <= 1000, `timer ${first} ms`);
      assertEquals(client.handleTimeout(), false, "not expired yet: no retransmission");
      assertEquals(client.drain().length, 0);
      await retransmit(client);
      const again = client.drain();
      assert(again.length > 0, "the ClientHello again");
      for (const d of again) server.feed(d);
      // The server's first flight (HelloVerify or ServerHello..Done) is lost too: its timer resends it.
      const lost = server.drain();
      assert(lost.length > 0);
      await retransmit(server);
      for (const d of server.drain()) client.feed(d);
      for (let round = 0; round < 10 && !(client.connected && server.connected); round++) {
        for (const d of client.drain()) server.feed(d);
        for (const d of server.drain()) client.feed(d);
      }
      assert(client.connected && server.connected, "the handshake completes after the losses");
      assertEquals(client.srtpKeys().local, server.srtpKeys().remote);
      assertEquals(client.timeoutMs(), null, "no timer once connected");
    } finally {
      client.close();
      server.close();
      cc.close();
      sc.close();
    }
  },
);
