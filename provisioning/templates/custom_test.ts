import { assert, assertEquals } from "../_test_assert.ts";
import { fakeData } from "../_test_data.ts";
import {
  MASKED_SECRET,
  previewTemplate,
  shippedTemplateInfo,
  TEMPLATE_KEYS,
  validateTemplateSource,
} from "./custom.ts";
import { generateFile, routeRequest } from "./generate.ts";

function throwsWith(fn: () => unknown, cls: new (...a: never[]) => Error, text: string) {
  try {
    fn();
  } catch (e) {
    assert(e instanceof cls, `expected ${cls.name}, got ${e}`);
    assert((e as Error).message.includes(text), `message ${(e as Error).message} lacks ${text}`);
    return;
  }
  throw new Error("expected a throw");
}

Deno.test("every shipped template is listed under a vendor.kind key with a sha256 hash", () => {
  assert(TEMPLATE_KEYS.includes("yealink.device"));
  assert(TEMPLATE_KEYS.includes("grandstream.common"));
  const info = shippedTemplateInfo("yealink.device");
  assertEquals(info.vendor, "yealink");
  assert(/^[0-9a-f]{64}$/.test(info.hash));
  throwsWith(() => shippedTemplateInfo("yealink/device"), RangeError, "unknown template");
  throwsWith(() => shippedTemplateInfo("nokia.device"), RangeError, "unknown template");
});

Deno.test("an edited template with an unknown variable fails validation with line and column", () => {
  throwsWith(
    () => validateTemplateSource("yealink.device", "ok\n  {{ account.pasword }}"),
    SyntaxError,
    "yealink.device:2:3",
  );
  throwsWith(() => validateTemplateSource("yealink.device", "{{#if hasAccount}}x"), SyntaxError, "unclosed");
  validateTemplateSource("yealink.device", "account = {{ account.number }}\n");
});

Deno.test("generateFile uses the stored override when templateSource has one", () => {
  const { data } = fakeData();
  data.templateSource = (key) =>
    key === "yealink.device" ? "custom {{ account.number }} {{ server.host }}\n" : undefined;
  const route = routeRequest("001565aabbcc.cfg")!;
  const r = generateFile(route, data, { now: 0 });
  assert(!("status" in r));
  assertEquals(new TextDecoder().decode(r.body), "custom 201 192.0.2.10\n");
  data.templateSource = () => "{{ no.such.name }}";
  const fallback = generateFile(route, data, { now: 0 });
  assert(!("status" in fallback));
  assert(
    new TextDecoder().decode(fallback.body).includes("account.1.user_name = 201"),
    "broken override falls back",
  );
});

Deno.test("previews mask the SIP password unless asked, and need a MAC for device templates", () => {
  const { data, discovered, fetches } = fakeData();
  const masked = previewTemplate("yealink.device", data, { mac: "001565aabbcc", now: 0 });
  assert(masked.body.includes(`account.1.password = ${MASKED_SECRET}`));
  assertEquals(masked.secrets, false);
  const clear = previewTemplate("yealink.device", data, { mac: "001565aabbcc", maskSecrets: false, now: 0 });
  assert(clear.body.includes("account.1.password = s3cr3t&pw"));
  assertEquals(clear.secrets, true);
  const unsaved = previewTemplate("yealink.device", data, {
    mac: "001565aabbcc",
    source: "x={{ mac }}",
    now: 0,
  });
  assertEquals(unsaved.body, "x=001565aabbcc");
  throwsWith(() => previewTemplate("yealink.device", data, {}), RangeError, "needs a device MAC");
  assert(previewTemplate("yealink.common", data, { now: 0 }).body.includes("local_time.ntp_server1"));
  assertEquals(discovered.length + fetches.length, 0, "previews record nothing");
});
