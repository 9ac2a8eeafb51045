/**
 * Phone keys (BLF, speed dial, park), voicemail number, MWI subscription and BLF pickup code in
 * each vendor's own syntax: the exact lines / XML of the shipped templates.
 */
import { assertEquals, assertIncludes, assertNotIncludes } from "../_test_assert.ts";
import { generateFile, routeRequest } from "./generate.ts";
import { fakeData } from "../_test_data.ts";
import type { Device, LineKey, ServerSettings } from "../types.ts";

const KEYS: LineKey[] = [
  { type: "blf", value: "202", label: "Bob" },
  { type: "speeddial", value: "*98", label: "Any VM" },
  { type: "park", value: "701", label: "Park 1" },
];

function render(
  file: string,
  device: Device,
  server: Partial<ServerSettings> = {},
): string {
  const f = fakeData({ devices: [device], server });
  const route = routeRequest(file, { deviceVendor: (m) => f.data.device(m)?.vendor });
  if (!route) throw new Error(`no route for ${file}`);
  const r = generateFile(route, f.data, { now: Date.UTC(2026, 0, 15) });
  if ("status" in r) throw new Error(`refused: ${r.status} ${r.reason}`);
  return new TextDecoder().decode(r.body);
}

/** The lines of `text` that start with `prefix`, in order. */
function lines(text: string, prefix: string): string[] {
  return text.split("\n").map((l) => l.trim()).filter((l) => l.startsWith(prefix));
}

Deno.test("Yealink: linekey types 16/13/10, MWI subscription, *97 voicemail, ** BLF pickup", () => {
  const out = render("001565aabbcc.cfg", {
    mac: "001565aabbcc",
    vendor: "yealink",
    model: "T46U",
    extension: "201",
    lineKeys: KEYS,
  });
  assertEquals(lines(out, "linekey."), [
    "linekey.2.type = 16",
    "linekey.2.line = 1",
    "linekey.2.value = 202",
    "linekey.2.label = Bob",
    "linekey.3.type = 13",
    "linekey.3.line = 1",
    "linekey.3.value = *98",
    "linekey.3.label = Any VM",
    "linekey.4.type = 10",
    "linekey.4.line = 1",
    "linekey.4.value = 701",
    "linekey.4.label = Park 1",
  ]);
  assertEquals(lines(out, "account.1.subscribe_mwi"), [
    "account.1.subscribe_mwi = 1",
    "account.1.subscribe_mwi_to_vm = 1",
  ]);
  assertEquals(lines(out, "voice_mail."), ["voice_mail.number.1 = *97"]);
  assertEquals(lines(out, "features.pickup."), [
    "features.pickup.direct_pickup_enable = 1",
    "features.pickup.direct_pickup_code = **",
  ]);
});

Deno.test("Yealink: edited feature codes reach the file; an unassigned phone gets no MWI", () => {
  const out = render("001565aabbcc.cfg", {
    mac: "001565aabbcc",
    vendor: "yealink",
    extension: "201",
    lineKeys: [],
  }, { voicemailNumber: "*50", directedPickupPrefix: "*21" });
  assertIncludes(out, "voice_mail.number.1 = *50\n");
  assertIncludes(out, "features.pickup.direct_pickup_code = *21\n");
  assertNotIncludes(out, "linekey.");
  const bare = render("001565aabbcc.cfg", { mac: "001565aabbcc", vendor: "yealink", extension: null });
  assertNotIncludes(bare, "subscribe_mwi");
  assertNotIncludes(bare, "voice_mail.number");
});

Deno.test("Polycom: attendant resources normal (BLF) and automata (park), MWI and pickup string", () => {
  const out = render("0004f2aabbcc-pbx.cfg", {
    mac: "0004f2aabbcc",
    vendor: "polycom",
    model: "VVX410",
    extension: "201",
    lineKeys: [KEYS[0]!, KEYS[2]!],
  });
  assertEquals(lines(out, "attendant."), [
    'attendant.reg="1"',
    'attendant.resourceList.1.address="202"',
    'attendant.resourceList.1.label="Bob"',
    'attendant.resourceList.1.type="normal"',
    'attendant.resourceList.2.address="701"',
    'attendant.resourceList.2.label="Park 1"',
    'attendant.resourceList.2.type="automata"',
  ]);
  assertEquals(lines(out, "msg.mwi."), [
    'msg.mwi.1.subscribe="201"',
    'msg.mwi.1.callBackMode="contact"',
    'msg.mwi.1.callBack="*97"',
  ]);
  assertEquals(lines(out, "call.directedCallPickup"), [
    'call.directedCallPickupMethod="legacy"',
    'call.directedCallPickupString="**"',
  ]);
});

Deno.test("Cisco: Extended_Function blf+sd+cp / sd / prk, voicemail server and number, pickup code", () => {
  const out = render("spac0ffee000001.xml", {
    mac: "c0ffee000001",
    vendor: "cisco",
    model: "SPA508G",
    extension: "201",
    lineKeys: KEYS,
  });
  assertEquals(lines(out, "<Extended_Function_"), [
    "<Extended_Function_2_>fnc=blf+sd+cp;sub=202@192.0.2.10;nme=Bob</Extended_Function_2_>",
    "<Extended_Function_3_>fnc=sd;ext=*98@192.0.2.10;nme=Any VM</Extended_Function_3_>",
    "<Extended_Function_4_>fnc=prk;sub=701@192.0.2.10;nme=Park 1</Extended_Function_4_>",
  ]);
  assertEquals(lines(out, "<Extension_"), [
    "<Extension_2_>Disabled</Extension_2_>",
    "<Extension_3_>Disabled</Extension_3_>",
    "<Extension_4_>Disabled</Extension_4_>",
  ]);
  assertEquals(lines(out, "<Voice_Mail_"), [
    "<Voice_Mail_Server_1_>192.0.2.10:5070</Voice_Mail_Server_1_>",
    "<Voice_Mail_Enable_1_>Yes</Voice_Mail_Enable_1_>",
    "<Voice_Mail_Number>*97</Voice_Mail_Number>",
  ]);
  assertEquals(lines(out, "<Call_Pickup_Code>"), ["<Call_Pickup_Code>**</Call_Pickup_Code>"]);
});

