/**
 * sipp scenarios for the voicemail tests, written per test: a caller that plays a list of pcaps
 * (audio, RFC 4733 digits from /usr/share/sip-tester) with pauses, and an MWI watcher that takes N
 * message-summary NOTIFYs then unsubscribes. Files go to a temp dir the caller removes.
 */

const PCAPS = "/usr/share/sip-tester";

/** One step of a caller: a pause, a pcap played as RTP, or RFC 4733 digits (one pcap each). */
export type CallerStep =
  | { pauseMs: number }
  | { pcap: string }
  | { digits: string; gapMs?: number }
  /** A digit as an in-dialog SIP INFO (application/dtmf-relay), expecting 200. */
  | { info: string };

const SDP = `v=0
      o=sipp 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=ptime:20
      a=sendrecv`;

/** The SDP without telephone-event: the box must find the caller's digits in its audio. */
const SDP_NO_TE = SDP.replace(" 8 101", " 8").replace(/\n\s*a=rtpmap:101[^\n]*\n\s*a=fmtp:101[^\n]*/, "");

function invite(cseq: number, auth: boolean, sdp = SDP): string {
  return `  <send retrans="500">
    <![CDATA[

      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Max-Forwards: 70
      From: <sip:[user]@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: ${cseq} INVITE
      Contact: <sip:[user]@[local_ip]:[local_port];transport=[transport]>
${auth ? "      [authentication]\n" : ""}      User-Agent: sipp
      Content-Type: application/sdp
      Content-Length: [len]

      ${sdp}

    ]]>
  </send>
`;
}

/** A 200 OK to the request just received (a NOTIFY, the box's BYE). */
const OK_200 = `  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
`;

function infoRequest(cseq: number, digit: string): string {
  return `  <send retrans="500">
    <![CDATA[

      INFO [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      Max-Forwards: 70
      From: <sip:[user]@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: ${cseq} INFO
      Contact: <sip:[user]@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/dtmf-relay
      Content-Length: [len]

      Signal=${digit}
      Duration=160

    ]]>
  </send>
  <recv response="200" />`;
}

const DIGIT_FILE: Record<string, string> = { "#": "pound", "*": "star" };

/** A caller scenario: INVITE (digest), ACK, the steps, then BYE (`end: "bye"`) or wait for the box's BYE. */
export function callerScenario(
  steps: readonly CallerStep[],
  end: "bye" | "await-bye",
  options: { telephoneEvent?: boolean } = {},
): string {
  const sdp = options.telephoneEvent === false ? SDP_NO_TE : SDP;
  const body: string[] = [];
  let cseq = 3; // in-dialog requests after the INVITE (CSeq 2)
  for (const s of steps) {
    if ("pauseMs" in s) body.push(`  <pause milliseconds="${s.pauseMs}" />`);
    else if ("info" in s) body.push(infoRequest(cseq++, s.info));
    else if ("pcap" in s) {
      body.push(`  <nop><action><exec play_pcap_audio="${s.pcap}" /></action></nop>`);
    } else {
      for (const d of s.digits) {
        body.push(
          `  <nop><action><exec play_pcap_audio="${PCAPS}/dtmf_2833_${
            DIGIT_FILE[d] ?? d
          }.pcap" /></action></nop>`,
          `  <pause milliseconds="${s.gapMs ?? 500}" />`,
        );
      }
    }
  }
  const finish = end === "bye"
    ? `  <send retrans="500">
    <![CDATA[

      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      Max-Forwards: 70
      From: <sip:[user]@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: ${cseq} BYE
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true" />
`
    : `  <recv request="BYE" timeout="30000" />
${OK_200}`;
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="voicemail_caller">
${invite(1, false, sdp)}  <recv response="100" optional="true" />
  <recv response="407" optional="true" auth="true" next="challenged" />
  <recv response="401" auth="true" />
  <label id="challenged" />
  <send>
    <![CDATA[

      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      Max-Forwards: 70
      From: <sip:[user]@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Content-Length: 0

    ]]>
  </send>
${invite(2, true, sdp)}  <recv response="100" optional="true" />
  <recv response="180" optional="true" />
  <recv response="183" optional="true" />
  <recv response="200" rrs="true" />
  <send>
    <![CDATA[

      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      Max-Forwards: 70
      From: <sip:[user]@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 ACK
      Content-Length: 0

    ]]>
  </send>
${body.join("\n")}
${finish}</scenario>
`;
}

function subscribe(cseq: number, expires: number, auth: boolean, to: string): string {
  return `  <send retrans="500">
    <![CDATA[

      SUBSCRIBE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Max-Forwards: 70
      From: <sip:[user]@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]
      To: ${to}
      Call-ID: [call_id]
      CSeq: ${cseq} SUBSCRIBE
      Contact: <sip:[user]@[local_ip]:[local_port];transport=[transport]>
      Event: message-summary
      Accept: application/simple-message-summary
      Expires: ${expires}
${auth ? "      [authentication]\n" : ""}      User-Agent: sipp
      Content-Length: 0

    ]]>
  </send>
  <recv response="100" optional="true" />
`;
}

/** An MWI watcher: subscribe to [service]'s message-summary, take `notifies` NOTIFYs, unsubscribe. */
export function mwiWatcherScenario(notifies: number): string {
  const to = "<sip:[service]@[remote_ip]:[remote_port]>";
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="voicemail_mwi_watcher">
${subscribe(1, 600, false, to)}  <recv response="401" auth="true" />
${subscribe(2, 600, true, to)}  <recv response="200">
    <action>
      <ereg regexp=".*" search_in="hdr" header="To:" check_it="true" assign_to="to_hdr" />
    </action>
  </recv>
${`  <recv request="NOTIFY" timeout="90000" />\n${OK_200}`.repeat(notifies)}${
    subscribe(3, 0, false, "[$to_hdr]")
  }  <recv response="401" auth="true" />
${subscribe(4, 0, true, "[$to_hdr]")}  <recv response="200" />
  <recv request="NOTIFY" />
${OK_200}</scenario>
`;
}
