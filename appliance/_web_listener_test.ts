import assert from "node:assert/strict";
import net from "node:net";
import { createLogger } from "../runtime/log/mod.ts";
import { serveWeb, type ServeWebOptions } from "./_web_listener.ts";

function logged() {
  const lines: string[] = [];
  return { lines, log: createLogger("t", { level: "debug", sink: (l) => lines.push(l) }) };
}

async function eventually(fn: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (fn()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A raw TCP client from `localAddress`; records whether the server closed it and what it sent. */
async function rawClient(port: number, localAddress = "127.0.0.1") {
  const s = net.connect({ host: "127.0.0.1", port, localAddress });
  const state = { closed: false, text: "" };
  s.on("data", (b: Uint8Array) => state.text += new TextDecoder().decode(b));
  s.on("close", () => state.closed = true);
  s.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    s.once("connect", () => resolve());
    s.once("error", reject);
  });
  return { s, state, write: (t: string) => s.write(t), destroy: () => s.destroy() };
}

async function withListener(
  limits: Partial<ServeWebOptions>,
  handler: Parameters<typeof serveWeb>[1],
  fn: (port: number, lines: string[]) => Promise<void>,
) {
  const { lines, log } = logged();
  const l = serveWeb({ hostname: "127.0.0.1", port: 0, name: "http", log, ...limits }, handler);
  try {
    await fn(l.port, lines);
  } finally {
    await l.stop();
  }
}

const hello = (req: Request, info: { remoteAddr: Deno.NetAddr }) =>
  new Response(`hello ${info.remoteAddr.hostname} ${new URL(req.url).pathname}`);

Deno.test("web: requests are served with the client's address", async () => {
  await withListener({}, hello, async (port) => {
    const r = await fetch(`http://127.0.0.1:${port}/x`);
    assert.equal(await r.text(), "hello 127.0.0.1 /x");
  });
});

Deno.test("web: one source cannot hold more than maxPerSource connections; another source is served", async () => {
  await withListener({ maxPerSource: 3 }, hello, async (port, lines) => {
    const flood: Awaited<ReturnType<typeof rawClient>>[] = [];
    for (let i = 0; i < 6; i++) flood.push(await rawClient(port));
    await eventually(() => flood.filter((c) => c.state.closed).length === 3, "three refused");
    assert.ok(lines.some((l) => /per-source connection limit reached/.test(l)), lines.join("\n"));
    const other = await rawClient(port, "127.0.0.2");
    other.write("GET /y HTTP/1.1\r\nHost: box\r\nConnection: close\r\n\r\n");
    await eventually(() => other.state.text.includes("hello 127.0.0.2 /y"), "the other source's answer");
    for (const c of [...flood, other]) c.destroy();
  });
});

Deno.test("web: headers trickled byte by byte do not keep a connection open (slowloris)", async () => {
  await withListener({ headerMs: 300, idleMs: 60_000 }, hello, async (port, lines) => {
    const c = await rawClient(port);
    const text = "GET / HTTP/1.1\r\nHost: box\r\nX-Slow: " + "a".repeat(500);
    let i = 0;
    const t = setInterval(() => !c.state.closed && i < text.length && c.write(text[i++]!), 20);
    try {
      await eventually(() => c.state.closed, "the header deadline");
    } finally {
      clearInterval(t);
    }
    assert.ok(lines.some((l) => /no complete request headers in time/.test(l)), lines.join("\n"));
    c.destroy();
  });
});

Deno.test("web: an idle keep-alive connection is closed, a long response in progress is not", async () => {
  const handler = (req: Request) => {
    if (new URL(req.url).pathname !== "/slow") return new Response("ok");
    // A stream that takes longer than the idle time (like the live-status event stream).
    let n = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(ctl) {
        await new Promise((r) => setTimeout(r, 100));
        ctl.enqueue(new TextEncoder().encode(`tick${n}\n`));
        if (++n === 6) ctl.close();
      },
    });
    return new Response(body);
  };
  await withListener({ idleMs: 200, headerMs: 200 }, handler, async (port) => {
    const idle = await rawClient(port);
    idle.write("GET / HTTP/1.1\r\nHost: box\r\n\r\n");
    await eventually(() => idle.state.text.includes("ok"), "the first answer");
    await eventually(() => idle.state.closed, "the idle close");
    const r = await fetch(`http://127.0.0.1:${port}/slow`);
    assert.match(await r.text(), /tick5/);
    idle.destroy();
  });
});
