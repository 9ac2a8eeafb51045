import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { getHeader, MessageTooLargeError, type StreamFrame, StreamFramer } from "./mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function options(callId: string, body = "", extra = ""): string {
  return "OPTIONS sip:pbx@example.com SIP/2.0\r\n" +
    "Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK" + callId + "\r\n" +
    "To: <sip:pbx@example.com>\r\nFrom: <sip:a@example.com>;tag=1\r\n" +
    `Call-ID: ${callId}\r\nCSeq: 1 OPTIONS\r\n${extra}Content-Length: ${
      enc.encode(body).length
    }\r\n\r\n${body}`;
}

function drain(f: StreamFramer): StreamFrame[] {
  const out: StreamFrame[] = [];
  for (let item = f.next(); item !== undefined; item = f.next()) out.push(item);
  return out;
}

Deno.test("two messages in one chunk come out one by one with their bodies", () => {
  const f = new StreamFramer();
  f.push(enc.encode(options("c1", "hello") + options("c2")));
  const items = drain(f);
  strictEqual(items.length, 2);
  strictEqual(getHeader(items[0]!.message!, "Call-ID"), "c1");
  strictEqual(dec.decode(items[0]!.message!.body), "hello");
  strictEqual(getHeader(items[1]!.message!, "Call-ID"), "c2");
  strictEqual(f.buffered, 0);
});

Deno.test("a message split byte by byte is framed once complete", () => {
  const f = new StreamFramer();
  const bytes = enc.encode(options("c1", "body!"));
  const items: StreamFrame[] = [];
  for (let i = 0; i < bytes.length; i++) {
    f.push(bytes.subarray(i, i + 1));
    items.push(...drain(f));
    if (i < bytes.length - 1) strictEqual(items.length, 0);
  }
  strictEqual(items.length, 1);
  deepStrictEqual(items[0]!.raw, bytes);
  strictEqual(dec.decode(items[0]!.message!.body), "body!");
});

Deno.test("CRLFCRLF keep-alive is reported as a ping; stray CRLFs are skipped", () => {
  const f = new StreamFramer();
  f.push(enc.encode("\r\n\r\n"));
  deepStrictEqual(drain(f).map((i) => i.ping), [true]);
  f.push(enc.encode("\r\n"));
  strictEqual(f.next(), undefined); // could be the start of another ping
  f.push(enc.encode(options("c3")));
  const items = drain(f);
  strictEqual(items.length, 1);
  strictEqual(getHeader(items[0]!.message!, "Call-ID"), "c3");
  f.push(enc.encode("\r\n\r\n" + options("c4") + "\r\n\r\n"));
  deepStrictEqual(drain(f).map((i) => i.ping ? "ping" : getHeader(i.message!, "Call-ID")), [
    "ping",
    "c4",
    "ping",
  ]);
});

Deno.test("an invalid but well-framed message yields a non-fatal error and framing continues", () => {
  const f = new StreamFramer();
  f.push(enc.encode(options("c1").replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE") + options("c2")));
  const items = drain(f);
  strictEqual(items.length, 2);
  strictEqual(items[0]!.fatal, false);
  strictEqual(items[0]!.error!.status, 400);
  strictEqual(getHeader(items[0]!.error!.partial!, "Call-ID"), "c1");
  strictEqual(getHeader(items[1]!.message!, "Call-ID"), "c2");
});

Deno.test("missing Content-Length on a stream is a fatal error with partial", () => {
  const f = new StreamFramer();
  f.push(enc.encode(options("c1").replace(/Content-Length: 0\r\n/, "") + options("c2")));
  const items = drain(f);
  strictEqual(items.length, 1);
  strictEqual(items[0]!.fatal, true);
  ok(items[0]!.error!.message.includes("Content-Length"));
  strictEqual(getHeader(items[0]!.error!.partial!, "Call-ID"), "c1");
  ok(f.broken);
  f.push(enc.encode(options("c3")));
  strictEqual(f.next(), undefined);
});

Deno.test("negative Content-Length on a stream is fatal", () => {
  const f = new StreamFramer();
  f.push(enc.encode(options("c1").replace("Content-Length: 0", "Content-Length: -5")));
  const item = f.next()!;
  strictEqual(item.fatal, true);
  strictEqual(item.error!.status, 400);
});

Deno.test("a message over maxMessageSize gives MessageTooLargeError (513) with partial", () => {
  const f = new StreamFramer({ maxMessageSize: 1000 });
  f.push(enc.encode(options("big", "x".repeat(2000))));
  const item = f.next()!;
  ok(item.error instanceof MessageTooLargeError);
  strictEqual(item.error.status, 513);
  strictEqual(item.fatal, true);
  strictEqual(getHeader(item.error.partial!, "Call-ID"), "big");
});

Deno.test("endless headers without an empty line hit the size limit", () => {
  const f = new StreamFramer({ maxMessageSize: 1000 });
  f.push(enc.encode("OPTIONS sip:x@y SIP/2.0\r\n"));
  for (let i = 0; i < 100 && f.next() === undefined; i++) {
    f.push(enc.encode(`X-Filler-${i}: ${"y".repeat(20)}\r\n`));
  }
  ok(f.broken);
});

Deno.test("a garbage start line on a stream is fatal; maxMessageSize is validated", () => {
  const f = new StreamFramer();
  f.push(enc.encode("\x16\x03\x01 hello\r\n\r\n"));
  strictEqual(f.next()!.fatal, true);
  throws(() => new StreamFramer({ maxMessageSize: 0 }), RangeError);
});

Deno.test("the framer's buffer grows and compacts across many messages", () => {
  const f = new StreamFramer();
  let count = 0;
  for (let i = 0; i < 200; i++) {
    const bytes = enc.encode(options(`c${i}`, "z".repeat(i * 7)));
    const cut = Math.floor(bytes.length / 3);
    f.push(bytes.subarray(0, cut));
    count += drain(f).length;
    f.push(bytes.subarray(cut));
    for (const item of drain(f)) {
      strictEqual(getHeader(item.message!, "Call-ID"), `c${count}`);
      count++;
    }
  }
  strictEqual(count, 200);
});
