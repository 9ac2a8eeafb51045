import { deepStrictEqual as assertEquals } from "node:assert";
import { Latch } from "./_latch.ts";

Deno.test("latch takes the first source and keeps accepting it", () => {
  const l = new Latch();
  assertEquals(l.offer("10.0.0.1", 4000, 1, 0), "latched");
  assertEquals(l.offer("10.0.0.1", 4000, 1, 20), "accepted");
  assertEquals([l.address, l.port, l.ssrc], ["10.0.0.1", 4000, 1]);
});

Deno.test("a random source mid-call is rejected while the latched source is alive", () => {
  const l = new Latch({ silenceMs: 500, packets: 3 });
  l.offer("10.0.0.1", 4000, 1, 0);
  let t = 0;
  // The attacker interleaves packets with a new SSRC between the real phone's packets.
  for (let i = 0; i < 50; i++) {
    t += 10;
    assertEquals(l.offer("6.6.6.6", 9999, 77, t), "rejected");
    t += 10;
    assertEquals(l.offer("10.0.0.1", 4000, 1, t), "accepted");
  }
  // Same SSRC from elsewhere (spoofed) is rejected too.
  assertEquals(l.offer("6.6.6.6", 9999, 1, t + 1), "rejected");
  assertEquals([l.address, l.port], ["10.0.0.1", 4000]);
});

Deno.test("relatch after the latched source has been silent for silenceMs", () => {
  const l = new Latch({ silenceMs: 500 });
  l.offer("10.0.0.1", 4000, 1, 0);
  assertEquals(l.offer("10.0.0.1", 5000, 1, 499), "rejected");
  assertEquals(l.offer("10.0.0.1", 5000, 1, 500), "relatched"); // NAT rebinding
  assertEquals([l.port, l.ssrc], [5000, 1]);
});

Deno.test("relatch to a new source with a new SSRC after consecutive packets", () => {
  const l = new Latch({ silenceMs: 10_000, packets: 3 });
  l.offer("10.0.0.1", 4000, 1, 0);
  assertEquals(l.offer("10.0.0.2", 4000, 2, 1), "rejected");
  assertEquals(l.offer("10.0.0.2", 4000, 2, 2), "rejected");
  assertEquals(l.offer("10.0.0.2", 4000, 2, 3), "relatched");
  assertEquals([l.address, l.ssrc], ["10.0.0.2", 2]);
});

Deno.test("reset forgets the latched source", () => {
  const l = new Latch();
  l.offer("10.0.0.1", 4000, 1, 0);
  l.reset();
  assertEquals(l.address, null);
  assertEquals(l.offer("10.0.0.3", 1, 3, 1), "latched");
});
