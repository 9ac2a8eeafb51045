import assert from "node:assert/strict";
import { readTar, TAR_END, tarHeader, tarPadding } from "./_ustar.ts";

function archive(files: { name: string; body: string; mode?: number }[]): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  for (const f of files) {
    const body = new TextEncoder().encode(f.body);
    parts.push(
      tarHeader({ name: f.name, type: "file", size: body.length, mode: f.mode ?? 0o644 }),
      body,
      tarPadding(body.length),
    );
  }
  parts.push(TAR_END);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

async function readAll(bytes: Uint8Array<ArrayBuffer>, chunk = 7) {
  // Feed in odd-sized chunks so headers and bodies straddle reads.
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < bytes.length; i += chunk) c.enqueue(bytes.slice(i, i + chunk));
      c.close();
    },
  });
  const out: { name: string; body: string; mode: number; type: string }[] = [];
  for await (const e of readTar(stream)) {
    let body = "";
    for await (const c of e.body) body += new TextDecoder().decode(c);
    out.push({ name: e.name, body, mode: e.mode, type: e.type });
  }
  return out;
}

Deno.test("ustar round trip: short and pax long names, modes and bodies survive odd chunking", async () => {
  const long = `${"dir/".repeat(40)}file.ts`;
  const files = [
    { name: "a.txt", body: "hello", mode: 0o644 },
    { name: long, body: "x".repeat(1000), mode: 0o755 },
    { name: "empty", body: "", mode: 0o644 },
  ];
  const got = await readAll(archive(files));
  assert.deepEqual(got, files.map((f) => ({ ...f, type: "file" })));
});

Deno.test("ustar reader skips unread bodies", async () => {
  const stream = new Blob([archive([{ name: "a", body: "1".repeat(600) }, { name: "b", body: "2" }])])
    .stream();
  const names: string[] = [];
  for await (const e of readTar(stream)) names.push(e.name);
  assert.deepEqual(names, ["a", "b"]);
});

Deno.test("ustar reader refuses a bad header checksum, a missing end block and a cut body", async () => {
  const good = archive([{ name: "a", body: "hello" }]);
  const bad = good.slice();
  bad[0] = "b".charCodeAt(0);
  await assert.rejects(readAll(bad), /bad checksum/);
  await assert.rejects(readAll(good.slice(0, 1024)), /without its end-of-archive block/);
  await assert.rejects(readAll(good.slice(0, 514)), /truncated: the body of "a" ends/);
  await assert.rejects(readAll(good.slice(0, 300)), /truncated: a header block ends after 300 of 512 bytes/);
});

Deno.test("GNU long names (type L) are read too", async () => {
  const name = "n".repeat(150);
  const nameBytes = new TextEncoder().encode(name + "\0");
  const lHeader = tarHeader({ name: "././@LongLink", type: "file", size: nameBytes.length });
  lHeader[156] = "L".charCodeAt(0);
  lHeader.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of lHeader) sum += b;
  lHeader.set(new TextEncoder().encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
  const rest = archive([{ name: name.slice(0, 99), body: "z" }]);
  const all = new Uint8Array(512 + 512 + rest.length);
  all.set(lHeader, 0);
  all.set(nameBytes, 512);
  all.set(rest, 1024);
  const got = await readAll(all, 512);
  assert.deepEqual(got.map((g) => [g.name, g.body]), [[name, "z"]]);
});
