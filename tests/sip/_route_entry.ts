/**
 * The appliance with one test feature, for route_e2e_test.ts: extension 201's route is "ring 201
 * for 2 s, then the `route-test` application", which answers, plays half a second of silence and
 * hangs up. No UI or API sets routes yet, so the test brings its own feature module.
 */
import { main } from "../../appliance/mod.ts";
import type { Application, FeatureModule } from "../../runtime/call/mod.ts";

const answerer: Application<{ dialled: string }> = {
  name: "route-test",
  async run(leg, args) {
    leg.answer();
    await leg.play({ silenceMs: 500 });
    leg.hangup(`route-test answered ${args.dialled}`);
  },
};

const feature: FeatureModule = {
  name: "route-test",
  applications: [answerer],
  routing: {
    extensionRoute: (ext, route) =>
      ext === "201"
        ? {
          steps: [
            { ...route.steps[0]!, ringSeconds: 2 },
            { destination: { kind: "application", name: "route-test" } },
          ],
        }
        : route,
  },
};

await main(Deno.args, { features: [feature] });
