/**
 * Harness self-test only: stands in for mod.ts. Serves /api/health and /api/auth/login on
 * PBX_BIND:PBX_HTTP_PORT, writes a marker into PBX_DATA_DIR, exits on SIGTERM.
 * FAKE_APPLIANCE_FAIL=1 makes it exit at once with an error message.
 */
const env = (k: string) => Deno.env.get(k) ?? "";
if (env("FAKE_APPLIANCE_FAIL") === "1") {
  console.error("fake appliance: failing on purpose");
  Deno.exit(3);
}
await Deno.writeTextFile(`${env("PBX_DATA_DIR")}/marker`, env("PBX_SIP_PORT"));
const server = Deno.serve(
  {
    hostname: env("PBX_BIND"),
    port: Number(env("PBX_HTTP_PORT")),
    onListen: () => console.log("fake appliance up"),
  },
  async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/api/health") return Response.json({ ok: true, rtp: env("PBX_RTP_PORTS") });
    if (url.pathname === "/api/auth/login" && req.method === "POST") {
      const body = await req.json();
      if (body.username === "admin" && body.password === env("PBX_ADMIN_PASSWORD")) {
        return Response.json({ token: "tok-123" });
      }
      return Response.json({ error: "bad credentials" }, { status: 401 });
    }
    if (url.pathname === "/api/extensions" && req.method === "POST") {
      if (req.headers.get("authorization") !== "Bearer tok-123") return Response.json({}, { status: 401 });
      return Response.json(await req.json(), { status: 201 });
    }
    return Response.json({ error: "not found" }, { status: 404 });
  },
);
Deno.addSignalListener("SIGTERM", async () => {
  await server.shutdown();
  console.log("fake appliance stopped");
  Deno.exit(0);
});
