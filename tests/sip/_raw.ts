/** Raw SIP over UDP and TCP for tests that send what no well-behaved phone would. */
import dgram from "node:dgram";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Send one datagram to 127.0.0.1:port; resolve with the first reply, or undefined after `waitMs`. */
export function udpExchange(
  port: number,
  message: string | Uint8Array,
  waitMs = 1500,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket("udp4");
    const done = (v: string | undefined) => {
      clearTimeout(timer);
      sock.close();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), waitMs);
    sock.on("message", (m) => done(dec.decode(m)));
    sock.on("error", () => done(undefined));
    sock.bind(0, "127.0.0.1", () => {
      const data = typeof message === "string" ? enc.encode(message) : message;
      sock.send(data, port, "127.0.0.1");
    });
  });
}

/** Send bytes over a fresh TCP connection; resolve with what came back within `waitMs`. */
export async function tcpExchange(
  port: number,
  message: string | Uint8Array,
  waitMs = 1500,
): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const data = typeof message === "string" ? enc.encode(message) : message;
    // The box may answer (513) and close before reading everything: a write error is fine then.
    await conn.write(data).catch(() => {});
    let out = "";
    const buf = new Uint8Array(65536);
    const until = Date.now() + waitMs;
    while (Date.now() < until) {
      const n = await Promise.race([
        conn.read(buf).catch(() => null),
        new Promise<"t">((r) => setTimeout(() => r("t"), Math.max(1, until - Date.now()))),
      ]);
      if (n === "t" || n === null) break;
      out += dec.decode(buf.subarray(0, n));
      if (/\r\n\r\n/.test(out)) break;
    }
    return out;
  } finally {
    try {
      conn.close();
    } catch { /* already closed by the box */ }
  }
}

/** A minimal well-formed request with the given method and extra headers. */
export function request(
  method: string,
  port: number,
  extra: string[] = [],
  body = "",
  transport: "UDP" | "TCP" = "UDP",
): string {
  const branch = `z9hG4bK${crypto.randomUUID().slice(0, 12)}`;
  return [
    `${method} sip:201@127.0.0.1:${port} SIP/2.0`,
    `Via: SIP/2.0/${transport} 127.0.0.1:9;branch=${branch};rport`,
    `Max-Forwards: 70`,
    `From: <sip:tester@127.0.0.1>;tag=t${branch.slice(7)}`,
    `To: <sip:201@127.0.0.1>`,
    `Call-ID: ${crypto.randomUUID()}`,
    `CSeq: 1 ${method}`,
    ...extra,
    `Content-Length: ${enc.encode(body).length}`,
    ``,
    body,
  ].join("\r\n");
}

/** The status code of a response text. */
export function statusOf(text: string | undefined): number | undefined {
  const m = text ? /^SIP\/2\.0 (\d{3})/.exec(text) : null;
  return m ? Number(m[1]) : undefined;
}
