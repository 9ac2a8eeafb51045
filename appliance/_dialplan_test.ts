import { deepStrictEqual as eq } from "node:assert";
import { tempStorage } from "../runtime/storage/_testing.ts";
import type { LocalCallHandler } from "../runtime/call/mod.ts";
import { createRouter } from "./_dialplan.ts";

const handler: LocalCallHandler = { accept: () => ({ status: 486, reason: "test" }) };

Deno.test("the router rings extensions, pages zones and groups (and their *NN numbers), 404s the rest", () => {
  const storage = tempStorage();
  try {
    storage.extensions.create({ number: "201", name: "Desk", password: "good-pass-123" }, "pbx");
    storage.paging.createZone({ number: "71", name: "Hall" });
    storage.paging.createGroup({ number: "70", name: "All", zones: ["71"] });
    const paged: string[] = [];
    const route = createRouter({
      storage,
      paging: (n) => {
        paged.push(n);
        return handler;
      },
    });
    eq(route("201"), { kind: "extension", number: "201" });
    for (const n of ["71", "*71", "70", "*70"]) eq(route(n).kind, "local", n);
    eq(paged, ["71", "*71", "70", "*70"]);
    for (const n of ["202", "*72", "*80201", "", "*"]) eq(route(n), { kind: "none" }, n);
    // Rows stored before numbers were checked: the extension keeps the number, as before.
    storage.paging.createZone({ number: "201", name: "Old" });
    eq(route("201"), { kind: "extension", number: "201" });
    eq(route("*201").kind, "local");
  } finally {
    storage.dispose();
  }
});

Deno.test("a paging number the paging service does not take is not found", () => {
  const storage = tempStorage();
  try {
    storage.paging.createZone({ number: "71", name: "Hall" });
    const route = createRouter({ storage, paging: () => undefined });
    eq(route("71"), { kind: "none" });
  } finally {
    storage.dispose();
  }
});
