import assert from "node:assert/strict";
import { runFdCheck } from "../../../tests/_harness/process.ts";
import { available as nativeAvailable } from "../../../drivers/udp/mod.ts";
import { bindRelaySocket, type MediaIoMode, type RelaySocket } from "./_udp.ts";

/** Send `count` numbered 172-byte packets from a to b, `burst` per task, and collect them at b. */
async function relayBurst(a: RelaySocket, b: RelaySocket, count: number, burst: number): Promise<number[]> {
  const got: number[] = [];
  let wake: (() => void) | null = null;
  b.onMessage((data, remote) => {
    assert.equal(remote.port, a.port);
    assert.equal(remote.address, "127.0.0.1");
    assert.equal(data.length, 172);
    got.push(new DataView(data.buffer, data.byteOffset, data.length).getUint32(0));
    wake?.();
  });
  for (let sent = 0; sent < count;) {
    const n = Math.min(burst, count - sent);
    for (let i = 0; i < n; i++) {
      // A fresh buffer per packet: dgram holds it until sent (native copies).
      const pkt = new Uint8Array(172);
      new DataView(pkt.buffer).setUint32(0, sent + i);
      a.send(pkt, b.port, "127.0.0.1");
    }
    sent += n;
    // Wait for the burst before the next one: the default receive buffer holds ~160 datagrams.
    while (got.length < sent) await new Promise<void>((r) => wake = r);
    wake = null;
  }
  return got;
}

for (const io of ["native", "dgram"] as MediaIoMode[]) {
  const ignore = io === "native" && !nativeAvailable();

  Deno.test({
    name: `${io}: binding a taken port rejects, so the port pool can skip it`,
    ignore,
    fn: async () => {
      const a = await bindRelaySocket(0, "127.0.0.1", { io });
      try {
        await assert.rejects(bindRelaySocket(a.port, "127.0.0.1", { io }));
      } finally {
        await a.close();
      }
    },
  });

  Deno.test({
    name: `${io}: 1000 packets between two sockets arrive complete${io === "native" ? " and in order" : ""}`,
    ignore,
    fn: async () => {
      const a = await bindRelaySocket(0, "127.0.0.1", { io });
      const b = await bindRelaySocket(0, "127.0.0.1", { io });
      try {
        const got = await relayBurst(a, b, 1000, 100);
        // Deno 2.9's node:dgram sends the datagrams queued in one task in reverse order (measured).
        if (io === "dgram") got.sort((x, y) => x - y);
        assert.deepEqual(got, Array.from({ length: 1000 }, (_, i) => i));
      } finally {
        await a.close();
        await b.close();
      }
    },
  });

  Deno.test({
    name: `${io}: close frees the socket's fd (/proc/self/fd) and a second close is harmless`,
    ignore,
    fn: async () => {
      // The fd count is checked in a process of its own (other test files share this one).
      const leak = await runFdCheck(`relay-close-${io}`);
      assert.ok(leak.ok, leak.detail);
      const socks = await Promise.all(
        Array.from({ length: 10 }, () => bindRelaySocket(0, "127.0.0.1", { io })),
      );
      for (const s of socks) await s.close();
      await socks[0]!.close();
      // Sending on a closed socket is dropped quietly.
      socks[1]!.send(new Uint8Array(10), 9, "127.0.0.1");
    },
  });
}
