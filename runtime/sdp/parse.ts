/**
 * SDP text <-> model (RFC 8866). Parsing is tolerant of LF-only line ends, blank lines, unknown
 * line types and out-of-order session lines; it throws SyntaxError naming the line otherwise.
 */

import type {
  Attribute,
  Bandwidth,
  Connection,
  MediaDescription,
  Origin,
  OtherLine,
  SessionDescription,
  Timing,
} from "./types.ts";

// Upper bound on what we parse: SDP bodies are a few kB; this stops pathological inputs.
const MAX_SDP_CHARS = 256 * 1024;

function fail(lineNo: number, message: string, line: string): never {
  const shown = line.length > 80 ? `${line.slice(0, 80)}...` : line;
  throw new SyntaxError(`SDP line ${lineNo}: ${message}: ${JSON.stringify(shown)}`);
}

function fields(value: string): string[] {
  return value.split(/[ \t]+/).filter((f) => f !== "");
}

function parseUint(
  text: string,
  lineNo: number,
  line: string,
  what: string,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (!/^\d{1,20}$/.test(text)) fail(lineNo, `${what} is not a number`, line);
  const n = Number(text);
  if (n > max) fail(lineNo, `${what} out of range`, line);
  return n;
}

function parseOrigin(value: string, lineNo: number, line: string): Origin {
  const f = fields(value);
  if (f.length !== 6) fail(lineNo, "o= needs 6 fields", line);
  const [username, sessionId, sessionVersion, netType, addrType, address] = f as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return { username, sessionId, sessionVersion, netType, addrType, address };
}

function parseConnection(value: string, lineNo: number, line: string): Connection {
  const f = fields(value);
  if (f.length !== 3) fail(lineNo, "c= needs 3 fields", line);
  const [netType, addrType, address] = f as [string, string, string];
  return { netType, addrType, address };
}

function parseBandwidth(value: string, lineNo: number, line: string): Bandwidth {
  const colon = value.indexOf(":");
  if (colon <= 0) fail(lineNo, "b= needs <type>:<value>", line);
  return {
    type: value.slice(0, colon),
    value: parseUint(value.slice(colon + 1).trim(), lineNo, line, "bandwidth"),
  };
}

function parseAttribute(value: string): Attribute {
  const colon = value.indexOf(":");
  if (colon < 0) return { name: value.trim() };
  return { name: value.slice(0, colon).trim(), value: value.slice(colon + 1) };
}

function parseMedia(value: string, lineNo: number, line: string): MediaDescription {
  const f = fields(value);
  if (f.length < 3) fail(lineNo, "m= needs <media> <port> <proto> <fmt>...", line);
  const [type, portText, protocol] = f as [string, string, string];
  const slash = portText.indexOf("/");
  const media: MediaDescription = {
    type,
    port: parseUint(slash < 0 ? portText : portText.slice(0, slash), lineNo, line, "port", 65535),
    protocol,
    formats: f.slice(3),
    bandwidths: [],
    attributes: [],
  };
  if (slash >= 0) media.portCount = parseUint(portText.slice(slash + 1), lineNo, line, "port count", 65535);
  return media;
}

/**
 * Parse an SDP body. Throws SyntaxError ("SDP line N: ...") on lines that are not `x=value`,
 * a missing or wrong `v=`/`o=`, and malformed `o=`, `c=`, `b=`, `t=` or `m=` lines.
 */
