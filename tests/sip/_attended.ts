/**
 * sipp scenarios for attended transfer (RFC 5589) through the box, written per test: the
 * transferor's two calls are two sipp processes. The "holder" places the consultation call and
 * writes its dialog (Call-ID;to-tag;from-tag, the box's tag as the to-tag) to a file once the box
 * answers (or rings, for semi-attended); the "referrer" places the other call and sends REFER with
 * `Refer-To: <sip:N@box?Replaces=...>` built from that file.
 */

const SDP = `v=0
      o=sipp 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=ptime:20
      a=${"[direction]"}`;

const FROM = "From: <sip:[user]@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]";

function invite(cseq: number, auth: boolean, direction = "sendrecv", extra: readonly string[] = []): string {
  return `  <send retrans="500">
    <![CDATA[

      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Max-Forwards: 70
      ${FROM}
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: ${cseq} INVITE
      Contact: <sip:[user]@[local_ip]:[local_port];transport=[transport]>
${extra.map((h) => `      ${h}\n`).join("")}${
    auth ? "      [authentication]\n" : ""
  }      Content-Type: application/sdp
      Content-Length: [len]

      ${SDP.replace("[direction]", direction)}

    ]]>
  </send>
`;
}

function inDialog(method: string, cseq: number, extra: string[] = [], body = ""): string {
  return `  <send retrans="500">
    <![CDATA[

      ${method} [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      Max-Forwards: 70
      ${FROM}
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: ${cseq} ${method}
      Contact: <sip:[user]@[local_ip]:[local_port];transport=[transport]>
${extra.map((h) => `      ${h}\n`).join("")}${
    body ? "      Content-Type: application/sdp\n" : ""
  }      Content-Length: [len]
${body ? `\n      ${body}\n` : ""}
    ]]>
  </send>
`;
}

const OK = `  <send>
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

const ACK2 = (cseq: number) =>
  `  <send>
    <![CDATA[

      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      Max-Forwards: 70
      ${FROM}
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: ${cseq} ACK
      Content-Length: 0

    ]]>
  </send>
`;

/** INVITE with the digest challenge answered; ends after the 401/407 ACK and the second INVITE. */
function challenged(extra: readonly string[] = []): string {
  return `${invite(1, false, "sendrecv", extra)}  <recv response="100" optional="true" />
  <recv response="407" optional="true" auth="true" next="challenged" />
  <recv response="401" auth="true" />
  <label id="challenged" />
  <send>
    <![CDATA[

      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      Max-Forwards: 70
      ${FROM}
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Content-Length: 0

    ]]>
  </send>
${invite(2, true, "sendrecv", extra)}  <recv response="100" optional="true" />
`;
}

/**
 * A picker: INVITE with `Replaces: <replaces>` (RFC 3891; none when ""), expecting `status`; on 200 it ACKs,
 * talks `talkMs` and hangs up.
 */
export function pickerScenario(replaces: string, status: number, talkMs = 1000): string {
  const end = status === 200
    ? `  <recv response="180" optional="true" />
  <recv response="200" rrs="true" />
${ACK2(2)}  <pause milliseconds="${talkMs}" />
${inDialog("BYE", 3)}  <recv response="200" crlf="true" />
`
    : `  <recv response="${status}" />
  <send>
    <![CDATA[

      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      Max-Forwards: 70
      ${FROM}
      [last_To:]
      Call-ID: [call_id]
      CSeq: 2 ACK
      Content-Length: 0

    ]]>
  </send>
`;
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="picker">
${challenged(replaces === "" ? [] : [`Replaces: ${replaces}`])}${end}</scenario>
`;
}

/** A callee that rings (writing its early dialog, Call-ID;to-tag;from-tag as it sees them, to `file`) until CANCEL. */
export function ringingCallee(file: string): string {
  return Deno.readTextFileSync(new URL("../sipp/uas_ring_no_answer.xml", import.meta.url))
    .replace(
      "<action>",
      `<action>
      <ereg regexp="tag=([^;> ]*)" search_in="hdr" header="From:" check_it="true" assign_to="ftag_all,ftag" />`,
    )
    .replace(
      '<recv request="CANCEL" />',
      `<nop>
    <action>
      <exec command="echo '[call_id];to-tag=[pid]SIPpTag01[call_number];from-tag=[$ftag]' > ${file}" />
    </action>
  </nop>
  <recv request="CANCEL" />
  <Reference variables="ftag_all" />`,
    );
}

