import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { VirtualClock } from "../../clock/mod.ts";
import { formatIdentityHeader, withVerstat } from "./identity.ts";
import { StirVerifier } from "./verify.ts";
import { makeTestPki, signRaw, type TestPki, withHeader, withPayload } from "./_test_pki.ts";

const FROM = `"Alice" <sip:+1-215-555-1212@carrier.example;user=phone>;tag=a1`;
const TO = "<sip:+12155551213@pbx.example>";

/** A loopback x5u server: routes are filled in by the test. */
interface X5uServer {
  base: string;
  hangArrived: Promise<void>;
  release: () => void;
  close: () => Promise<void>;
}

function serveX5u(pki: TestPki): X5uServer {
  let arrived: () => void = () => {};
  const hangArrived = new Promise<void>((r) => (arrived = r));
  let release: () => void = () => {};
  const released = new Promise<void>((r) => (release = r));
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const pem = { "content-type": "application/x-pem-file" };
    switch (path) {
      case "/leaf.pem":
        return new Response(pki.leafPem, { headers: { ...pem, "cache-control": "max-age=60" } });
      case "/rogue.pem":
        return new Response(pki.rogueLeafPem, { headers: pem });
      case "/big.pem":
        return new Response(pki.leafPem + "x".repeat(40_000), { headers: pem });
      case "/stream.pem": {
        // No Content-Length: the limit has to be enforced while reading.
        let n = 0;
        const body = new ReadableStream<Uint8Array>({
          pull(c) {
            if (n++ > 100) return c.close();
            c.enqueue(new Uint8Array(1024).fill(65));
          },
        });
        return new Response(body, { headers: pem });
      }
      case "/hang.pem":
        arrived();
        await released;
        return new Response(pki.leafPem, { headers: pem });
      default:
        return new Response("not found", { status: 404 });
    }
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  return {
    base,
    hangArrived,
    release,
    close: async () => {
      release();
      await server.shutdown();
    },
  };
}

interface Ctx {
  pki: TestPki;
  srv: X5uServer;
  clock: VirtualClock;
  verifier: StirVerifier;
  nowSec: () => number;
  passport: (
    opts?: { header?: Record<string, unknown>; claims?: Record<string, unknown>; key?: string },
  ) => Promise<string>;
}

async function withCtx(fn: (c: Ctx) => Promise<void>, opts: { timeoutMs?: number } = {}): Promise<void> {
  const pki = await makeTestPki();
  const srv = serveX5u(pki);
  const clock = new VirtualClock({ wallStart: Date.now() });
  const verifier = new StirVerifier({
    trustRoots: pki.caPem,
    clock,
    fetch: { allowHttp: true, allowPrivateHosts: true, timeoutMs: opts.timeoutMs ?? 2000, maxBytes: 16384 },
  });
  const nowSec = () => Math.floor(clock.wallNow() / 1000);
  const passport: Ctx["passport"] = (o = {}) =>
    signRaw(
      { alg: "ES256", ppt: "shaken", typ: "passport", x5u: `${srv.base}/leaf.pem`, ...o.header },
      {
        attest: "A",
        dest: { tn: ["12155551213"] },
        iat: nowSec(),
        orig: { tn: "12155551212" },
        origid: "123e4567-e89b-12d3-a456-426655440000",
        ...o.claims,
      },
      o.key ?? pki.leafKey,
    );
  try {
    await fn({ pki, srv, clock, verifier, nowSec, passport });
  } finally {
    await srv.close();
    await Deno.remove(pki.dir, { recursive: true });
  }
}

const ident = (jws: string, info: string) => formatIdentityHeader(jws, { info });

Deno.test("verify: a valid PASSporT passes, verstat goes on the From URI, the certificate is cached per max-age", async () => {
  await withCtx(async ({ srv, clock, verifier, passport }) => {
    const x5u = `${srv.base}/leaf.pem`;
    const r = await verifier.verify({ identity: ident(await passport(), x5u), from: FROM, to: TO });
    assertEquals(r.verstat, "TN-Validation-Passed", r.reason);
    assertEquals(r.failure, undefined);
    assertEquals(r.attest, "A");
    assertEquals(r.origTn, "12155551212");
    assertEquals(r.destTns, ["12155551213"]);
    assertEquals(r.origid, "123e4567-e89b-12d3-a456-426655440000");
    assert(r.signer?.includes("leaf SP"), r.signer);
    assertEquals(
      withVerstat(FROM, r.verstat),
      `"Alice" <sip:+1-215-555-1212@carrier.example;user=phone;verstat=TN-Validation-Passed>;tag=a1`,
    );
    assertEquals(verifier.cache.fetches, 1);

    // Second call within max-age=60: served from the cache.
    clock.advance(30_000);
    const r2 = await verifier.verify({ identity: ident(await passport(), x5u), from: FROM, to: TO });
    assertEquals(r2.verstat, "TN-Validation-Passed", r2.reason);
    assertEquals(verifier.cache.fetches, 1);

    // After max-age: fetched again.
    clock.advance(31_000);
    const r3 = await verifier.verify({ identity: ident(await passport(), x5u), from: FROM, to: TO });
    assertEquals(r3.verstat, "TN-Validation-Passed", r3.reason);
    assertEquals(verifier.cache.fetches, 2);
  });
});

