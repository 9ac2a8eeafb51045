import { ok as assert } from "node:assert";
import { newBranch, newCallId, newTag } from "./ids.ts";

Deno.test("branch ids carry the magic cookie and ids do not repeat", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const b = newBranch();
    assert(b.startsWith("z9hG4bK") && b.length === 27, b);
    seen.add(b);
    seen.add(newTag());
    seen.add(newCallId());
  }
  assert(seen.size === 3000);
  assert(newCallId("pbx.local").endsWith("@pbx.local"));
});
