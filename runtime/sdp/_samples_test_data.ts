// Real-world style SDP bodies for the tests (CRLF, in RFC 8866 line order so they round-trip
// byte for byte).

function crlf(lines: string[]): string {
  return lines.map((l) => `${l}\r\n`).join("");
}

/** A Yealink T4x offer. */
export const YEALINK = crlf([
  "v=0",
  "o=- 20040 20040 IN IP4 192.168.1.50",
  "s=SDP data",
  "c=IN IP4 192.168.1.50",
  "t=0 0",
  "m=audio 11780 RTP/AVP 0 8 18 9 101",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:18 G729/8000",
  "a=fmtp:18 annexb=no",
  "a=rtpmap:9 G722/8000",
  "a=fmtp:101 0-15",
  "a=rtpmap:101 telephone-event/8000",
  "a=ptime:20",
  "a=sendrecv",
]);

/** A Polycom VVX offer: session-level direction, G.722.1, telephone-event on 127. */
export const POLYCOM = crlf([
  "v=0",
  "o=- 1611249813 1611249813 IN IP4 10.0.0.23",
  "s=Polycom IP Phone",
  "c=IN IP4 10.0.0.23",
  "t=0 0",
  "a=sendrecv",
  "m=audio 2222 RTP/AVP 9 102 0 8 18 127",
  "a=rtpmap:9 G722/8000",
  "a=rtpmap:102 G7221/16000",
  "a=fmtp:102 bitrate=32000",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:18 G729/8000",
  "a=fmtp:18 annexb=no",
  "a=rtpmap:127 telephone-event/8000",
]);

/** A baresip offer: Opus with fmtp, b=AS, rtcp-mux, explicit a=rtcp. */
export const BARESIP = crlf([
  "v=0",
  "o=- 1947651426 2396218543 IN IP4 127.0.0.1",
  "s=-",
  "c=IN IP4 127.0.0.1",
  "t=0 0",
  "m=audio 10030 RTP/AVP 96 9 0 8 101",
  "b=AS:128",
  "a=rtpmap:96 opus/48000/2",
  "a=fmtp:96 stereo=1;sprop-stereo=1",
  "a=rtpmap:9 G722/8000",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:101 telephone-event/8000",
  "a=fmtp:101 0-16",
  "a=rtcp:10031 IN IP4 127.0.0.1",
  "a=rtcp-mux",
  "a=sendrecv",
  "a=label:1",
]);

/** A browser (WebRTC) offer: Opus 111, telephone-event at 48000 and 8000, SAVPF. */
export const WEBRTC = crlf([
  "v=0",
  "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0",
  "a=msid-semantic: WMS",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
  "c=IN IP4 0.0.0.0",
  "a=rtcp:9 IN IP4 0.0.0.0",
  "a=ice-ufrag:Qb5K",
  "a=ice-pwd:gk0Zk9v8f9Qh3mZ1rWb0Xz3b",
  "a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF",
  "a=setup:actpass",
  "a=mid:0",
  "a=sendrecv",
  "a=rtcp-mux",
  "a=rtpmap:111 opus/48000/2",
  "a=fmtp:111 minptime=10;useinbandfec=1",
  "a=rtpmap:63 red/48000/2",
  "a=fmtp:63 111/111",
  "a=rtpmap:9 G722/8000",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:13 CN/8000",
  "a=rtpmap:110 telephone-event/48000",
  "a=rtpmap:126 telephone-event/8000",
]);

/** The RFC 8866 section 5 example with i=, u=, e=, p=, and a media-level IPv6 c=. */
export const RFC8866 = crlf([
  "v=0",
  "o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1",
  "s=Call to John Smith",
  "i=SDP Offer #1",
  "u=http://www.jdoe.example.com/home.html",
  "e=Jane Doe <jane@jdoe.example.com>",
  "p=+1 617 555-6011",
  "c=IN IP4 198.51.100.1",
  "t=0 0",
  "m=audio 49170 RTP/AVP 0",
  "m=audio 49180 RTP/AVP 0",
  "m=video 51372 RTP/AVP 99",
  "c=IN IP6 2001:db8::2",
  "a=rtpmap:99 h263-1998/90000",
]);

/** Audio plus video from a video phone. */
export const AUDIO_VIDEO = crlf([
  "v=0",
  "o=alice 2890844526 2890844526 IN IP4 203.0.113.5",
  "s=-",
  "c=IN IP4 203.0.113.5",
  "t=0 0",
  "m=audio 49170 RTP/AVP 0 97",
  "a=rtpmap:97 iLBC/8000",
  "m=video 51372 RTP/AVP 31 32",
  "a=rtpmap:31 H261/90000",
  "a=rtpmap:32 MPV/90000",
]);

/** Every sample, by name. */
export const ALL_SAMPLES: Record<string, string> = {
  YEALINK,
  POLYCOM,
  BARESIP,
  WEBRTC,
  RFC8866,
  AUDIO_VIDEO,
};
