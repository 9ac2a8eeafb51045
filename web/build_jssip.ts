/**
 * Rebuilds web/static/vendor/jssip.js, the browser phone's SIP library (npm `jssip`, the version
 * pinned in deno.json), as one ES module the box serves itself (no CDN). The module sets
 * `globalThis.JsSIP`. Run after changing the pinned version:
 *
 *   deno run --allow-all web/build_jssip.ts
 */
const here = new URL(".", import.meta.url).pathname;
const tmp = await Deno.makeTempDir();
const entry = `${tmp}/entry.ts`;
// JsSIP requires node's "events"; in the browser the npm package of the same API stands in, handed
// over through the bundler's require() fallback before JsSIP's CommonJS code runs.
await Deno.writeTextFile(
  `${tmp}/shim.ts`,
  'import EventEmitter from "npm:events@3.3.0";\n' +
    "(globalThis as { require?: unknown }).require = (name: string) => {\n" +
    '  if (name === "node:events" || name === "events") return EventEmitter;\n' +
    "  throw new Error(`no ${name} in the browser`);\n};\n",
);
await Deno.writeTextFile(
  entry,
  'import "./shim.ts";\nimport JsSIP from "jssip";\n(globalThis as { JsSIP?: unknown }).JsSIP = JsSIP;\n',
);
const out = `${here}static/vendor/jssip.js`;
const r = await new Deno.Command(Deno.execPath(), {
  args: ["bundle", "--config", `${here}../deno.json`, "--platform", "browser", "--minify", "-o", out, entry],
}).output();
await Deno.remove(tmp, { recursive: true });
if (!r.success) throw new Error(`deno bundle failed:\n${new TextDecoder().decode(r.stderr)}`);
const banner = "/*! JsSIP (MIT, https://jssip.net), bundled by web/build_jssip.ts */\n";
await Deno.writeTextFile(out, banner + await Deno.readTextFile(out));
console.log(`wrote ${out}`);
