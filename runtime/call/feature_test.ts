import { throws } from "node:assert";
import { checkFeatures } from "./feature.ts";

Deno.test("a feature list with a name, application or event package declared twice is refused", () => {
  const app = { name: "paging", run: () => {} };
  checkFeatures([{ name: "paging", applications: [app] }, { name: "moh" }]);
  throws(() => checkFeatures([{ name: "a" }, { name: "a" }]), /feature a is declared by both/);
  throws(
    () => checkFeatures([{ name: "a", applications: [app] }, { name: "b", applications: [app] }]),
    /application paging is declared by both a and b/,
  );
  throws(
    () => checkFeatures([{ name: "a", eventPackages: ["dialog"] }, { name: "b", eventPackages: ["dialog"] }]),
    /event package dialog/,
  );
  const hold = { held() {}, resumed() {} };
  throws(() => checkFeatures([{ name: "a", hold }, { name: "b", hold }]), /only one feature may handle hold/);
});
