import { assert, assertEquals, assertIncludes, assertNotIncludes } from "../_test_assert.ts";
import {
  type GeneratedFile,
  generateFile,
  type GenerateRefusal,
  routeRequest,
  shippedTemplate,
} from "./generate.ts";
import { SHIPPED_TEMPLATES } from "./vendors.ts";
import { timeZoneFormats } from "./view.ts";
import { fakeData } from "../_test_data.ts";

function text(r: GeneratedFile | GenerateRefusal): string {
  if ("status" in r) throw new Error(`refused: ${r.status} ${r.reason}`);
  return new TextDecoder().decode(r.body);
}

function gen(file: string, opts: Parameters<typeof generateFile>[2] = {}, ua?: string) {
  const f = fakeData();
  const route = routeRequest(file, { deviceVendor: (m) => f.data.device(m)?.vendor, userAgent: ua ?? null });
  if (!route) throw new Error(`no route for ${file}`);
  return { route, result: generateFile(route, f.data, { now: Date.UTC(2026, 0, 15), ...opts }), ...f };
}

Deno.test("every shipped template compiles against the view schema", () => {
  for (const key of Object.keys(SHIPPED_TEMPLATES)) shippedTemplate(key);
});

Deno.test("file names route to vendor and kind", () => {
  const r = (p: string, ua?: string) => {
    const x = routeRequest(p, { userAgent: ua ?? null });
    return x && `${x.vendor}/${x.kind}${x.mac ? `/${x.mac}` : ""}${x.model ? `/${x.model}` : ""}`;
  };
  assertEquals(r("y000000000000.cfg"), "yealink/common");
  assertEquals(r("y000000000028.cfg"), "yealink/common/28");
  assertEquals(r("001565AABBCC-local.cfg"), "yealink/empty/001565aabbcc");
  assertEquals(r("001565aabbcc.cfg"), "yealink/device/001565aabbcc");
  assertEquals(r("0004f2aabbcc.cfg"), "polycom/master/0004f2aabbcc");
  assertEquals(
    r("aabbccddeeff.cfg", "FileTransport PolycomVVX-VVX_400-UA/5.9.0"),
    "polycom/master/aabbccddeeff",
  );
  assertEquals(
    r("aabbccddeeff.cfg", "Yealink SIP-T46S 66.86.0.15 00:15:65:aa:bb:cc"),
    "yealink/device/aabbccddeeff",
  );
  assertEquals(r("000000000000.cfg"), "polycom/master");
  assertEquals(r("0004f2aabbcc-pbx.cfg"), "polycom/device/0004f2aabbcc");
  assertEquals(r("000000000000-directory.xml"), "polycom/phonebook");
  assertEquals(r("spa001122334455.xml"), "cisco/device/001122334455");
  assertEquals(r("001122334455.xml"), "cisco/device/001122334455");
  assertEquals(r("spa504G.cfg"), "cisco/common/504G");
  assertEquals(r("SEP001122334455.cnf.xml"), "cisco/unsupported/001122334455");
  assertEquals(r("cfgc074ad000001"), "grandstream/device/c074ad000001");
  assertEquals(r("cfgc074ad000001.xml"), "grandstream/device/c074ad000001");
  assertEquals(r("cfggxp2170.xml"), "grandstream/common/gxp2170");
  assertEquals(r("cfg.xml"), "grandstream/common");
  assertEquals(r("ZIP2x2_common.cfg"), "zultys/common/ZIP2x2");
  assertEquals(r("000BEA000001.cfg"), "zultys/device/000bea000001");
  assertEquals(r("0050C2180FD8.cfg"), "zultys/device/0050c2180fd8");
  assertEquals(r("../etc/passwd"), null);
  assertEquals(r("readme.txt"), null);
});

Deno.test("the device table decides the vendor of <mac>.cfg before User-Agent and OUI", () => {
  const route = routeRequest("001565aabbcc.cfg", { deviceVendor: () => "polycom", userAgent: "Yealink" });
  assertEquals(route?.vendor, "polycom");
});

