import {
  deepStrictEqual as assertEquals,
  notDeepStrictEqual as assertNotEquals,
  ok as assert,
} from "node:assert";
import { VirtualClock } from "../../clock/mod.ts";
import { DigestAuthenticator } from "./authenticator.ts";
import { computeAuthorization, type DigestAlgorithm, ha1 } from "./digest.ts";
import { parseAuthParams } from "./params.ts";

const REALM = "pbx.test";
const USERS: Record<string, string> = { "100": "secret100", "alice": "wonderland" };

function lookupHa1(username: string, realm: string, algorithm: DigestAlgorithm): string | undefined {
  const password = USERS[username];
  return password === undefined ? undefined : ha1(algorithm, username, realm, password);
}

function setup(options: { maxTrackedNonces?: number } = {}) {
  const clock = new VirtualClock();
  const auth = new DigestAuthenticator({ realm: REALM, clock, ...options });
  return { clock, auth };
}

function answer(
  challenge: string,
  options: { username?: string; password?: string; nc?: number; uri?: string; method?: string } = {},
): string {
  return computeAuthorization({
    method: options.method ?? "REGISTER",
    uri: options.uri ?? "sip:pbx.test",
    username: options.username ?? "100",
    password: options.password ?? "secret100",
    challenge,
    nc: options.nc ?? 1,
  });
}

Deno.test("challenge offers SHA-256 first, then MD5, with qop=auth and the same nonce", () => {
  const { auth } = setup();
  const c = auth.challenge();
  assertEquals(c.name, "WWW-Authenticate");
  assertEquals(c.values.length, 2);
  const [sha, md5] = c.values.map((v) => parseAuthParams(v).params);
  assertEquals(sha?.get("algorithm"), "SHA-256");
  assertEquals(md5?.get("algorithm"), "MD5");
  assertEquals(sha?.get("qop"), "auth");
  assertEquals(sha?.get("realm"), REALM);
  assertEquals(sha?.get("nonce"), md5?.get("nonce"));
  assert(sha?.get("opaque"));
  assertEquals(sha?.has("stale"), false);
  assertEquals(auth.challenge({ proxy: true, stale: true }).name, "Proxy-Authenticate");
  assert(auth.challenge({ stale: true }).values[0]?.includes("stale=TRUE"));
  assertNotEquals(auth.issueNonce(), auth.issueNonce());
});

Deno.test("MD5 and SHA-256 credentials from computeAuthorization verify", () => {
  const { auth } = setup();
  // Both values share one nonce, so each algorithm gets its own challenge (else nc=1 twice is a replay).
  for (const index of [0, 1]) {
    const authorization = answer(auth.challenge().values[index]!);
    assertEquals(auth.verify({ method: "REGISTER", authorization, lookupHa1 }), {
      ok: true,
      username: "100",
    });
  }
});

Deno.test("verifyAsync works with an asynchronous HA1 store", async () => {
  const { auth } = setup();
  const authorization = answer(auth.challenge().values[0]!, { username: "alice", password: "wonderland" });
  const result = await auth.verifyAsync({
    method: "REGISTER",
    authorization,
    lookupHa1: (u, r, a) => Promise.resolve(lookupHa1(u, r, a)),
  });
  assertEquals(result, { ok: true, username: "alice" });
});

Deno.test("wrong password is rejected as wrong-password without stale", () => {
  const { auth } = setup();
  const authorization = answer(auth.challenge().values[0]!, { password: "guess" });
  assertEquals(auth.verify({ method: "REGISTER", authorization, lookupHa1 }), {
    ok: false,
    reason: "wrong-password",
    username: "100",
  });
});

Deno.test("unknown user is rejected as unknown-user", () => {
  const { auth } = setup();
  const authorization = answer(auth.challenge().values[1]!, { username: "999" });
  const result = auth.verify({ method: "REGISTER", authorization, lookupHa1 });
  assertEquals(result, { ok: false, reason: "unknown-user", username: "999" });
});

Deno.test("REGISTER with a stale nonce gets stale=true when the digest is right", () => {
  const { auth, clock } = setup();
  const challenge = auth.challenge().values[0]!;
  clock.advance(300_001);
  const good = auth.verify({ method: "REGISTER", authorization: answer(challenge), lookupHa1 });
  assertEquals(good, { ok: false, reason: "stale", username: "100", stale: true });
  // A wrong password with an expired nonce is a plain failure: stale must not invite a silent retry.
  const bad = auth.verify({
    method: "REGISTER",
    authorization: answer(challenge, { password: "x" }),
    lookupHa1,
  });
  assertEquals(bad.ok === false && bad.reason, "wrong-password");
  assertEquals(bad.ok === false && bad.stale, undefined);
});

