/**
 * SIP over WebSocket (RFC 7118) on the web ports: `GET /ws` with `Upgrade: websocket` and the
 * `sip` subprotocol becomes a SIP connection of the transport layer (`ws` on HTTP, `wss` on HTTPS).
 * Requests on it are authenticated like any other (REGISTER and INVITE get the digest challenge),
 * so a browser phone registers as its extension. A request without the `sip` subprotocol, or one
 * that is not an upgrade, gets 400/426 with words saying what is missing.
 */
import type { TransportLayer } from "../runtime/sip/mod.ts";
import type { Logger } from "../runtime/log/mod.ts";
import { keepOpenUntil } from "./_web_listener.ts";

/** The path browser phones connect to (`wss://box/ws`). */
export const SIP_WS_PATH = "/ws";

/** Answer `req` when it is for the SIP WebSocket; undefined for every other request. */
export function sipWebSocket(
  req: Request,
  remote: { hostname: string; port: number },
  secure: boolean,
  deps: { transports: () => TransportLayer | undefined; log: Logger },
): Response | undefined {
  const url = new URL(req.url);
  if (url.pathname !== SIP_WS_PATH) return undefined;
  const text = (status: number, message: string, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify({ error: message }), {
      status,
      headers: { "content-type": "application/json", ...headers },
    });
  if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return text(426, "SIP over WebSocket: this path takes a WebSocket upgrade (subprotocol sip)", {
      upgrade: "websocket",
    });
  }
  const protocols = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
  if (!protocols.includes("sip")) {
    deps.log.info("SIP WebSocket refused: no sip subprotocol", { source: remote.hostname });
    return text(400, 'SIP over WebSocket needs the subprotocol "sip" (RFC 7118)');
  }
  const transports = deps.transports();
  if (transports === undefined) return text(503, "SIP is not running");
  const { socket, response } = Deno.upgradeWebSocket(req, { protocol: "sip", idleTimeout: 120 });
  transports.attachWebSocket(socket, { address: remote.hostname, port: remote.port }, secure);
  const ended = new Promise<void>((resolve) => {
    socket.addEventListener("close", () => resolve());
    socket.addEventListener("error", () => resolve());
  });
  deps.log.info("SIP WebSocket connected", { source: `${remote.hostname}:${remote.port}`, secure });
  void ended.then(() =>
    deps.log.info("SIP WebSocket closed", { source: `${remote.hostname}:${remote.port}` })
  );
  return keepOpenUntil(response, ended);
}