export function parseSdp(text: string): SessionDescription {
  if (typeof text !== "string") throw new SyntaxError(`SDP must be text, got ${typeof text}`);
  if (text.length > MAX_SDP_CHARS) throw new SyntaxError(`SDP too large: ${text.length} characters`);
  const lines = text.split("\n");
  let sd: SessionDescription | undefined;
  let origin: Origin | undefined;
  let media: MediaDescription | undefined;
  let sawVersion = false;
  let sawName = false;
  for (let index = 0; index < lines.length; index++) {
    const lineNo = index + 1;
    let line = lines[index]!;
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (line.trim() === "") continue;
    if (line.length < 2 || line[1] !== "=" || !/^[a-zA-Z]$/.test(line[0]!)) {
      fail(lineNo, 'expected "<type>=<value>"', line);
    }
    const type = line[0]!;
    const value = line.slice(2);
    if (!sawVersion) {
      if (type !== "v") fail(lineNo, "SDP must start with v=", line);
      if (value.trim() !== "0") fail(lineNo, "unsupported SDP version", line);
      sawVersion = true;
      continue;
    }
    if (origin === undefined) {
      if (type !== "o") fail(lineNo, "expected o= after v=", line);
      origin = parseOrigin(value, lineNo, line);
      sd = { version: 0, origin, sessionName: "-", bandwidths: [], timing: [], attributes: [], media: [] };
      continue;
    }
    const session = sd!;
    if (type === "m") {
      media = parseMedia(value, lineNo, line);
      session.media.push(media);
      continue;
    }
    if (media !== undefined) {
      switch (type) {
        case "i":
          media.information = value;
          break;
        case "c":
          media.connection ??= parseConnection(value, lineNo, line);
          break;
        case "b":
          media.bandwidths.push(parseBandwidth(value, lineNo, line));
          break;
        case "k":
          media.key = value;
          break;
        case "a":
          media.attributes.push(parseAttribute(value));
          break;
        default:
          (media.otherLines ??= []).push({ type, value });
      }
      continue;
    }
    switch (type) {
      case "v":
        fail(lineNo, "repeated v=", line);
        break;
      case "o":
        fail(lineNo, "repeated o=", line);
        break;
      case "s":
        if (sawName) fail(lineNo, "repeated s=", line);
        sawName = true;
        session.sessionName = value;
        break;
      case "i":
        session.information = value;
        break;
      case "u":
        session.uri = value;
        break;
      case "e":
        (session.emails ??= []).push(value);
        break;
      case "p":
        (session.phones ??= []).push(value);
        break;
      case "c":
        session.connection = parseConnection(value, lineNo, line);
        break;
      case "b":
        session.bandwidths.push(parseBandwidth(value, lineNo, line));
        break;
      case "t": {
        const f = fields(value);
        if (f.length !== 2) fail(lineNo, "t= needs <start> <stop>", line);
        session.timing.push({
          start: parseUint(f[0]!, lineNo, line, "start time"),
          stop: parseUint(f[1]!, lineNo, line, "stop time"),
          repeats: [],
        });
        break;
      }
      case "r": {
        const last: Timing | undefined = session.timing[session.timing.length - 1];
        if (last === undefined) fail(lineNo, "r= before any t=", line);
        last.repeats.push(value);
        break;
      }
      case "z":
        session.timeZones = value;
        break;
      case "k":
        session.key = value;
        break;
      case "a":
        session.attributes.push(parseAttribute(value));
        break;
      default:
        (session.otherLines ??= []).push({ type, value });
    }
  }
  if (!sawVersion) throw new SyntaxError("SDP is empty: no v= line");
  if (sd === undefined) throw new SyntaxError("SDP has no o= line");
  // t= is mandatory but some stacks omit it; "0 0" (unbounded) is what they mean.
  if (sd.timing.length === 0) sd.timing.push({ start: 0, stop: 0, repeats: [] });
  return sd;
}

function connectionLine(c: Connection): string {
  return `c=${c.netType} ${c.addrType} ${c.address}\r\n`;
}

function attributeLines(attributes: readonly Attribute[]): string {
  let out = "";
  for (const a of attributes) out += a.value === undefined ? `a=${a.name}\r\n` : `a=${a.name}:${a.value}\r\n`;
  return out;
}

function otherLines(lines: readonly OtherLine[] | undefined): string {
  let out = "";
  for (const l of lines ?? []) out += `${l.type}=${l.value}\r\n`;
  return out;
}

/** Serialize in RFC 8866 line order with CRLF line ends. */
export function serializeSdp(sd: SessionDescription): string {
  const o = sd.origin;
  let out = `v=${sd.version}\r\n` +
    `o=${o.username} ${o.sessionId} ${o.sessionVersion} ${o.netType} ${o.addrType} ${o.address}\r\n` +
    `s=${sd.sessionName === "" ? "-" : sd.sessionName}\r\n`;
  if (sd.information !== undefined) out += `i=${sd.information}\r\n`;
  if (sd.uri !== undefined) out += `u=${sd.uri}\r\n`;
  for (const e of sd.emails ?? []) out += `e=${e}\r\n`;
  for (const p of sd.phones ?? []) out += `p=${p}\r\n`;
  if (sd.connection !== undefined) out += connectionLine(sd.connection);
  for (const b of sd.bandwidths) out += `b=${b.type}:${b.value}\r\n`;
  const timing = sd.timing.length > 0 ? sd.timing : [{ start: 0, stop: 0, repeats: [] }];
  for (const t of timing) {
    out += `t=${t.start} ${t.stop}\r\n`;
    for (const r of t.repeats) out += `r=${r}\r\n`;
  }
  if (sd.timeZones !== undefined) out += `z=${sd.timeZones}\r\n`;
  if (sd.key !== undefined) out += `k=${sd.key}\r\n`;
  out += otherLines(sd.otherLines);
  out += attributeLines(sd.attributes);
  for (const m of sd.media) {
    const port = m.portCount === undefined ? `${m.port}` : `${m.port}/${m.portCount}`;
    out += `m=${m.type} ${port} ${m.protocol}${m.formats.map((f) => ` ${f}`).join("")}\r\n`;
    if (m.information !== undefined) out += `i=${m.information}\r\n`;
    if (m.connection !== undefined) out += connectionLine(m.connection);
    for (const b of m.bandwidths) out += `b=${b.type}:${b.value}\r\n`;
    if (m.key !== undefined) out += `k=${m.key}\r\n`;
    out += otherLines(m.otherLines);
    out += attributeLines(m.attributes);
  }
  return out;
}
