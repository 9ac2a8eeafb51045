/**
 * SRTP relay density: relay_density.ts with every call RTP -> SRTP -> RTP inside the relay (one
 * protect and one unprotect per packet), the box's MediaPlane against rtpengine (userspace, SDES
 * `transport-protocol` conversion through two chained calls) in the same run, same generator, loss
 * and added jitter as there.
 *
 * Run: deno run --allow-all tests/bench/srtp_relay.ts [--quick] [--suite=AES_CM_128_HMAC_SHA1_80]
 * (the other env knobs of relay_density.ts apply). Writes tests/artifacts/bench/srtp_relay.json.
 */
import { isSrtpSuite } from "../../drivers/srtp/mod.ts";

const suite = Deno.args.find((a) => a.startsWith("--suite="))?.slice(8) ?? "AES_CM_128_HMAC_SHA1_80";
if (!isSrtpSuite(suite)) throw new RangeError(`--suite=${suite} is not an SRTP suite`);
Deno.env.set("BENCH_SRTP", suite);
await import("./relay_density.ts");