Deno.test("a nonce within its lifetime is accepted", () => {
  const { auth, clock } = setup();
  const challenge = auth.challenge().values[0]!;
  clock.advance(299_000);
  assertEquals(auth.verify({ method: "REGISTER", authorization: answer(challenge), lookupHa1 }).ok, true);
});

Deno.test("forged or foreign nonces are rejected as bad-nonce", () => {
  const { auth } = setup();
  const other = new DigestAuthenticator({ realm: REALM, clock: new VirtualClock() });
  const real = parseAuthParams(auth.challenge().values[0]!).params.get("nonce")!;
  const tampered = (real[0] === "A" ? "B" : "A") + real.slice(1);
  for (
    const challenge of [
      `Digest realm="${REALM}", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", qop="auth"`,
      `Digest realm="${REALM}", nonce="${tampered}", qop="auth"`,
      other.challenge().values[0]!,
    ]
  ) {
    const result = auth.verify({ method: "REGISTER", authorization: answer(challenge), lookupHa1 });
    assertEquals(result, { ok: false, reason: "bad-nonce", username: "100" }, challenge);
  }
});

Deno.test("a replayed nonce count is rejected and a higher one accepted", () => {
  const { auth } = setup();
  const challenge = auth.challenge().values[0]!;
  const first = answer(challenge, { nc: 1 });
  assertEquals(auth.verify({ method: "REGISTER", authorization: first, lookupHa1 }).ok, true);
  const replay = auth.verify({ method: "REGISTER", authorization: first, lookupHa1 });
  assertEquals(replay, { ok: false, reason: "replay", username: "100", stale: true });
  assertEquals(
    auth.verify({ method: "REGISTER", authorization: answer(challenge, { nc: 2 }), lookupHa1 }).ok,
    true,
  );
  assertEquals(
    auth.verify({ method: "REGISTER", authorization: answer(challenge, { nc: 5 }), lookupHa1 }).ok,
    true,
  );
  const older = auth.verify({ method: "REGISTER", authorization: answer(challenge, { nc: 3 }), lookupHa1 });
  assertEquals(older.ok === false && older.reason, "replay");
});

Deno.test("replay state stays bounded and evicted nonces come back as stale, never as accepted", () => {
  const { auth, clock } = setup({ maxTrackedNonces: 10 });
  const used: string[] = [];
  for (let i = 0; i < 30; i++) {
    clock.advance(1);
    const authorization = answer(auth.challenge().values[0]!);
    assertEquals(auth.verify({ method: "REGISTER", authorization, lookupHa1 }).ok, true);
    used.push(authorization);
  }
  assert(auth.trackedNonces <= 10);
  for (const authorization of used) {
    const result = auth.verify({ method: "REGISTER", authorization, lookupHa1 });
    assertEquals(result.ok, false);
    assert(result.ok === false && result.stale === true);
  }
});

Deno.test("credentials for another realm are rejected as realm", () => {
  const { auth } = setup();
  const challenge = auth.challenge().values[0]!.replace(`realm="${REALM}"`, 'realm="elsewhere"');
  const result = auth.verify({ method: "REGISTER", authorization: answer(challenge), lookupHa1 });
  assertEquals(result, { ok: false, reason: "realm", username: "100" });
});

Deno.test("several Authorization values: the one for our realm is used", () => {
  const { auth } = setup();
  const ours = answer(auth.challenge().values[0]!);
  const foreign = ours.replace(`realm="${REALM}"`, 'realm="other"');
  assertEquals(auth.verify({ method: "REGISTER", authorization: [foreign, ours], lookupHa1 }).ok, true);
});

Deno.test("request URI must match the credentials uri when given", () => {
  const { auth } = setup();
  const authorization = answer(auth.challenge().values[0]!, { uri: "sip:pbx.test", method: "INVITE" });
  assertEquals(
    auth.verify({ method: "INVITE", authorization, requestUri: "sip:200@pbx.test", lookupHa1 }),
    { ok: false, reason: "uri-mismatch", username: "100" },
  );
  assertEquals(
    auth.verify({ method: "INVITE", authorization, requestUri: "SIP:pbx.test", lookupHa1 }).ok,
    true,
  );
});

Deno.test("a digest computed for another method fails", () => {
  const { auth } = setup();
  const authorization = answer(auth.challenge().values[0]!, { method: "INVITE" });
  assertEquals(auth.verify({ method: "REGISTER", authorization, lookupHa1 }).ok, false);
});

