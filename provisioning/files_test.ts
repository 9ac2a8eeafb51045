import { assert, assertEquals, assertIncludes, assertNotIncludes } from "./_test_assert.ts";
import { serveProvisioningFile, tftpResolver } from "./files.ts";
import { startTftpServer } from "./tftp/server.ts";
import { tftpGet } from "./tftp/_test_client.ts";
import { fakeData } from "./_test_data.ts";

Deno.test("TFTP serves generated device files and records the fetch", async () => {
  const f = fakeData();
  const server = await startTftpServer({ bind: "127.0.0.1", port: 0, resolve: tftpResolver(f.data) });
  try {
    const r = await tftpGet(server.port, "spac0ffee000001.xml", { options: { blksize: "1428", tsize: "0" } });
    assert(r.ok);
    assertIncludes(new TextDecoder().decode(r.data), "<Password_1_>s3cr3t&amp;pw</Password_1_>");
    const miss = await tftpGet(server.port, "nothing.here");
    assertEquals(miss.ok, false);
    assertEquals(f.fetches.map((x) => [x.protocol, x.status, x.secrets]), [["tftp", 200, true], [
      "tftp",
      404,
      false,
    ]]);
    assertEquals(f.fetches[0]!.address, "127.0.0.1");
  } finally {
    await server.close();
  }
});

Deno.test("serveProvisioningFile refuses traversal before routing and hands unknown MACs no password", () => {
  const f = fakeData();
  const bad = serveProvisioningFile("../001565aabbcc.cfg", f.data, { protocol: "http", address: "x" });
  assertEquals(bad.status, 400);
  const unknown = serveProvisioningFile("cfg00aabbccddee", f.data, { protocol: "tftp", address: "x" });
  assert(unknown.status === 200);
  assertNotIncludes(new TextDecoder().decode(unknown.body), "<P34>");
  assertEquals(f.discovered.length, 1);
});
