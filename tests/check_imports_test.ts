import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { collectFiles, findViolations, type SourceFile } from "./check_imports.ts";

function file(path: string, imports: string[] = [], source = ""): SourceFile {
  return { path, imports, source };
}

function rules(files: SourceFile[]): string[] {
  return findViolations(files).map((v) => `${v.rule} ${v.file} -> ${v.target ?? ""}`);
}

Deno.test("imports that point down are accepted", () => {
  assertEquals(
    rules([
      file("mod.ts", ["appliance/mod.ts"]),
      file("appliance/mod.ts", ["web/mod.ts", "runtime/sip/mod.ts", "drivers/opus/mod.ts", "npm:hono@4"]),
      file("runtime/call/leg.ts", ["runtime/sdp/mod.ts", "runtime/media/mod.ts", "runtime/sip/mod.ts"]),
      file("runtime/sip/transport/udp.ts", [
        "runtime/sip/message/mod.ts",
        "runtime/clock/mod.ts",
        "node:dgram",
      ]),
      file("runtime/media/codec/opus.ts", ["drivers/opus/mod.ts"]),
      file("web/app.ts", ["runtime/registrar/mod.ts", "runtime/call/mod.ts", "runtime/storage/mod.ts"]),
      file("drivers/opus/mod.ts", [], "const lib = Deno.dlopen('libopus.so.0', {});"),
    ]),
    [],
  );
});

Deno.test("an upward import is reported with both layers named", () => {
  const v = findViolations([file("runtime/sip/dialog/dialog.ts", ["runtime/call/mod.ts"])]);
  assertEquals(v.length, 1);
  assertEquals(
    v[0]?.message,
    "runtime/sip/dialog/dialog.ts imports runtime/call/mod.ts: layer runtime/sip may not import layer " +
      "runtime/call (imports point down)",
  );
});

Deno.test("sip importing media and media importing sip are both sideways violations", () => {
  assertEquals(
    rules([
      file("runtime/sip/a.ts", ["runtime/media/rtp/mod.ts"]),
      file("runtime/media/b.ts", ["runtime/sip/message/mod.ts"]),
      file("runtime/sip/c.ts", ["runtime/sdp/mod.ts"]),
    ]),
    [
      "sideways runtime/sip/a.ts -> runtime/media/rtp/mod.ts",
      "sideways runtime/media/b.ts -> runtime/sip/message/mod.ts",
      "sideways runtime/sip/c.ts -> runtime/sdp/mod.ts",
    ],
  );
});

Deno.test("one feature importing another is reported; its own folder is fine", () => {
  assertEquals(
    rules([
      file("runtime/features/voicemail/box.ts", [
        "runtime/features/voicemail/_store.ts",
        "runtime/call/mod.ts",
      ]),
      file("runtime/features/ivr/menu.ts", ["runtime/features/voicemail/mod.ts"]),
    ]),
    ["feature runtime/features/ivr/menu.ts -> runtime/features/voicemail/mod.ts"],
  );
});

Deno.test("web and provisioning may not reach SIP, media, drivers or registrar internals", () => {
  assertEquals(
    rules([
      file("web/a.ts", ["runtime/sip/message/mod.ts", "runtime/media/mod.ts", "drivers/alsa/mod.ts"]),
      file("provisioning/b.ts", ["runtime/registrar/registrar.ts", "runtime/registrar/mod.ts"]),
    ]),
    [
      "forbidden web/a.ts -> runtime/sip/message/mod.ts",
      "forbidden web/a.ts -> runtime/media/mod.ts",
      "forbidden web/a.ts -> drivers/alsa/mod.ts",
      "forbidden provisioning/b.ts -> runtime/registrar/registrar.ts",
    ],
  );
});

Deno.test("web and provisioning are siblings", () => {
  assertEquals(rules([file("web/a.ts", ["provisioning/mod.ts"])]), [
    "sideways web/a.ts -> provisioning/mod.ts",
  ]);
});

Deno.test("Deno.dlopen outside drivers is reported, but not in a comment or in tests", () => {
  assertEquals(
    rules([
      file("runtime/media/codec/opus.ts", [], "export const l = Deno.dlopen(path, symbols);"),
      file(
        "runtime/media/codec/g722.ts",
        [],
        "/** Loaded by drivers/ with Deno.dlopen. */\n// Deno.dlopen\n",
      ),
      file("runtime/media/codec/opus_test.ts", [], "Deno.dlopen('x', {})"),
      file("tests/ffi_probe.ts", [], "Deno.dlopen('x', {})"),
    ]),
    ["dlopen runtime/media/codec/opus.ts -> "],
  );
});

Deno.test("test files are exempt from layering", () => {
  assertEquals(
    rules([
      file("runtime/sip/transport/udp_test.ts", ["runtime/media/mod.ts", "tests/_harness/mod.ts"]),
      file("tests/e2e/call_test.ts", ["appliance/mod.ts", "runtime/sip/mod.ts"]),
    ]),
    [],
  );
});

Deno.test("production code importing tests or a folder outside the table is reported", () => {
  assertEquals(
    rules([
      file("runtime/call/a.ts", ["tests/_harness/mod.ts", "scripts/x.ts"]),
      file("runtime/newthing/b.ts", []),
    ]),
    [
      "tests runtime/call/a.ts -> tests/_harness/mod.ts",
      "unlisted runtime/call/a.ts -> scripts/x.ts",
      "unlisted runtime/newthing/b.ts -> ",
    ],
  );
});

Deno.test("a _private file imported from outside its folder is reported", () => {
  assertEquals(
    rules([
      file("runtime/sip/transaction/client.ts", ["runtime/sip/transaction/_timers.ts"]),
      file("runtime/sip/dialog/dialog.ts", ["runtime/sip/transaction/_timers.ts"]),
    ]),
    ["private runtime/sip/dialog/dialog.ts -> runtime/sip/transaction/_timers.ts"],
  );
});

Deno.test("external specifiers (npm:, node:) are ignored", () => {
  assertEquals(rules([file("runtime/clock/mod.ts", ["npm:hono@4.13.19", "node:sqlite", "data:x"])]), []);
});

Deno.test("collectFiles resolves imports through deno info, type-only and unparsable files included", async () => {
  const root = await Deno.makeTempDir({ prefix: "check_imports_" });
  try {
    await Deno.mkdir(`${root}/runtime/sip`, { recursive: true });
    await Deno.mkdir(`${root}/runtime/media`, { recursive: true });
    await Deno.writeTextFile(
      `${root}/runtime/sip/a.ts`,
      `const re = /["']/;\nimport type { B } from "../media/b.ts";\nexport const a: B = re.source.length;\n`,
    );
    await Deno.writeTextFile(`${root}/runtime/media/b.ts`, `export type B = number;\n`);
    await Deno.writeTextFile(`${root}/runtime/media/c.ts`, `export const = ;\nimport "../sip/a.ts";\n`);
    const { files, warnings } = await collectFiles(root);
    assertEquals(files.map((f) => [f.path, f.imports]), [
      ["runtime/media/b.ts", []],
      ["runtime/media/c.ts", ["runtime/sip/a.ts"]],
      ["runtime/sip/a.ts", ["runtime/media/b.ts"]],
    ]);
    assertEquals(warnings.length, 1);
    assertEquals(findViolations(files).map((v) => v.rule), ["sideways", "sideways"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
