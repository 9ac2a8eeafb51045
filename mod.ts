/**
 * The PBX appliance. `deno task start` runs this file; everything else lives in appliance/.
 * @module
 */
import { main } from "./appliance/mod.ts";

if (import.meta.main) {
  await main(Deno.args);
}