Deno.test("RFC 2069 clients without qop are accepted", () => {
  const { auth } = setup();
  const nonce = parseAuthParams(auth.challenge().values[1]!).params.get("nonce")!;
  const authorization = answer(`Digest realm="${REALM}", nonce="${nonce}"`);
  assertEquals(auth.verify({ method: "REGISTER", authorization, lookupHa1 }), { ok: true, username: "100" });
});

Deno.test("MD5-sess and SHA-256-sess credentials are accepted", () => {
  const { auth } = setup();
  for (const index of [0, 1]) {
    const sess = auth.challenge().values[index]!.replace(/algorithm=([A-Z0-9-]+)/, "algorithm=$1-sess");
    assertEquals(auth.verify({ method: "REGISTER", authorization: answer(sess), lookupHa1 }).ok, true, sess);
  }
});

Deno.test("an algorithm we did not offer is rejected", () => {
  const clock = new VirtualClock();
  const auth = new DigestAuthenticator({ realm: REALM, clock, algorithms: ["SHA-256"] });
  assertEquals(auth.challenge().values.length, 1);
  const md5 = auth.challenge().values[0]!.replace("algorithm=SHA-256", "algorithm=MD5");
  const result = auth.verify({ method: "REGISTER", authorization: answer(md5), lookupHa1 });
  assertEquals(result.ok === false && result.reason, "malformed");
});

Deno.test("missing credentials report missing", () => {
  const { auth } = setup();
  for (const authorization of [undefined, "", "   ", []]) {
    assertEquals(auth.verify({ method: "REGISTER", authorization, lookupHa1 }), {
      ok: false,
      reason: "missing",
    });
  }
});

Deno.test("malformed Authorization headers never throw", () => {
  const { auth } = setup();
  const good = answer(auth.challenge().values[0]!);
  const samples = [
    "Basic dXNlcjpwYXNz",
    "Digest",
    'Digest username="100"',
    'Digest username="100", realm="pbx.test", nonce="x", uri="sip:x", response="y", qop=auth',
    'Digest username="100", realm="pbx.test", nonce="x", uri="sip:x", response="y", qop=auth, nc=zz, cnonce="c"',
    'Digest username="100", realm="pbx.test", nonce="x", uri="sip:x", response="y", qop=auth-conf',
    'Digest username="100", realm="pbx.test", nonce="x", uri="sip:x", response="y", algorithm=SHA-512',
    good.replace("nc=00000001", "nc=00000000"),
    good.replace(
      /response="[0-9a-f]+"/,
      'response="not-hex-at-all-but-64-chars-long-xxxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
    ),
    good.replace(/response="[0-9a-f]+"/, 'response=""'),
    'Digest username="100", realm="pbx.test", nonce="\\',
    "\u0000\uffff",
  ];
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < 500; i++) {
    const chars = [...good];
    for (let k = 0; k < 3; k++) {
      chars[Math.floor(rand() * chars.length)] = String.fromCharCode(Math.floor(rand() * 128));
    }
    samples.push(chars.join(""));
  }
  for (const authorization of samples) {
    const result = auth.verify({ method: "REGISTER", authorization, lookupHa1 });
    assertEquals(typeof result.ok, "boolean");
  }
  assertEquals(auth.verify({ method: "REGISTER", authorization: samples[0], lookupHa1 }).ok, false);
});

Deno.test("a nonce is bound to the source it was issued to: from another source it is bad-nonce", () => {
  const { auth } = setup();
  const challenge = auth.challenge({ source: "192.0.2.1" }).values[0]!;
  const authorization = answer(challenge);
  const verify = (source: string) => auth.verify({ method: "REGISTER", authorization, lookupHa1, source });
  // A spoofer sending as 192.0.2.1 never saw this challenge; one that uses a nonce it got at
  // its own address is told bad-nonce, before the password is looked at.
  assertEquals(verify("198.51.100.9"), { ok: false, reason: "bad-nonce", username: "100" });
  assertEquals(auth.verify({ method: "REGISTER", authorization, lookupHa1 }).ok, false);
  assertEquals(verify("192.0.2.1"), { ok: true, username: "100" });
  const wrong = answer(auth.challenge({ source: "192.0.2.1" }).values[0]!, { password: "guess" });
  assertEquals(
    auth.verify({ method: "REGISTER", authorization: wrong, lookupHa1, source: "192.0.2.2" }),
    { ok: false, reason: "bad-nonce", username: "100" },
  );
});