Deno.test("verify: orig is checked against P-Asserted-Identity when present, dest may match the Request-URI", async () => {
  await withCtx(async ({ srv, verifier, passport }) => {
    const x5u = `${srv.base}/leaf.pem`;
    const jws = await passport({
      claims: { orig: { tn: "+1 (610) 555-0000" }, dest: { tn: ["19005550100"] } },
    });
    const ok = await verifier.verify({
      identity: ident(jws, x5u),
      from: FROM,
      pai: "<tel:+16105550000>",
      to: TO,
      requestUri: "sip:19005550100@pbx.example",
    });
    assertEquals(ok.verstat, "TN-Validation-Passed", ok.reason);
    const bad = await verifier.verify({
      identity: ident(jws, x5u),
      from: FROM,
      pai: "<tel:+16105559999>",
      to: TO,
    });
    assertEquals([bad.verstat, bad.failure, bad.sipCode], ["TN-Validation-Failed", "orig-mismatch", 438]);
  });
});

Deno.test("verify: iat outside the freshness window fails (stale, 403), both past and future", async () => {
  await withCtx(async ({ srv, verifier, passport, nowSec }) => {
    const x5u = `${srv.base}/leaf.pem`;
    for (const iat of [nowSec() - 120, nowSec() + 120]) {
      const r = await verifier.verify({
        identity: ident(await passport({ claims: { iat } }), x5u),
        from: FROM,
        to: TO,
      });
      assertEquals([r.verstat, r.failure, r.sipCode], ["TN-Validation-Failed", "stale", 403]);
      assert(r.reason.includes("limit 60 s"), r.reason);
    }
    const edge = await verifier.verify({
      identity: ident(await passport({ claims: { iat: nowSec() - 59 } }), x5u),
      from: FROM,
      to: TO,
    });
    assertEquals(edge.verstat, "TN-Validation-Passed", edge.reason);
  });
});

Deno.test("verify: a tampered payload or header fails the signature check", async () => {
  await withCtx(async ({ srv, verifier, passport, nowSec }) => {
    const x5u = `${srv.base}/leaf.pem`;
    const jws = await passport();
    const tampered = withPayload(jws, {
      attest: "A",
      dest: { tn: ["12155551213"] },
      iat: nowSec(),
      orig: { tn: "19995550000" },
      origid: "x",
    });
    const r = await verifier.verify({ identity: ident(tampered, x5u), from: "<sip:+19995550000@c>", to: TO });
    assertEquals([r.verstat, r.failure, r.sipCode], ["TN-Validation-Failed", "bad-signature", 438]);
    const hdr = withHeader(jws, { alg: "ES256", ppt: "shaken", typ: "passport", x5u, extra: 1 });
    const r2 = await verifier.verify({ identity: ident(hdr, x5u), from: FROM, to: TO });
    assertEquals(r2.failure, "bad-signature");
    // Signed by a key that is not the certificate's.
    const other = await verifier.verify({
      identity: ident(await passport({ key: await makeOtherKey() }), x5u),
      from: FROM,
      to: TO,
    });
    assertEquals(other.failure, "bad-signature");
  });
});

