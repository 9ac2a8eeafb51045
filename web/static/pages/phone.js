// Browser phone: the signed-in user's extension over SIP WebSocket (JsSIP, served from the box),
// media over WebRTC (DTLS-SRTP to the box, which bridges to ordinary phones).
import "../vendor/jssip.js";
import { api } from "../lib/api.js";
import { $ } from "../lib/dom.js";
import { time } from "../lib/format.js";
import { startPage } from "../lib/page.js";
import { fillTable, row } from "../lib/tables.js";

const JsSIP = globalThis.JsSIP;
let ua = null;
let session = null;
let incoming = null;
let me = null;

const status = (t) => ($("#ph-status").textContent = t);
const callState = (t) => ($("#ph-call-state").textContent = t);

/** What a getUserMedia failure means for the user, in words. */
function micMessage(err) {
  const name = err?.name ?? "";
  if (name === "NotAllowedError" || name === "SecurityError") {
    return "The browser blocked the microphone. Allow microphone access for this site (the lock or camera icon " +
      "in the address bar), then call again.";
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") {
    return "No microphone was found. Plug one in or choose one in the browser's settings, then call again.";
  }
  if (name === "NotReadableError" || name === "AbortError") {
    return "The microphone is in use by another program or could not be started. Close it there and try again.";
  }
  if (!globalThis.isSecureContext) {
    return "Browsers only give the microphone to secure pages: open this page over https://.";
  }
  return `The microphone could not be used: ${err?.message ?? String(err)}`;
}

function showMic(err) {
  const el = $("#ph-mic");
  el.textContent = err === null ? "" : micMessage(err);
  el.hidden = err === null;
}

function setInCall(on) {
  $("#ph-hangup").disabled = !on;
  $("#ph-hold").disabled = !on;
  $("#ph-mute").disabled = !on;
  $("#ph-transfer-btn").disabled = !on;
  $("#ph-dial").disabled = on;
  if (!on) {
    $("#ph-hold").setAttribute("aria-pressed", "false");
    $("#ph-mute").setAttribute("aria-pressed", "false");
    $("#ph-hold").textContent = "Hold";
    $("#ph-mute").textContent = "Mute";
  }
}

function attach(s) {
  session = s;
  const hook = (pc) => {
    pc.addEventListener("track", (t) => {
      const audio = $("#ph-remote");
      audio.srcObject = t.streams[0] ?? new MediaStream([t.track]);
      globalThis.phoneRemoteStream = audio.srcObject; // for tests and diagnostics
    });
  };
  // An outgoing call has its peer connection already (JsSIP emits "peerconnection" inside call()).
  if (s.connection) hook(s.connection);
  else s.on("peerconnection", (e) => hook(e.peerconnection));
  s.on("progress", () => callState("Ringing…"));
  s.on("confirmed", () => {
    callState(`In call with ${s.remote_identity.uri.user}`);
    setInCall(true);
  });
  s.on("hold", () => callState("On hold"));
  s.on("unhold", () => callState(`In call with ${s.remote_identity.uri.user}`));
  const ended = (e) => {
    callState(`Call ended${e?.cause ? ` (${e.cause})` : ""}`);
    if (e?.cause === JsSIP.C.causes.USER_DENIED_MEDIA_ACCESS) {
      showMic(e.message?.error ?? { name: "NotAllowedError" });
    }
    session = null;
    setInCall(false);
    void loadHistory();
  };
  s.on("ended", ended);
  s.on("failed", ended);
}

/** Media options: the microphone, failures explained (getUserMedia errors end the call "failed"). */
function mediaOptions() {
  return {
    mediaConstraints: { audio: true, video: false },
    rtcOfferConstraints: { offerToReceiveAudio: true },
  };
}

async function checkMic() {
  try {
    const s = await navigator.mediaDevices.getUserMedia({ audio: true });
    for (const t of s.getTracks()) t.stop();
    showMic(null);
    return true;
  } catch (e) {
    showMic(e);
    return false;
  }
}