Deno.test("Cisco: a label cannot break out of the fnc= mini-syntax", () => {
  const out = render("spac0ffee000001.xml", {
    mac: "c0ffee000001",
    vendor: "cisco",
    extension: "201",
    lineKeys: [{ type: "blf", value: "202", label: "a;fnc=sd;x=<y>" }],
  });
  assertEquals(lines(out, "<Extended_Function_"), [
    "<Extended_Function_2_>fnc=blf+sd+cp;sub=202@192.0.2.10;nme=a fnc sd x &lt;y&gt;</Extended_Function_2_>",
  ]);
});

Deno.test("Grandstream: MPK modes 1/0/9 in P23000+5n, P33 voicemail, P99 MWI, P1347 pickup prefix", () => {
  const out = render("cfgc074ad000001.xml", {
    mac: "c074ad000001",
    vendor: "grandstream",
    model: "GRP2614",
    extension: "201",
    lineKeys: KEYS,
  });
  assertEquals(lines(out, "<P230"), [
    "<P23000>1</P23000>",
    "<P23001>0</P23001>",
    "<P23002>Bob</P23002>",
    "<P23003>202</P23003>",
    "<P23005>0</P23005>",
    "<P23006>0</P23006>",
    "<P23007>Any VM</P23007>",
    "<P23008>*98</P23008>",
    "<P23010>9</P23010>",
    "<P23011>0</P23011>",
    "<P23012>Park 1</P23012>",
    "<P23013>701</P23013>",
  ]);
  assertEquals(lines(out, "<P33>"), ["<P33>*97</P33>"]);
  assertEquals(lines(out, "<P99>"), ["<P99>1</P99>"]);
  assertEquals(lines(out, "<P1347>"), ["<P1347>**</P1347>"]);
});

Deno.test("Zultys ZIP2x2: no key, voicemail or MWI lines (no verified syntax)", () => {
  const out = render("000BEA000001.cfg", {
    mac: "000bea000001",
    vendor: "zultys",
    extension: "201",
    lineKeys: KEYS,
  });
  for (const v of ["202", "701", "*97", "**"]) assertNotIncludes(out, v);
});

const SLOTS: LineKey[] = [
  { type: "parkslot", value: "701", label: "Park 701" },
  { type: "parkslot", value: "702", label: "Park 702" },
];

Deno.test("park slot keys: Yealink BLF 16 on each slot, the park code key 10", () => {
  const out = render("001565aabbcc.cfg", {
    mac: "001565aabbcc",
    vendor: "yealink",
    model: "T46U",
    extension: "201",
    lineKeys: [...SLOTS, { type: "park", value: "700", label: "Park" }],
  });
  assertEquals(lines(out, "linekey.").filter((l) => /\.(type|value) =/.test(l)), [
    "linekey.2.type = 16",
    "linekey.2.value = 701",
    "linekey.3.type = 16",
    "linekey.3.value = 702",
    "linekey.4.type = 10",
    "linekey.4.value = 700",
  ]);
});

Deno.test("park slot keys: Polycom automata, Cisco fnc=prk, Grandstream MPK 9, Zultys none", () => {
  const poly = render("0004f2aabbcc-pbx.cfg", {
    mac: "0004f2aabbcc",
    vendor: "polycom",
    extension: "201",
    lineKeys: SLOTS,
  });
  assertEquals(lines(poly, "attendant.resourceList.").filter((l) => l.includes(".type=")), [
    'attendant.resourceList.1.type="automata"',
    'attendant.resourceList.2.type="automata"',
  ]);
  assertIncludes(poly, 'attendant.resourceList.2.address="702"');
  const cisco = render("spac0ffee000001.xml", {
    mac: "c0ffee000001",
    vendor: "cisco",
    extension: "201",
    lineKeys: SLOTS,
  });
  assertEquals(lines(cisco, "<Extended_Function_"), [
    "<Extended_Function_2_>fnc=prk;sub=701@192.0.2.10;nme=Park 701</Extended_Function_2_>",
    "<Extended_Function_3_>fnc=prk;sub=702@192.0.2.10;nme=Park 702</Extended_Function_3_>",
  ]);
  const gs = render("cfgc074ad000001.xml", {
    mac: "c074ad000001",
    vendor: "grandstream",
    model: "GRP2614",
    extension: "201",
    lineKeys: SLOTS,
  });
  assertEquals(
    lines(gs, "<P23000>").concat(lines(gs, "<P23003>"), lines(gs, "<P23005>"), lines(gs, "<P23008>")),
    [
      "<P23000>9</P23000>",
      "<P23003>701</P23003>",
      "<P23005>9</P23005>",
      "<P23008>702</P23008>",
    ],
  );
  const zultys = render("000BEA000001.cfg", {
    mac: "000bea000001",
    vendor: "zultys",
    extension: "201",
    lineKeys: SLOTS,
  });
  assertNotIncludes(zultys, "701");
});