Deno.test("Yealink device file carries the documented keys, credentials and box address", () => {
  const { result } = gen("001565aabbcc.cfg");
  const t = text(result);
  assert(!("status" in result) && result.secrets);
  assert(t.startsWith("#!version:1.0.0.1\n"));
  for (
    const line of [
      "account.1.enable = 1",
      "account.1.label = 201",
      'account.1.display_name = Alice "A" <Boss>',
      "account.1.auth_name = 201",
      "account.1.user_name = 201",
      "account.1.password = s3cr3t&pw",
      "account.1.sip_server.1.address = 192.0.2.10",
      "account.1.sip_server.1.port = 5070",
      "local_time.ntp_server1 = 192.0.2.10",
      "local_time.time_zone = +1",
      "remote_phonebook.data.1.url = http://192.0.2.10:8080/prov/phonebook/yealink",
      "linekey.2.type = 16",
      "linekey.2.value = 202",
      "linekey.2.label = Bob",
      "multicast.listen_address.1.ip_address = 224.0.2.60:50000",
      "multicast.listen_address.1.label = All",
    ]
  ) assertIncludes(t, `${line}\n`);
});

Deno.test("Yealink common file has no credentials", () => {
  const { result } = gen("y000000000000.cfg");
  const t = text(result);
  assertNotIncludes(t, "password");
  assertIncludes(t, "local_time.ntp_server1 = 192.0.2.10");
  assertIncludes(t, "multicast.listen_address.1.ip_address = 224.0.2.60:50000");
});

Deno.test("Polycom master references the per-device file; device file has reg.1 keys and BLF", () => {
  const master = text(gen("0004f2aabbcc.cfg").result);
  assertIncludes(
    master,
    '<APPLICATION APP_FILE_PATH="sip.ld" CONFIG_FILES="0004f2aabbcc-pbx.cfg, polycom-common.cfg"',
  );
  const generic = text(gen("000000000000.cfg").result);
  assertIncludes(generic, 'CONFIG_FILES="polycom-common.cfg"');
  const dev = text(gen("0004f2aabbcc-pbx.cfg").result);
  for (
    const kv of [
      'reg.1.address="201"',
      'reg.1.displayName="Alice &quot;A&quot; &lt;Boss&gt;"',
      'reg.1.auth.userId="201"',
      'reg.1.auth.password="s3cr3t&amp;pw"',
      'reg.1.server.1.address="192.0.2.10"',
      'reg.1.server.1.port="5070"',
      'attendant.resourceList.1.address="202"',
      'attendant.resourceList.1.label="Bob"',
    ]
  ) assertIncludes(dev, kv);
  const common = text(gen("polycom-common.cfg").result);
  for (
    const kv of [
      'tcpIpApp.sntp.address="192.0.2.10"',
      'tcpIpApp.sntp.gmtOffset="3600"',
      'voIpProt.server.1.address="192.0.2.10"',
      'voIpProt.server.1.port="5070"',
      'ptt.pageMode.enable="1"',
      'ptt.address="224.0.2.60"',
      'ptt.port="50000"',
      'ptt.pageMode.group.1.subscribed="1"',
    ]
  ) assertIncludes(common, kv);
  assertNotIncludes(common, "password");
});

Deno.test("Cisco flat profile carries line 1 credentials, NTP, time zone, directory, BLF and paging", () => {
  const t = text(gen("spac0ffee000001.xml").result);
  for (
    const kv of [
      "<flat-profile>",
      "<Proxy_1_>192.0.2.10</Proxy_1_>",
      "<SIP_Port_1_>5070</SIP_Port_1_>",
      "<User_ID_1_>201</User_ID_1_>",
      "<Password_1_>s3cr3t&amp;pw</Password_1_>",
      "<Display_Name_1_>Alice &quot;A&quot; &lt;Boss&gt;</Display_Name_1_>",
      "<Auth_ID_1_>201</Auth_ID_1_>",
      "<Primary_NTP_Server>192.0.2.10</Primary_NTP_Server>",
      "<Time_Zone>GMT+01:00</Time_Zone>",
      "<XML_Directory_Service_URL>http://192.0.2.10:8080/prov/phonebook/cisco</XML_Directory_Service_URL>",
      "<Extended_Function_2_>fnc=blf+sd+cp;sub=202@192.0.2.10;nme=Bob</Extended_Function_2_>",
      "<Group_Paging_Script>pggrp=224.0.2.60:50000;name=All;num=1;listen=yes;</Group_Paging_Script>",
    ]
  ) assertIncludes(t, kv);
});

