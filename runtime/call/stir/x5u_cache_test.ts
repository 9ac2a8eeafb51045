import { deepStrictEqual as assertEquals, rejects } from "node:assert";
import { VirtualClock } from "../../clock/mod.ts";
import { type FetchLike, isPrivateHost, X5uCache } from "./x5u_cache.ts";

/** A fake fetch answering `body` with the given headers, counting calls per URL. */
function fakeFetch(headers: Record<string, string> = {}): { fetch: FetchLike; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    fetch: (url) => {
      calls.push(url);
      return Promise.resolve(new Response(`pem for ${url}`, { headers }));
    },
  };
}

Deno.test("X5uCache: keeps a response for its max-age, clamped to maxTtlSec", async () => {
  const clock = new VirtualClock();
  const f = fakeFetch({ "cache-control": "public, max-age=600" });
  const cache = new X5uCache({ fetch: f.fetch, clock, maxTtlSec: 300 });
  assertEquals(await cache.get("https://c.example/a.pem"), "pem for https://c.example/a.pem");
  clock.advance(299_000);
  await cache.get("https://c.example/a.pem");
  assertEquals(f.calls.length, 1);
  clock.advance(2_000); // past the 300 s ceiling although max-age said 600
  await cache.get("https://c.example/a.pem");
  assertEquals(f.calls.length, 2);
});

Deno.test("X5uCache: no-store / no-cache are not cached; no header uses the default TTL", async () => {
  const clock = new VirtualClock();
  const ns = fakeFetch({ "cache-control": "no-store" });
  const c1 = new X5uCache({ fetch: ns.fetch, clock });
  await c1.get("https://c.example/a.pem");
  await c1.get("https://c.example/a.pem");
  assertEquals([ns.calls.length, c1.size], [2, 0]);

  const plain = fakeFetch();
  const c2 = new X5uCache({ fetch: plain.fetch, clock, defaultTtlSec: 10 });
  await c2.get("https://c.example/a.pem");
  clock.advance(9_000);
  await c2.get("https://c.example/a.pem");
  assertEquals(plain.calls.length, 1);
  clock.advance(2_000);
  await c2.get("https://c.example/a.pem");
  assertEquals(plain.calls.length, 2);
});

Deno.test("X5uCache: bounded entries, least recently used dropped first", async () => {
  const f = fakeFetch();
  const cache = new X5uCache({ fetch: f.fetch, clock: new VirtualClock(), maxEntries: 2 });
  await cache.get("https://c.example/1");
  await cache.get("https://c.example/2");
  await cache.get("https://c.example/1"); // 1 is now the most recent
  await cache.get("https://c.example/3"); // evicts 2
  assertEquals(cache.size, 2);
  await cache.get("https://c.example/1");
  assertEquals(f.calls.length, 3);
  await cache.get("https://c.example/2");
  assertEquals(f.calls.length, 4);
});

Deno.test("X5uCache: concurrent requests for one URL share one fetch", async () => {
  const f = fakeFetch();
  const cache = new X5uCache({ fetch: f.fetch, clock: new VirtualClock() });
  const [a, b] = await Promise.all([cache.get("https://c.example/x"), cache.get("https://c.example/x")]);
  assertEquals([a, b, f.calls.length], ["pem for https://c.example/x", "pem for https://c.example/x", 1]);
});

Deno.test("X5uCache: refuses non-https URLs unless allowHttp, and junk URLs", async () => {
  const f = fakeFetch();
  const cache = new X5uCache({ fetch: f.fetch, clock: new VirtualClock() });
  await rejects(cache.get("http://c.example/a.pem"), { name: "X5uFetchError", code: "bad-url" });
  await rejects(cache.get("file:///etc/passwd"), { name: "X5uFetchError", code: "bad-url" });
  await rejects(cache.get("not a url"), { name: "X5uFetchError", code: "bad-url" });
  assertEquals(f.calls.length, 0);
  const loose = new X5uCache({ fetch: f.fetch, clock: new VirtualClock(), allowHttp: true });
  await loose.get("http://c.example/a.pem");
  assertEquals(f.calls.length, 1);
});

Deno.test("X5uCache: the deadline holds even against a fetch that ignores its abort signal", async () => {
  const clock = new VirtualClock();
  const stuck: FetchLike = () => new Promise<Response>(() => {});
  const cache = new X5uCache({ fetch: stuck, clock, timeoutMs: 500 });
  const p = cache.get("https://c.example/slow.pem");
  clock.advance(500);
  await rejects(p, { name: "X5uFetchError", code: "timeout" });
  assertEquals(clock.pending, 0);
});

Deno.test("X5uCache: a non-200 answer (redirects included) is an error, not a certificate", async () => {
  for (const status of [301, 404, 500]) {
    const f: FetchLike = () =>
      Promise.resolve(new Response(null, { status, headers: { location: "https://x/" } }));
    const cache = new X5uCache({ fetch: f, clock: new VirtualClock() });
    await rejects(cache.get("https://c.example/a.pem"), { name: "X5uFetchError", code: "http-status" });
  }
});

Deno.test("X5uCache: refuses localhost and literal private addresses unless allowPrivateHosts", async () => {
  const f = fakeFetch();
  const cache = new X5uCache({ fetch: f.fetch, clock: new VirtualClock() });
  for (
    const host of [
      "localhost",
      "127.0.0.1",
      "10.1.2.3",
      "192.168.1.1",
      "169.254.169.254",
      "[::1]",
      "[fd00::1]",
    ]
  ) {
    await rejects(cache.get(`https://${host}/a.pem`), { name: "X5uFetchError", code: "bad-url" });
  }
  assertEquals(f.calls.length, 0);
  await cache.get("https://8.8.8.8/a.pem");
  await cache.get("https://cert.example.com/a.pem");
  assertEquals(f.calls.length, 2);
  const open = new X5uCache({ fetch: f.fetch, clock: new VirtualClock(), allowPrivateHosts: true });
  await open.get("https://127.0.0.1/a.pem");
  assertEquals(f.calls.length, 3);
  assertEquals(
    ["172.16.0.1", "172.32.0.1", "::ffff:127.0.0.1", "fe80::1", "2001:db8::1", "0.0.0.0"].map(isPrivateHost),
    [true, false, true, true, false, true],
  );
});
