/**
 * Bencode (BitTorrent encoding) and a tiny rtpengine ng-protocol client over UDP: enough for the
 * relay benchmark's offer/answer/delete.
 *
 * @module
 */
import dgram from "node:dgram";
import { Buffer } from "node:buffer";

/** A bencode value: byte strings come back as JS strings (latin1). */
export type BValue = string | number | BValue[] | { [k: string]: BValue };

/** Encodes a value; dictionary keys are sorted as the format requires. */
export function bencode(v: BValue): string {
  if (typeof v === "number") {
    if (!Number.isInteger(v)) throw new RangeError(`bencode: not an integer: ${v}`);
    return `i${v}e`;
  }
  if (typeof v === "string") return `${Buffer.byteLength(v, "latin1")}:${v}`;
  if (Array.isArray(v)) return `l${v.map(bencode).join("")}e`;
  return `d${Object.keys(v).sort().map((k) => bencode(k) + bencode(v[k]!)).join("")}e`;
}

/** Decodes one value from `s` (latin1 text); SyntaxError on malformed input. */
export function bdecode(s: string): BValue {
  let i = 0;
  const parse = (): BValue => {
    const c = s[i];
    if (c === "i") {
      const end = s.indexOf("e", i);
      if (end < 0) throw new SyntaxError(`bencode: unterminated integer at ${i}`);
      const n = Number(s.slice(i + 1, end));
      i = end + 1;
      return n;
    }
    if (c === "l" || c === "d") {
      i++;
      const items: BValue[] = [];
      while (s[i] !== "e") {
        if (i >= s.length) throw new SyntaxError("bencode: unterminated list/dict");
        items.push(parse());
      }
      i++;
      if (c === "l") return items;
      const d: Record<string, BValue> = {};
      for (let k = 0; k + 1 < items.length; k += 2) d[String(items[k])] = items[k + 1]!;
      return d;
    }
    const colon = s.indexOf(":", i);
    const len = Number(s.slice(i, colon));
    if (colon < 0 || !Number.isInteger(len)) throw new SyntaxError(`bencode: bad string length at ${i}`);
    const str = s.slice(colon + 1, colon + 1 + len);
    i = colon + 1 + len;
    return str;
  };
  return parse();
}

/** An rtpengine ng control client on a UDP socket. */
export class NgClient {
  #sock = dgram.createSocket("udp4");
  #pending = new Map<string, (v: Record<string, BValue>) => void>();
  #seq = 0;

  private constructor(private host: string, private port: number) {
    this.#sock.on("message", (msg: Buffer) => {
      const text = msg.toString("latin1");
      const sp = text.indexOf(" ");
      const cookie = text.slice(0, sp);
      const resolve = this.#pending.get(cookie);
      if (resolve === undefined) return;
      this.#pending.delete(cookie);
      resolve(bdecode(text.slice(sp + 1)) as Record<string, BValue>);
    });
  }

  /** Opens a client for rtpengine's --listen-ng address. */
  static async open(host: string, port: number): Promise<NgClient> {
    const c = new NgClient(host, port);
    await new Promise<void>((r) => c.#sock.bind(0, "127.0.0.1", () => r()));
    return c;
  }

  /** Sends a command and waits (with retries) for its answer; Error when result is not "ok"/"pong". */
  async command(cmd: Record<string, BValue>, timeoutMs = 3000): Promise<Record<string, BValue>> {
    const cookie = `c${process.pid}_${++this.#seq}`;
    const payload = Buffer.from(`${cookie} ${bencode(cmd)}`, "latin1");
    const answer = new Promise<Record<string, BValue>>((resolve) => this.#pending.set(cookie, resolve));
    const deadline = Date.now() + timeoutMs;
    while (true) {
      this.#sock.send(payload, this.port, this.host);
      const r = await Promise.race([answer, new Promise<null>((res) => setTimeout(() => res(null), 500))]);
      if (r !== null) {
        if (r.result !== "ok" && r.result !== "pong") {
          throw new Error(`rtpengine ${String(cmd.command)}: ${JSON.stringify(r)}`);
        }
        return r;
      }
      if (Date.now() > deadline) {
        this.#pending.delete(cookie);
        throw new Error(`rtpengine ${String(cmd.command)}: no answer within ${timeoutMs} ms`);
      }
    }
  }

  /** Closes the socket. */
  close(): void {
    this.#sock.close();
  }
}

/** The port of the first m=audio line of an SDP. */
export function sdpAudioPort(sdp: string): number {
  const m = sdp.match(/^m=audio (\d+) /m);
  if (m === null) throw new SyntaxError(`no m=audio line in SDP: ${sdp.slice(0, 200)}`);
  return Number(m[1]);
}
