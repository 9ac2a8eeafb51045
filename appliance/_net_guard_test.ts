import assert from "node:assert/strict";

const GUARD = new URL("./_net_guard.ts", import.meta.url).href;
const LOG = new URL("../runtime/log/mod.ts", import.meta.url).href;

function hasPrlimit(): boolean {
  try {
    return new Deno.Command("prlimit", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

/** Runs `code` in a child deno with a low open-file limit; stdout lines and stderr are collected. */
function child(code: string, nofile: number) {
  const proc = new Deno.Command("prlimit", {
    args: [`--nofile=${nofile}:${nofile}`, Deno.execPath(), "eval", code],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let err = "";
  const dec = new TextDecoder();
  const pump = async (s: ReadableStream<Uint8Array>, add: (t: string) => void) => {
    for await (const chunk of s) add(dec.decode(chunk));
  };
  const done = Promise.all([pump(proc.stdout, (t) => out += t), pump(proc.stderr, (t) => err += t)]);
  return {
    proc,
    out: () => out,
    err: () => err,
    async line(re: RegExp): Promise<RegExpMatchArray> {
      for (let i = 0; i < 1500; i++) {
        const m = out.match(re);
        if (m) return m;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`no ${re} in child output:\n${out}\n${err}`);
    },
    async stop() {
      try {
        proc.kill("SIGKILL");
      } catch { /* gone */ }
      await proc.status;
      await done;
    },
  };
}

async function flood(port: number, count: number): Promise<Deno.Conn[]> {
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < count; i++) {
    try {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    } catch {
      break; // the listener is down right now: that is what the test provokes
    }
  }
  return conns;
}

async function fetchEventually(url: string): Promise<string> {
  let last = "";
  for (let i = 0; i < 300; i++) {
    try {
      const r = await fetch(url);
      return await r.text();
    } catch (e) {
      last = String(e);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`never answered: ${last}`);
}

Deno.test({
  name: "a web listener that runs out of file descriptors comes back, and the process stays alive",
  ignore: !hasPrlimit(),
  async fn() {
    const c = child(
      `import { serveSupervised, installProcessGuard } from ${JSON.stringify(GUARD)};
       import { createLogger } from ${JSON.stringify(LOG)};
       const log = createLogger("t", { level: "debug" });
       installProcessGuard(log);
       const s = serveSupervised({ hostname: "127.0.0.1", port: 0, name: "http", log, backoffMs: 20 },
         () => new Response("ok"));
       console.log("port " + s.port);`,
      64,
    );
    try {
      const port = Number((await c.line(/port (\d+)/))[1]);
      const conns = await flood(port, 150);
      await new Promise((r) => setTimeout(r, 300));
      for (const k of conns) k.close();
      assert.equal(await fetchEventually(`http://127.0.0.1:${port}/`), "ok");
      assert.match(c.err(), /out of file descriptors/);
      assert.equal(
        await Promise.race([c.proc.status.then(() => "exited"), Promise.resolve("alive")]),
        "alive",
      );
    } finally {
      await c.stop();
    }
  },
});

Deno.test({
  name: "an unhandled rejection is logged as a bug and does not end the process",
  async fn() {
    const c = child(
      `import { installProcessGuard } from ${JSON.stringify(GUARD)};
       import { createLogger } from ${JSON.stringify(LOG)};
       installProcessGuard(createLogger("t", { level: "debug" }));
       Promise.reject(new RangeError("boom"));
       setTimeout(() => { throw new TypeError("bang"); }, 10);
       setTimeout(() => console.log("still here"), 200);`,
      1024,
    );
    try {
      await c.line(/still here/);
      assert.match(c.err(), /unhandled promise rejection.*boom/s);
      assert.match(c.err(), /uncaught error.*bang/s);
    } finally {
      await c.stop();
    }
  },
});
