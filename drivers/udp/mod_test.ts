import assert from "node:assert/strict";
import { runFdCheck } from "../../tests/_harness/process.ts";
import { available, library, structLayout, UdpPoller } from "./mod.ts";

const skip = !available();
if (skip) console.warn(`drivers/udp tests skipped: ${library.reason() ?? "platform not supported"}`);

function hasGcc(): boolean {
  try {
    return new Deno.Command("gcc", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

const LAYOUT_C = `
#define _GNU_SOURCE
#include <stdio.h>
#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/epoll.h>
int main(void) {
  printf("{\\"sockaddrIn\\":{\\"size\\":%zu,\\"family\\":%zu,\\"port\\":%zu,\\"addr\\":%zu},",
    sizeof(struct sockaddr_in), offsetof(struct sockaddr_in, sin_family),
    offsetof(struct sockaddr_in, sin_port), offsetof(struct sockaddr_in, sin_addr));
  printf("\\"iovec\\":{\\"size\\":%zu,\\"base\\":%zu,\\"len\\":%zu},", sizeof(struct iovec),
    offsetof(struct iovec, iov_base), offsetof(struct iovec, iov_len));
  printf("\\"msghdr\\":{\\"size\\":%zu,\\"name\\":%zu,\\"namelen\\":%zu,\\"iov\\":%zu,\\"iovlen\\":%zu,"
    "\\"control\\":%zu,\\"controllen\\":%zu,\\"flags\\":%zu},", sizeof(struct msghdr),
    offsetof(struct msghdr, msg_name), offsetof(struct msghdr, msg_namelen),
    offsetof(struct msghdr, msg_iov), offsetof(struct msghdr, msg_iovlen),
    offsetof(struct msghdr, msg_control), offsetof(struct msghdr, msg_controllen),
    offsetof(struct msghdr, msg_flags));
  printf("\\"mmsghdr\\":{\\"size\\":%zu,\\"len\\":%zu},", sizeof(struct mmsghdr),
    offsetof(struct mmsghdr, msg_len));
  printf("\\"epollEvent\\":{\\"size\\":%zu,\\"events\\":%zu,\\"data\\":%zu}}\\n",
    sizeof(struct epoll_event), offsetof(struct epoll_event, events), offsetof(struct epoll_event, data));
  printf("CONST %d %d %d %d %d %d %d %d %d\\n", SOCK_NONBLOCK, SOCK_CLOEXEC, MSG_DONTWAIT, MSG_TRUNC,
    EPOLL_CLOEXEC, SO_RCVBUF, SO_SNDBUF, IP_TOS, EPOLLIN);
  return 0;
}
`;

Deno.test({
  name: "struct layouts and constants match what gcc sees on this machine",
  ignore: skip,
  fn: async () => {
    if (!hasGcc()) {
      console.warn("gcc not installed: struct layout check skipped");
      return;
    }
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/layout.c`, LAYOUT_C);
      const cc = await new Deno.Command("gcc", {
        args: ["-o", `${dir}/layout`, `${dir}/layout.c`],
        stderr: "piped",
      }).output();
      assert.ok(cc.success, new TextDecoder().decode(cc.stderr));
      const out = new TextDecoder().decode((await new Deno.Command(`${dir}/layout`).output()).stdout);
      const [json = "", consts = ""] = out.trim().split("\n");
      assert.deepEqual(JSON.parse(json), structLayout());
      // SOCK_NONBLOCK SOCK_CLOEXEC MSG_DONTWAIT MSG_TRUNC EPOLL_CLOEXEC SO_RCVBUF SO_SNDBUF IP_TOS EPOLLIN
      assert.equal(consts, `CONST ${0o4000} ${0o2000000} 64 32 ${0o2000000} 8 7 1 1`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "binding a port that is taken throws AddrInUse and leaks no fd",
  ignore: skip,
  fn: async () => {
    const p = UdpPoller.open();
    try {
      const a = p.bind(0, "127.0.0.1");
      assert.throws(() => p.bind(a.port, "127.0.0.1"), Deno.errors.AddrInUse);
      // The fd count is checked in a process of its own (other test files share this one).
      const leak = await runFdCheck("native-bind-conflict");
      assert.ok(leak.ok, leak.detail);
      assert.throws(() => p.bind(0, "localhost"), TypeError);
      assert.throws(() => p.bind(70000, "127.0.0.1"), RangeError);
      await a.close();
    } finally {
      await p.close();
    }
  },
});

Deno.test({
  name: "1000 datagrams sent in one task arrive intact and in order, in batches",
  ignore: skip,
  fn: async () => {
    // 1000 queued datagrams exceed the default receive buffer (~160 small datagrams on loopback).
    const p = UdpPoller.open({ rcvbuf: 4 << 20 });
    try {
      const a = p.bind(0, "127.0.0.1");
      const b = p.bind(0, "127.0.0.1");
      const got: number[] = [];
      let from = -1;
      const done = Promise.withResolvers<void>();
      b.onMessage((data, remote) => {
        assert.equal(data.length, 172);
        assert.equal(data[171], data[0]);
        got.push(new DataView(data.buffer, data.byteOffset).getUint32(0));
        from = remote.port;
        assert.equal(remote.address, "127.0.0.1");
        if (got.length === 1000) done.resolve();
      });
      const pkt = new Uint8Array(172);
      const dv = new DataView(pkt.buffer);
      for (let i = 0; i < 1000; i++) {
        dv.setUint32(0, i);
        pkt[171] = pkt[0]!;
        assert.ok(a.send(pkt, b.port, "127.0.0.1")); // send copies: reusing pkt is fine
      }
      await done.promise;
      assert.deepEqual(got, Array.from({ length: 1000 }, (_, i) => i));
      assert.equal(from, a.port);
      // 512-slot arena: two flushes, each one sendmmsg (all from one socket).
      assert.ok(p.counters.sendCalls <= 4, `sendmmsg calls: ${p.counters.sendCalls}`);
      assert.ok(p.counters.recvCalls < 1000, `recvmmsg calls: ${p.counters.recvCalls}`);
      assert.equal(a.send(pkt, 0, "127.0.0.1"), false);
      assert.equal(a.send(pkt, 9, "not-an-ip"), false);
      await a.close();
      await b.close();
    } finally {
      await p.close();
    }
  },
});

Deno.test({
  name: "datagrams of changing lengths through one receive slot each arrive with their own length and bytes",
  ignore: skip,
  fn: async () => {
    const p = UdpPoller.open();
    try {
      const a = p.bind(0, "127.0.0.1");
      const b = p.bind(0, "127.0.0.1");
      const lengths = [10, 10, 200, 10, 0, 172, 172, 171];
      const seen: { len: number; ok: boolean; view: Uint8Array }[] = [];
      let arrived = Promise.withResolvers<void>();
      b.onMessage((d) => {
        seen.push({ len: d.length, ok: d.every((x) => x === seen.length), view: d });
        arrived.resolve();
      });
      // One at a time, so every datagram lands in the first slot of the receive arena.
      for (const [i, len] of lengths.entries()) {
        assert.ok(a.send(new Uint8Array(len).fill(i), b.port, "127.0.0.1"));
        await arrived.promise;
        arrived = Promise.withResolvers<void>();
      }
      assert.deepEqual(seen.map((s) => s.len), lengths);
      assert.deepEqual(seen.map((s) => s.ok), lengths.map(() => true));
      // The same length reuses the slot's view (no allocation per datagram); a new length does not.
      assert.equal(seen[1]!.view, seen[0]!.view);
      assert.equal(seen[6]!.view, seen[5]!.view);
      assert.notEqual(seen[2]!.view, seen[1]!.view);
      await a.close();
      await b.close();
    } finally {
      await p.close();
    }
  },
});

Deno.test({
  name: "close frees the fd and stops the poll loop; a later bind restarts it",
  ignore: skip,
  fn: async () => {
    const p = UdpPoller.open();
    try {
      const socks = Array.from({ length: 20 }, () => p.bind(0, "127.0.0.1"));
      for (const s of socks) await s.close();
      await socks[0]!.close(); // twice is fine
      assert.equal(p.sockets, 0);
      const leak = await runFdCheck("native-close");
      assert.ok(leak.ok, leak.detail);
      const a = p.bind(0, "127.0.0.1");
      const got = Promise.withResolvers<number>();
      a.onMessage((d) => got.resolve(d.length));
      a.send(new Uint8Array(5), a.port, "127.0.0.1");
      assert.equal(await got.promise, 5);
      await a.close();
    } finally {
      await p.close();
    }
  },
});

Deno.test({
  name: "paced mode relays too",
  ignore: skip,
  fn: async () => {
    const p = UdpPoller.open({ wait: "paced" });
    try {
      const a = p.bind(0, "127.0.0.1");
      const b = p.bind(0, "127.0.0.1");
      let n = 0;
      const done = Promise.withResolvers<void>();
      b.onMessage(() => {
        if (++n === 100) done.resolve();
      });
      for (let i = 0; i < 100; i++) a.send(new Uint8Array(100), b.port, "127.0.0.1");
      await done.promise;
      await a.close();
      await b.close();
    } finally {
      await p.close();
    }
  },
});

Deno.test({
  name: "a datagram larger than an arena slot is sent on its own",
  ignore: skip,
  fn: async () => {
    const p = UdpPoller.open({ slotBytes: 256 });
    try {
      const a = p.bind(0, "127.0.0.1");
      const b = p.bind(0, "127.0.0.1");
      const got = Promise.withResolvers<number>();
      b.onMessage((d) => got.resolve(d.length));
      assert.ok(a.send(new Uint8Array(200), b.port, "127.0.0.1"));
      assert.equal(await got.promise, 200);
      // Larger than the slot: sent alone (sendto); received truncated, so dropped and counted.
      assert.ok(a.send(new Uint8Array(1000), b.port, "127.0.0.1"));
      while (p.counters.truncated === 0) await new Promise((r) => setTimeout(r, 5));
      await a.close();
      await b.close();
    } finally {
      await p.close();
    }
  },
});

Deno.test({
  name: "sync mode relays on the calling thread, runs loop timers and stops when the last socket closes",
  ignore: skip,
  fn: async () => {
    const p = UdpPoller.open({ wait: "sync", yieldEveryMs: 5 });
    try {
      assert.equal(p.wait, "sync");
      const a = p.bind(0, "127.0.0.1");
      const b = p.bind(0, "127.0.0.1");
      let n = 0;
      const done = Promise.withResolvers<void>();
      b.onMessage((d) => {
        assert.equal(d.length, 100);
        if (++n === 100) done.resolve();
      });
      for (let i = 0; i < 100; i++) a.send(new Uint8Array(100), b.port, "127.0.0.1");
      await done.promise;
      // A loop timer fires while the thread sits in epoll_wait (its own timers would not).
      let ticks = 0;
      const ticked = Promise.withResolvers<void>();
      const t = p.interval(() => {
        if (++ticks === 3) ticked.resolve();
      }, 2);
      await ticked.promise;
      t.clear();
      t.clear(); // twice is fine
      assert.throws(() => p.interval(() => {}, 0), RangeError);
      await a.close();
      await b.close();
      assert.equal(p.sockets, 0);
    } finally {
      await p.close();
    }
  },
});

Deno.test({
  name:
    "sync mode: a wake-up from another thread reaches onWake and the loop yields until its promise settles",
  ignore: skip,
  fn: async () => {
    const p = UdpPoller.open({ wait: "sync", yieldEveryMs: 1000 });
    const w = new Worker(
      `data:application/javascript,${
        encodeURIComponent(`
        import { signalWakeFd } from "${new URL("./mod.ts", import.meta.url).href}";
        self.onmessage = (e) => self.postMessage(signalWakeFd(e.data, 3));
        self.postMessage("ready");
      `)
      }`,
      { type: "module" },
    );
    try {
      await new Promise((r) => w.onmessage = r); // started before this thread blocks
      const a = p.bind(0, "127.0.0.1"); // keeps the loop running, blocked in epoll_wait
      const counts: number[] = [];
      const held = Promise.withResolvers<void>();
      p.onWake((count) => {
        counts.push(count);
        return held.promise;
      });
      // The worker's reply only arrives when this thread's event loop runs: i.e. on the yield.
      const reply = new Promise<boolean>((r) => w.onmessage = (e) => r(e.data));
      w.postMessage(p.wakeFd);
      assert.equal(await reply, true);
      while (counts.length === 0) await new Promise((r) => setTimeout(r, 1));
      assert.deepEqual(counts, [3]);
      held.resolve();
      p.onWake(null);
      await a.close();
    } finally {
      w.terminate();
      await p.close();
    }
  },
});

Deno.test({
  name: "setReceiveBuffer grants at least what rmem_max allows and reads it back; bad sizes are refused",
  ignore: skip,
  fn: async () => {
    const p = UdpPoller.open();
    try {
      const s = p.bind(0, "127.0.0.1");
      const before = s.receiveBuffer();
      const max = Number(Deno.readTextFileSync("/proc/sys/net/core/rmem_max").trim());
      const granted = s.setReceiveBuffer(1 << 20);
      // The kernel reports twice the granted size; past rmem_max only with SO_RCVBUFFORCE (root).
      assert.ok(granted >= 2 * Math.min(1 << 20, max), `granted ${granted}`);
      assert.equal(s.receiveBuffer(), granted);
      assert.ok(granted >= before || before >= 2 * (1 << 20));
      assert.throws(() => s.setReceiveBuffer(0), RangeError);
      await s.close();
      assert.throws(() => s.setReceiveBuffer(1 << 20), /closed/);
    } finally {
      await p.close();
    }
  },
});