async function makeOtherKey(): Promise<string> {
  const out = await new Deno.Command("openssl", {
    args: ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout);
}

Deno.test("verify: wrong dest fails (dest-mismatch)", async () => {
  await withCtx(async ({ srv, verifier, passport }) => {
    const x5u = `${srv.base}/leaf.pem`;
    const r = await verifier.verify({
      identity: ident(await passport({ claims: { dest: { tn: ["12155559999"] } } }), x5u),
      from: FROM,
      to: TO,
    });
    assertEquals([r.verstat, r.failure, r.sipCode], ["TN-Validation-Failed", "dest-mismatch", 438]);
    assert(r.reason.includes("12155559999"), r.reason);
  });
});

Deno.test("verify: unreachable x5u (closed port) fails with 436 instead of hanging", async () => {
  await withCtx(async ({ verifier, passport }) => {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    const x5u = `http://127.0.0.1:${port}/leaf.pem`;
    const r = await verifier.verify({
      identity: ident(await passport({ header: { x5u } }), x5u),
      from: FROM,
      to: TO,
    });
    assertEquals([r.verstat, r.failure, r.sipCode], ["TN-Validation-Failed", "x5u-fetch", 436]);
    assert(r.reason.includes("x5u fetch failed"), r.reason);
  });
});

Deno.test("verify: an x5u server that never answers is cut off by the timeout (virtual clock)", async () => {
  await withCtx(async ({ srv, clock, verifier, passport }) => {
    const x5u = `${srv.base}/hang.pem`;
    const pending = verifier.verify({
      identity: ident(await passport({ header: { x5u } }), x5u),
      from: FROM,
      to: TO,
    });
    await srv.hangArrived;
    clock.advance(2001);
    const r = await pending;
    assertEquals([r.verstat, r.failure, r.sipCode], ["TN-Validation-Failed", "x5u-fetch", 436]);
    assert(r.reason.includes("timed out after 2000 ms"), r.reason);
    srv.release();
  });
});

Deno.test("verify: an oversized x5u response is refused, with and without Content-Length", async () => {
  await withCtx(async ({ srv, verifier, passport }) => {
    for (const path of ["/big.pem", "/stream.pem"]) {
      const x5u = `${srv.base}${path}`;
      const r = await verifier.verify({
        identity: ident(await passport({ header: { x5u } }), x5u),
        from: FROM,
        to: TO,
      });
      assertEquals([r.verstat, r.failure, r.sipCode], ["TN-Validation-Failed", "x5u-fetch", 436]);
      assert(r.reason.includes("exceeds 16384"), r.reason);
    }
    const x5u = `${srv.base}/missing.pem`;
    const r = await verifier.verify({
      identity: ident(await passport({ header: { x5u } }), x5u),
      from: FROM,
      to: TO,
    });
    assert(r.reason.includes("HTTP 404"), r.reason);
  });
});

Deno.test("verify: a certificate not chained to the trust store fails (437)", async () => {
  await withCtx(async ({ pki, srv, verifier, passport }) => {
    const x5u = `${srv.base}/rogue.pem`;
    const jws = await passport({ header: { x5u }, key: pki.rogueLeafKey });
    const r = await verifier.verify({ identity: ident(jws, x5u), from: FROM, to: TO });
    assertEquals([r.verstat, r.failure, r.sipCode], ["TN-Validation-Failed", "untrusted", 437]);
    assert(r.reason.includes("not chained"), r.reason);
  });
});

Deno.test("verify: an expired signing certificate fails even with a fresh iat", async () => {
  await withCtx(async ({ srv, clock, verifier, passport }) => {
    clock.advance(11 * 86_400_000); // the leaf is valid 10 days
    const x5u = `${srv.base}/leaf.pem`;
    const r = await verifier.verify({ identity: ident(await passport(), x5u), from: FROM, to: TO });
    assertEquals([r.verstat, r.failure], ["TN-Validation-Failed", "untrusted"]);
    assert(r.reason.includes("expired"), r.reason);
  });
});

Deno.test("verify: wrong alg and ppt, missing or malformed headers", async () => {
  await withCtx(async ({ pki, srv, verifier, passport }) => {
    const x5u = `${srv.base}/leaf.pem`;
    const jws = await passport();
    const v = (identity: string | undefined) => verifier.verify({ identity, from: FROM, to: TO });

    const none = await v(undefined);
    assertEquals([none.verstat, none.failure, none.sipCode], ["No-TN-Validation", "no-identity", 428]);

    const algParam = await v(`${jws};info=<${x5u}>;alg=RS256;ppt=shaken`);
    assertEquals([algParam.verstat, algParam.failure, algParam.sipCode], [
      "TN-Validation-Failed",
      "bad-alg",
      437,
    ]);

    const algHdr = await v(ident(withHeader(jws, { alg: "none", ppt: "shaken", typ: "passport", x5u }), x5u));
    assertEquals([algHdr.verstat, algHdr.failure], ["TN-Validation-Failed", "bad-alg"]);

    const pptParam = await v(`${jws};info=<${x5u}>;alg=ES256;ppt=div`);
    assertEquals([pptParam.verstat, pptParam.failure], ["No-TN-Validation", "unsupported-ppt"]);

    const pptHdr = await v(ident(await passport({ header: { ppt: "rcd" } }), x5u));
    assertEquals([pptHdr.verstat, pptHdr.failure], ["No-TN-Validation", "unsupported-ppt"]);

    const typ = await v(ident(await passport({ header: { typ: "JWT" } }), x5u));
    assertEquals(typ.failure, "bad-header");

    const mismatch = await v(ident(jws, `${srv.base}/rogue.pem`));
    assertEquals(mismatch.failure, "bad-header");

    const garbage = await v("not a passport");
    assertEquals([garbage.verstat, garbage.failure, garbage.sipCode], [
      "TN-Validation-Failed",
      "malformed",
      438,
    ]);

    const httpsOnly = new StirVerifier({ trustRoots: pki.caPem });
    const plain = await httpsOnly.verify({ identity: ident(jws, x5u), from: FROM, to: TO });
    assertEquals(plain.failure, "x5u-fetch");
    assert(plain.reason.includes("scheme not allowed"), plain.reason);

    const claims = await v(ident(await passport({ claims: { attest: "D" } }), x5u));
    assertEquals([claims.failure, claims.reason], ["bad-claims", "attest is not A, B or C"]);
  });
});
