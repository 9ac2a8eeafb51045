/**
 * kamailio as the carrier for trunk tests: an in-memory registrar with digest auth (one password
 * for every user), INVITEs from the box challenged (407) and relayed to a far-end UAS (a sipp the
 * test runs), and every
 * other INVITE (a far-end caller) delivered to the box's registered trunk contact, its DID kept in
 * To. Loopback only, its own ports and temp dir.
 * @module
 */
import { freePorts, LoggedProcess, udpBindable } from "../_harness/mod.ts";

/** A running carrier. */
export interface Carrier {
  port: number;
  logs(): string;
  stop(): Promise<void>;
}

/** True when kamailio is installed. */
export function hasKamailio(): boolean {
  try {
    return Deno.statSync("/usr/sbin/kamailio").isFile;
  } catch {
    return false;
  }
}

function config(
  o: { port: number; boxPort: number; uasPort: number; password: string; trunkUser: string },
): string {
  return `#!KAMAILIO
debug=2
log_stderror=yes
children=2
listen=udp:127.0.0.1:${o.port}
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "auth.so"
loadmodule "xlog.so"
modparam("usrloc", "db_mode", 0)

request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    // An ACK of a negative reply is absorbed by its transaction; the ACK of a 2xx goes on to the R-URI.
    if (is_method("ACK")) { if (t_check_trans()) { t_relay(); exit; } forward(); exit; }
    t_relay();
    exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
  if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
  if (is_method("OPTIONS")) { sl_send_reply("200", "OK"); exit; }
  if (is_method("REGISTER")) {
    if (!pv_www_authenticate("$td", "${o.password}", "0")) { www_challenge("$td", "0"); exit; }
    if (!save("location")) { sl_reply_error(); }
    xlog("L_NOTICE", "CARRIER registered $tu\\n");
    exit;
  }
  if (is_method("INVITE")) {
    if ($si == "127.0.0.1" && $sp == ${o.boxPort}) {
      // The carrier challenges the box's calls too (407), as real ones do.
      if (!pv_proxy_authenticate("$fd", "${o.password}", "0")) { proxy_challenge("$fd", "0"); exit; }
      consume_credentials();
      xlog("L_NOTICE", "CARRIER from box: $ru\\n");
      $du = "sip:127.0.0.1:${o.uasPort}";
      t_relay();
      exit;
    }
    $rU = "${o.trunkUser}";
    if (!lookup("location")) { sl_send_reply("404", "Not Found (trunk not registered)"); exit; }
    xlog("L_NOTICE", "CARRIER to box: $ru\\n");
    t_relay();
    exit;
  }
  sl_send_reply("405", "Method Not Allowed");
}
`;
}

/** Start kamailio on a free loopback port; resolves once it listens. */
export async function startCarrier(o: {
  boxPort: number;
  uasPort: number;
  password: string;
  trunkUser: string;
}): Promise<Carrier> {
  const dir = await Deno.makeTempDir({ prefix: "trunk-carrier-" });
  const [port] = await freePorts(1);
  await Deno.writeTextFile(`${dir}/kamailio.cfg`, config({ ...o, port: port! }));
  const proc = new LoggedProcess("/usr/sbin/kamailio", {
    args: [
      "-f",
      `${dir}/kamailio.cfg`,
      "-DD",
      "-E",
      "-m",
      "64",
      "-M",
      "8",
      "-Y",
      dir,
      "-P",
      `${dir}/k.pid`,
      "-w",
      dir,
    ],
    cwd: dir,
    name: "kamailio",
  });
  const stop = async () => {
    await proc.stop().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const until = Date.now() + 15_000;
  while (await udpBindable(port!)) {
    if (proc.status !== undefined || Date.now() > until) {
      await stop();
      throw new Error(`kamailio did not start:\n${proc.tail()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 300));
  return { port: port!, logs: () => proc.logs(), stop };
}
