import { assertEquals, assertThrows } from "../_test_assert.ts";
import { compileTemplate, type Schema } from "./engine.ts";

const schema: Schema = {
  name: "scalar",
  on: "scalar",
  server: { host: "scalar" },
  items: { list: { v: "scalar" } },
};

Deno.test("variables, nested names, each with @number, if/else and unless render", () => {
  const t = compileTemplate(
    "{{! c }}a={{ name }} h={{server.host}}\n{{#each items}}{{@number}}:{{ v }}/{{ name }};{{/each}}\n{{#if on}}Y{{else}}N{{/if}}{{#unless on}}U{{/unless}}",
    { escape: "text", schema },
  );
  assertEquals(
    t.render({ name: "n", on: true, server: { host: "h" }, items: [{ v: "x" }, { v: "y" }] }),
    "a=n h=h\n1:x/n;2:y/n;\nY",
  );
  assertEquals(t.render({ name: "n", on: false, server: { host: "h" }, items: [] }), "a=n h=h\n\nNU");
});

Deno.test("XML escaping neutralises tags and quotes", () => {
  const t = compileTemplate('<a b="{{ name }}">{{ name }}</a>', { escape: "xml", schema });
  assertEquals(
    t.render({ name: `"><x y='1'>&` }),
    '<a b="&quot;&gt;&lt;x y=&apos;1&apos;&gt;&amp;">&quot;&gt;&lt;x y=&apos;1&apos;&gt;&amp;</a>',
  );
});

Deno.test("INI escaping keeps a hostile value on its own line", () => {
  const t = compileTemplate("k = {{ name }}\n", { escape: "ini", schema });
  assertEquals(
    t.render({ name: "x\naccount.1.password = stolen\r" }),
    "k = x account.1.password = stolen \n",
  );
});

Deno.test("unknown variable is a SyntaxError with line and column", () => {
  assertThrows(
    () => compileTemplate("ok\n  {{ nope }}", { name: "t", escape: "text", schema }),
    SyntaxError,
    't:2:3: unknown variable "nope"',
  );
  assertThrows(
    () => compileTemplate("{{ server.port }}", { escape: "text", schema }),
    SyntaxError,
    "server.port",
  );
  assertThrows(() => compileTemplate("{{ v }}", { escape: "text", schema }), SyntaxError, '"v"');
  assertThrows(() => compileTemplate("{{ @index }}", { escape: "text", schema }), SyntaxError, "@index");
});

Deno.test("unbalanced and malformed blocks are SyntaxErrors with positions", () => {
  assertThrows(
    () => compileTemplate("{{#if on}}x", { name: "t", escape: "text", schema }),
    SyntaxError,
    "t:1:1: unclosed {{#if}}",
  );
  assertThrows(
    () => compileTemplate("x\n{{/each}}", { name: "t", escape: "text", schema }),
    SyntaxError,
    "t:2:1",
  );
  assertThrows(
    () => compileTemplate("{{#each items}}{{/if}}", { escape: "text", schema }),
    SyntaxError,
    "closes",
  );
  assertThrows(() => compileTemplate("{{ name", { escape: "text", schema }), SyntaxError, "unclosed {{");
  assertThrows(
    () => compileTemplate("{{#each name}}{{/each}}", { escape: "text", schema }),
    SyntaxError,
    "not a list",
  );
  assertThrows(() => compileTemplate("{{ items }}", { escape: "text", schema }), SyntaxError, "not a scalar");
  assertThrows(() => compileTemplate("{{ a b }}", { escape: "text", schema }), SyntaxError, "invalid name");
  assertThrows(() => compileTemplate("{{else}}", { escape: "text", schema }), SyntaxError, "outside");
  assertThrows(
    () => compileTemplate("{{#with x}}{{/with}}", { escape: "text", schema }),
    SyntaxError,
    "malformed",
  );
});
