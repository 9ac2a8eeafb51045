/** A tiny TFTP read client for tests (not part of the public API). */
import dgram from "node:dgram";
import type { Buffer } from "node:buffer";
import { decodePacket, encodeAck, encodeRequest } from "./packet.ts";

/** Result of a test download. */
export type GetResult =
  | { ok: true; data: Uint8Array; oack: Map<string, string> | null; serverPort: number }
  | { ok: false; code: number; message: string };

/** Download `file` from 127.0.0.1:port. Acks once per window (RFC 7440). */
export function tftpGet(
  port: number,
  file: string,
  opts: {
    options?: Record<string, string>;
    mode?: string;
    windowsize?: number;
    raw?: Uint8Array;
    /** Source address to bind (another loopback address stands for another host). */
    localAddress?: string;
  } = {},
): Promise<GetResult> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket("udp4");
    const chunks: Uint8Array[] = [];
    let expected = 1; // absolute block wanted next
    let blksize = 512;
    let window = opts.windowsize ?? 1;
    let serverPort = -1;
    let oack: Map<string, string> | null = null;
    let sinceAck = 0;
    const guard = setTimeout(() => finish(new Error(`tftpGet ${file}: no answer`)), 15000);
    function finish(result: GetResult | Error) {
      clearTimeout(guard);
      sock.close();
      if (result instanceof Error) reject(result);
      else resolve(result);
    }
    sock.on("message", (msg: Buffer, rinfo: dgram.RemoteInfo) => {
      if (serverPort === -1) serverPort = rinfo.port;
      const p = decodePacket(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength));
      const ack = (n: number, then?: () => void) =>
        sock.send(encodeAck(n & 0xffff), serverPort, "127.0.0.1", () => then?.());
      if (p.op === "error") return finish({ ok: false, code: p.code, message: p.message });
      if (p.op === "oack") {
        oack = p.options;
        blksize = Number(p.options.get("blksize") ?? 512);
        window = Number(p.options.get("windowsize") ?? 1);
        return ack(0);
      }
      if (p.op !== "data") return;
      if (p.block !== (expected & 0xffff)) return; // duplicate or out of order: wait
      chunks.push(p.data.slice());
      const last = p.data.length < blksize;
      sinceAck++;
      if (!last && sinceAck >= window) {
        ack(expected);
        sinceAck = 0;
      }
      expected++;
      if (last) {
        // Close only after the final ACK has left, or the server never sees it.
        const total = chunks.reduce((n, c) => n + c.length, 0);
        const data = new Uint8Array(total);
        let o = 0;
        for (const c of chunks) {
          data.set(c, o);
          o += c.length;
        }
        ack(expected - 1, () => finish({ ok: true, data, oack, serverPort }));
      }
    });
    sock.bind(0, opts.localAddress ?? "127.0.0.1", () => {
      const req = opts.raw ?? encodeRequest("rrq", file, {
        ...(opts.mode ? { mode: opts.mode } : {}),
        ...(opts.options ? { options: opts.options } : {}),
      });
      sock.send(req, port, "127.0.0.1");
    });
  });
}

/** Send one raw datagram and wait for the first answer (or null after `waitMs`). */
export function sendRaw(port: number, packet: Uint8Array, waitMs = 2000): Promise<Uint8Array | null> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket("udp4");
    const timer = setTimeout(() => {
      sock.close();
      resolve(null);
    }, waitMs);
    sock.on("message", (msg: Buffer) => {
      clearTimeout(timer);
      sock.close();
      resolve(new Uint8Array(msg));
    });
    sock.bind(0, "127.0.0.1", () => sock.send(packet, port, "127.0.0.1"));
  });
}
