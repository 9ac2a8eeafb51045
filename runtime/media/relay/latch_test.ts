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

Deno.test("in the relatch window: relatch after silence, or after consecutive packets of a new SSRC", () => {
  const l = new Latch({ silenceMs: 500 });
  l.offer("10.0.0.1", 4000, 1, 0);
  assertEquals(l.offer("10.0.0.1", 5000, 1, 499), "rejected");
  assertEquals(l.offer("10.0.0.1", 5000, 1, 500), "relatched");
  assertEquals([l.port, l.ssrc], [5000, 1]);
  const m = new Latch({ silenceMs: 10_000, packets: 3 });
  m.offer("10.0.0.1", 4000, 1, 0);
  assertEquals(m.offer("10.0.0.2", 4000, 2, 1), "rejected");
  assertEquals(m.offer("10.0.0.2", 4000, 2, 2), "rejected");
  assertEquals(m.offer("10.0.0.2", 4000, 2, 3), "relatched");
  assertEquals([m.address, m.ssrc], ["10.0.0.2", 2]);
});

Deno.test("a packet from the signalled address wins the window and locks the latch", () => {
  const l = new Latch();
  l.reset({ address: "10.0.0.1", port: 4000 });
  assertEquals(l.offer("6.6.6.6", 9999, 77, 0), "latched"); // an early spray gets there first
  assertEquals(l.offer("10.0.0.1", 4000, 1, 5), "relatched"); // the phone, from its SDP address
  assertEquals(l.open, false);
  for (let i = 0; i < 20; i++) assertEquals(l.offer("6.6.6.6", 9999, 77, 6 + i), "rejected");
  assertEquals([l.address, l.port], ["10.0.0.1", 4000]);
});

Deno.test("after the window a burst of a new SSRC never takes over, however long the source is silent", () => {
  const l = new Latch({ silenceMs: 500, packets: 5, windowPackets: 10 });
  let t = 0;
  for (let i = 0; i < 10; i++) l.offer("10.0.0.1", 4000, 1, t += 20);
  assertEquals(l.open, false);
  // Five (or five hundred) packets between two 20 ms packets: the old hijack.
  for (let i = 0; i < 500; i++) assertEquals(l.offer("6.6.6.6", 9999, 77, t + 1), "rejected");
  // Silence (hold, DTX) does not open the door either.
  for (let i = 0; i < 100; i++) assertEquals(l.offer("6.6.6.6", 9999, 77, t + 10_000 + i * 20), "rejected");
  assertEquals([l.address, l.port, l.ssrc], ["10.0.0.1", 4000, 1]);
});

Deno.test("the window also closes windowMs after its first packet", () => {
  const l = new Latch({ windowMs: 1000, silenceMs: 500 });
  l.offer("10.0.0.1", 4000, 1, 0);
  assertEquals(l.open, true);
  assertEquals(l.offer("10.0.0.2", 4000, 2, 1000), "rejected"); // silent 1000 ms, but the window is over
  assertEquals(l.open, false);
});

Deno.test("a NAT rebind with the same SSRC and a sustained stream moves a locked latch", () => {
  const l = new Latch({ rebindPackets: 10, rebindMs: 200 });
  let t = 0;
  for (let i = 0; i < 10; i++) l.offer("10.0.0.1", 4000, 0xfedcba98, t += 20);
  assertEquals(l.open, false);
  // A burst with the right SSRC is not sustained: rejected.
  for (let i = 0; i < 20; i++) assertEquals(l.offer("10.0.0.1", 4100, 0xfedcba98, t + 1), "rejected");
  // The old source speaks again: the candidate starts over.
  assertEquals(l.offer("10.0.0.1", 4000, 0xfedcba98, t += 20), "accepted");
  // The phone's NAT rebinds: same SSRC every 20 ms from a new port, old port silent.
  const decisions: string[] = [];
  for (let i = 0; i < 12; i++) decisions.push(l.offer("10.0.0.1", 4200, 0xfedcba98, t += 20));
  assertEquals(decisions.indexOf("relatched"), 10); // 11th packet: 10 counted over 200 ms
  assertEquals([l.port, l.ssrc], [4200, 0xfedcba98]);
});

Deno.test("a strict latch (SRTP) does not rebind; a reset opens a new window", () => {
  const l = new Latch({ strict: true, rebindPackets: 2, rebindMs: 0 });
  let t = 0;
  for (let i = 0; i < 10; i++) l.offer("10.0.0.1", 4000, 1, t += 20);
  for (let i = 0; i < 50; i++) assertEquals(l.offer("10.0.0.1", 4200, 1, t += 20), "rejected");
  l.reset({ address: "10.0.0.9", port: 7000 });
  assertEquals(l.address, null);
  assertEquals(l.open, true);
  assertEquals(l.offer("10.0.0.9", 7000, 3, t += 20), "latched");
  assertEquals(l.open, false);
});

Deno.test("reset forgets the latched source", () => {
  const l = new Latch();
  l.offer("10.0.0.1", 4000, 1, 0);
  l.reset();
  assertEquals(l.address, null);
  assertEquals(l.offer("10.0.0.3", 1, 3, 1), "latched");
});