const TAG =
  `<ereg regexp="tag=([^;> ]*)" search_in="hdr" header="To:" check_it="true" assign_to="totag_all,totag" />`;

function writeDialog(file: string): string {
  return `<exec command="echo '[call_id];to-tag=[$totag];from-tag=[pid]SIPpTag00[call_number]' > ${file}" />`;
}

/**
 * The consultation call: answered (the dialog goes to `file` after the 200), then the box's BYE
 * (the replaced dialog). `semi`: the dialog is written at the 180 and the INVITE then ends 487.
 */
export function holderScenario(file: string, options: { semi?: boolean } = {}): string {
  const body = options.semi
    ? `  <recv response="180">
    <action>
      ${TAG}
      ${writeDialog(file)}
    </action>
  </recv>
  <recv response="487" />
  <send>
    <![CDATA[

      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      Max-Forwards: 70
      ${FROM}
      [last_To:]
      Call-ID: [call_id]
      CSeq: 2 ACK
      Content-Length: 0

    ]]>
  </send>
`
    : `  <recv response="180" optional="true" />
  <recv response="200" rrs="true">
    <action>
      ${TAG}
      ${writeDialog(file)}
    </action>
  </recv>
${ACK2(2)}  <recv request="BYE" timeout="30000" />
${OK}`;
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="attended_holder">
${challenged()}${body}  <Reference variables="totag_all,totag" />
</scenario>
`;
}

/**
 * The call the transferor REFERs on: answered, optionally held first (re-INVITE a=sendonly), then
 * the REFERs in `refers` (each expecting its status; a 202 takes NOTIFY sipfrag 100 and 200), then
 * BYE (RFC 5589 section 7.1: the transferor hangs up after NOTIFY 200).
 */
export function referrerScenario(
  refers: readonly { referTo: string; status: number }[],
  options: { hold?: boolean } = {},
): string {
  let cseq = 3;
  const parts: string[] = [];
  if (options.hold) {
    parts.push(
      inDialog("INVITE", cseq, [], SDP.replace("[direction]", "sendonly")),
      `  <recv response="100" optional="true" />
  <recv response="200" />
${ACK2(cseq)}  <pause milliseconds="500" />
`,
    );
    cseq++;
  }
  for (const r of refers) {
    parts.push(
      inDialog("REFER", cseq++, [
        `Refer-To: ${r.referTo}`,
        "Referred-By: <sip:[user]@[remote_ip]:[remote_port]>",
      ]),
      `  <recv response="${r.status}" />
`,
    );
    if (r.status === 202) {
      for (const frag of [100, 200]) {
        parts.push(`  <recv request="NOTIFY" crlf="true">
    <action>
      <ereg regexp="SIP/2.0 ${frag} " search_in="body" check_it="true" assign_to="frag${cseq}_${frag}" />
    </action>
  </recv>
${OK}  <Reference variables="frag${cseq}_${frag}" />
`);
      }
    }
  }
  parts.push(
    inDialog("BYE", cseq++),
    `  <recv response="200" crlf="true" />
`,
  );
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="attended_referrer">
${challenged().replace(/\[direction\]/g, "sendrecv")}  <recv response="180" optional="true" />
  <recv response="200" rrs="true" />
${ACK2(2)}  <pause milliseconds="300" />
${parts.join("")}</scenario>
`;
}

/** A Refer-To naming `number` with the dialog read from a holder's file (URI-escaped Replaces). */
export function referTo(target: string, number: string, dialog: string): string {
  const escaped = dialog.trim().replace(/%/g, "%25").replace(/;/g, "%3B").replace(/=/g, "%3D").replace(
    /@/g,
    "%40",
  );
  return `<sip:${number}@${target}?Replaces=${escaped}>`;
}