Deno.test("Grandstream XML carries P-values with credentials and lower-case MAC", () => {
  const t = text(gen("cfgc074ad000001.xml").result);
  for (
    const kv of [
      '<gs_provision version="1">',
      "<mac>c074ad000001</mac>",
      '<config version="1">',
      "<P271>1</P271>",
      "<P47>192.0.2.10:5070</P47>",
      "<P35>201</P35>",
      "<P36>201</P36>",
      "<P34>s3cr3t&amp;pw</P34>",
      "<P3>Alice &quot;A&quot; &lt;Boss&gt;</P3>",
      "<P30>192.0.2.10</P30>",
      "<P64><+0100>-1</P64>".replace("<+0100>", "&lt;+0100&gt;"),
      "<P331>192.0.2.10:8080/prov/phonebook/grandstream</P331>",
      "<P23000>1</P23000>",
      "<P23003>202</P23003>",
    ]
  ) assertIncludes(t, kv);
});

Deno.test("Zultys INI carries proxy and credentials; common file has none", () => {
  const t = text(gen("000BEA000001.cfg").result);
  for (
    const kv of [
      "[SIP_CONFIG]",
      "proxy_addr=192.0.2.10",
      "proxy_port=5070",
      "device_id=201",
      "auth_password=s3cr3t&pw",
    ]
  ) {
    assertIncludes(t, `${kv}\n`);
  }
  const c = text(gen("ZIP2x2_common.cfg").result);
  assertIncludes(c, "ntp_server_addr=192.0.2.10");
  assertNotIncludes(c, "password");
});

Deno.test("an unknown MAC is recorded as discovered and gets a file without a password", () => {
  for (const file of ["001565ffffff.cfg", "spa00aabbccddee.xml", "cfg00aabbccddee.xml", "0004f2ffffff.cfg"]) {
    const { result, discovered } = gen(file);
    const t = text(result);
    assert(!("status" in result) && !result.secrets, file);
    assertNotIncludes(t, "s3cr3t");
    assertEquals(discovered.length, 1, file);
  }
  const { discovered } = gen("001565aabbcc.cfg");
  assertEquals(discovered.length, 0, "known devices are not re-discovered");
});

Deno.test("a known but unassigned MAC gets no credentials", () => {
  const { result } = gen("001565000009.cfg");
  const t = text(result);
  assertIncludes(t, "account.1.enable = 0");
  assertNotIncludes(t, "password");
});

Deno.test("with requireOpenWindow credentials only go out while the window is open", () => {
  // Issue 18: a closed window now refuses the file (403) instead of rendering it without the
  // account, so a provisioned phone keeps its account; HTTPS + the device's credentials pass.
  const closed = gen("001565aabbcc.cfg", { requireOpenWindow: true }).result;
  assert("status" in closed && closed.status === 403);
  const tls = gen("001565aabbcc.cfg", { requireOpenWindow: true, secure: true, authenticated: true });
  assertIncludes(text(tls.result), "account.1.password = s3cr3t&pw");
  const f = fakeData();
  f.devices.get("001565aabbcc")!.provisioningOpenUntil = Date.UTC(2026, 0, 16);
  const route = routeRequest("001565aabbcc.cfg")!;
  const open = generateFile(route, f.data, { now: Date.UTC(2026, 0, 15), requireOpenWindow: true });
  assertIncludes(text(open), "account.1.password = s3cr3t&pw");
});

Deno.test("hostile display names cannot inject keys into INI or XML files", () => {
  const f = fakeData();
  f.data.extension = () => ({
    number: "201",
    name: "x\naccount.1.sip_server.1.address = evil</P3><P47>evil",
    sipPassword: "p",
  });
  const yl = text(generateFile(routeRequest("001565aabbcc.cfg")!, f.data));
  assertEquals(yl.split("\n").filter((l) => l.startsWith("account.1.sip_server.1.address")).length, 1);
  const gs = text(generateFile(routeRequest("cfgc074ad000001.xml")!, f.data));
  assertEquals(gs.match(/<P47>/g)?.length, 1);
});

Deno.test("SEP files are refused with 404 and a reason; Yealink -local.cfg is empty", () => {
  const r = gen("SEP001122334455.cnf.xml").result;
  assert("status" in r && r.status === 404);
  assertEquals(text(gen("001565aabbcc-local.cfg").result), "#!version:1.0.0.1\n");
});

Deno.test("time zone notations per vendor", () => {
  const ny = timeZoneFormats("America/New_York", Date.UTC(2026, 0, 15));
  assertEquals(ny.utcOffsetHours, "-5");
  assertEquals(ny.utcOffsetSeconds, "-18000");
  assertEquals(ny.ciscoTimeZone, "GMT-05:00");
  assertEquals(ny.posixTimeZone, "<-0500>5");
  assertEquals(timeZoneFormats("Asia/Kolkata").utcOffsetHours, "+5:30");
});