function register(password) {
  ua?.stop();
  const host = location.host;
  const socket = new JsSIP.WebSocketInterface(
    `${location.protocol === "https:" ? "wss" : "ws"}://${host}/ws`,
  );
  const ext = me.extension;
  ua = new JsSIP.UA({
    sockets: [socket],
    uri: `sip:${ext.number}@${ext.realm}`,
    authorization_user: ext.number,
    password,
    display_name: ext.name,
    register: true,
    session_timers: false,
  });
  ua.on("registered", () => status(`Registered as ${ext.number}`));
  ua.on("unregistered", () => status("Not registered"));
  ua.on("registrationFailed", (e) => status(`Registration failed: ${e.cause}`));
  ua.on("disconnected", () => status("Disconnected from the box"));
  ua.on("newRTCSession", (e) => {
    if (e.originator !== "remote") return;
    if (session !== null) {
      e.session.terminate({ status_code: 486 });
      return;
    }
    incoming = e.session;
    $("#ph-caller").textContent = e.request.from.display_name || e.request.from.uri.user;
    $("#ph-incoming").hidden = false;
    callState("Incoming call");
    const clear = () => {
      $("#ph-incoming").hidden = true;
      incoming = null;
    };
    e.session.on("ended", clear);
    e.session.on("failed", (f) => {
      clear();
      if (session === null) callState(`Missed call (${f.cause})`);
    });
    attach(e.session);
    session = null; // not ours until answered
    e.session.on("accepted", () => (session = e.session));
  });
  ua.start();
}

async function loadHistory() {
  try {
    const { items } = await api("GET", "/api/cdr?limit=10");
    fillTable(
      "#ph-history",
      "#ph-history-empty",
      items.map((r) => row({}, [time(r.startedAt), r.caller, r.callee, r.disposition])),
    );
  } catch { /* history is optional */ }
}

async function loadVoicemail() {
  const el = $("#ph-voicemail");
  try {
    const { mailboxes } = await api("GET", "/api/voicemail/mailboxes");
    const box = mailboxes.find((b) => b.mailbox === me.extension.number) ?? mailboxes[0];
    el.textContent = box === undefined
      ? "No mailbox is set up for your extension."
      : `${box.newMessages} new, ${box.oldMessages} saved messages`;
  } catch {
    el.textContent = "Voicemail is not available.";
  }
}

startPage(async () => {
  me = await api("GET", "/api/me");
  if (me.extension === null) {
    $("#ph-ext").textContent = "Your web account has no extension: ask the administrator for one.";
    $("#ph-register-btn").disabled = true;
    return;
  }
  $("#ph-ext").textContent = `Extension ${me.extension.number} (${me.extension.name})`;
  $("#ph-register").addEventListener("submit", (e) => {
    e.preventDefault();
    register($("#ph-password").value);
  });
  for (const b of document.querySelectorAll("#ph-pad button")) {
    b.addEventListener("click", () => {
      const key = b.dataset.key;
      if (session !== null) session.sendDTMF(key, { duration: 160 });
      else $("#ph-number").value += key;
    });
  }
  $("#ph-dial").addEventListener("click", async () => {
    const number = $("#ph-number").value.trim();
    if (ua === null || !ua.isRegistered()) return callState("Register first");
    if (!/^[0-9*#+]{1,32}$/.test(number)) return callState("Enter a number (digits, * and #)");
    if (!(await checkMic())) return;
    callState(`Calling ${number}…`);
    attach(ua.call(`sip:${number}@${me.extension.realm}`, mediaOptions()));
  });
  $("#ph-answer").addEventListener("click", async () => {
    if (incoming === null) return;
    if (!(await checkMic())) return incoming.terminate({ status_code: 480 });
    incoming.answer(mediaOptions());
    $("#ph-incoming").hidden = true;
  });
  $("#ph-decline").addEventListener("click", () => incoming?.terminate({ status_code: 486 }));
  $("#ph-hangup").addEventListener("click", () => session?.terminate());
  $("#ph-hold").addEventListener("click", () => {
    if (session === null) return;
    const held = session.isOnHold().local;
    if (held) session.unhold();
    else session.hold();
    $("#ph-hold").setAttribute("aria-pressed", String(!held));
    $("#ph-hold").textContent = held ? "Hold" : "Resume";
  });
  $("#ph-mute").addEventListener("click", () => {
    if (session === null) return;
    const muted = session.isMuted().audio;
    if (muted) session.unmute({ audio: true });
    else session.mute({ audio: true });
    $("#ph-mute").setAttribute("aria-pressed", String(!muted));
    $("#ph-mute").textContent = muted ? "Mute" : "Unmute";
  });
  $("#ph-transfer").addEventListener("submit", (e) => {
    e.preventDefault();
    const to = $("#ph-transfer-to").value.trim();
    if (session === null || !/^[0-9*#+]{1,32}$/.test(to)) return;
    session.refer(`sip:${to}@${me.extension.realm}`);
    callState(`Transferring to ${to}…`);
  });
  await Promise.all([loadHistory(), loadVoicemail()]);
});
