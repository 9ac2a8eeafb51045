// deno bench runtime/sip/message/message_bench.ts -- parse/serialize cost of typical PBX traffic.
import { createResponse, parseMessage, serializeMessage, type SipRequest, StreamFramer } from "./mod.ts";

const enc = new TextEncoder();
const REGISTER = enc.encode(
  "REGISTER sip:pbx.local SIP/2.0\r\n" +
    "Via: SIP/2.0/UDP 192.168.1.50:5060;rport;branch=z9hG4bK-524287-1---a8d1b7e3b2a1c9f0\r\n" +
    "Max-Forwards: 70\r\n" +
    'Contact: <sip:201@192.168.1.50:5060;rinstance=8f7d4c2b1a0e9f8d;transport=UDP>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"\r\n' +
    "To: <sip:201@pbx.local>\r\n" +
    "From: <sip:201@pbx.local>;tag=3a9f5c1e\r\n" +
    "Call-ID: ZDk1NzU3ZDk5YjE0ZTFjNjM4YzM0OWQ2ZTc0ZWY2ODQ\r\n" +
    "CSeq: 2 REGISTER\r\n" +
    "Expires: 3600\r\n" +
    "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE\r\n" +
    "Supported: replaces, norefersub, extended-refer, timer, outbound, path, X-cisco-serviceuri\r\n" +
    "User-Agent: Yealink SIP-T46S 66.86.0.15\r\n" +
    'Authorization: Digest username="201",realm="pbx.local",nonce="5f2b8c7d",uri="sip:pbx.local",response="0123456789abcdef0123456789abcdef",algorithm=MD5\r\n' +
    "Allow-Events: presence, kpml, talk\r\n" +
    "Content-Length: 0\r\n\r\n",
);
const req = parseMessage(REGISTER) as SipRequest;

Deno.bench("parseMessage REGISTER (~900 bytes)", () => {
  parseMessage(REGISTER);
});
Deno.bench("createResponse + serializeMessage 200 OK", () => {
  serializeMessage(createResponse(req, 200, { toTag: "abc123" }));
});
Deno.bench("StreamFramer 10 REGISTERs in one chunk", () => {
  const f = new StreamFramer();
  for (let i = 0; i < 10; i++) f.push(REGISTER);
  while (f.next() !== undefined) { /* drain */ }
});
