/**
 * With PBX_PNP=1 the box also listens for plug-and-play SUBSCRIBEs on 224.0.1.75 at its SIP port:
 * both sockets share the port, and ordinary SIP on the unicast socket keeps working.
 */
import { ok } from "node:assert";
import { startAppliance } from "../_harness/mod.ts";
import { request, statusOf, udpExchange } from "../sip/_raw.ts";

Deno.test("PBX_PNP=1 starts the multicast listener on the SIP port beside the unicast socket", async () => {
  await using app = await startAppliance({ env: { PBX_PNP: "1" } });
  await app.waitForLog(/PnP on multicast|PnP multicast/, 5000);
  const res = await udpExchange(app.sipPort, request("OPTIONS", app.sipPort));
  ok(statusOf(res) === 200, `OPTIONS over unicast still answered: ${res?.slice(0, 60)}`);
});
