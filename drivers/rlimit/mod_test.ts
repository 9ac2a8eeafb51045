import assert from "node:assert/strict";
import { getFdLimit, raiseFdLimit } from "./mod.ts";

function hasPrlimit(): boolean {
  try {
    return new Deno.Command("prlimit", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "raiseFdLimit raises the soft open-file limit of a child started low to its hard limit",
  ignore: Deno.build.os !== "linux" || !hasPrlimit(),
  async fn() {
    // A child process started with soft 64 / hard 512 raises and reports.
    const code = `import { raiseFdLimit } from ${JSON.stringify(new URL("./mod.ts", import.meta.url).href)};
      console.log(JSON.stringify(raiseFdLimit()));`;
    const deno = Deno.execPath();
    const out = await new Deno.Command("prlimit", {
      args: ["--nofile=64:512", deno, "eval", code],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const r = JSON.parse(new TextDecoder().decode(out.stdout));
    // Deno itself may already raise the soft limit at start; either way it ends at the hard limit.
    assert.equal(r.before.hard, 512);
    assert.deepEqual(r.after, { soft: 512, hard: 512 });
  },
});

Deno.test({
  name: "getFdLimit reads soft <= hard",
  ignore: Deno.build.os !== "linux",
  fn() {
    const l = getFdLimit();
    assert.ok(l !== null);
    if (l.soft !== null && l.hard !== null) assert.ok(l.soft <= l.hard);
    // Raising never lowers: a target below the current soft limit changes nothing.
    const r = raiseFdLimit({ target: 1 });
    assert.deepEqual(r?.after, r?.before);
  },
});
