import assert from "node:assert/strict";
import { webFixture } from "./_test_fixture.ts";

Deno.test("HTTPS responses carry Strict-Transport-Security, plain HTTP ones do not", async () => {
  using f = await webFixture();
  for (const path of ["/api/health", "/", "/api/no-such-route", "/api/auth/me"]) {
    const https = await f.req(`https://pbx.example/${path.slice(1)}`);
    await https.body?.cancel();
    assert.equal(https.headers.get("strict-transport-security"), "max-age=31536000", path);
    const http = await f.req(`http://pbx.example/${path.slice(1)}`);
    await http.body?.cancel();
    assert.equal(http.headers.get("strict-transport-security"), null, path);
  }
});
