/** OpenAPI path entries of the trunk feature (merged into /api/openapi.json). */
const id = (name: string) => ({ name, in: "path", required: true, schema: { type: "string" } });
const ok = (d: string) => ({ 200: { description: d }, 400: { description: "{error} saying what is wrong" } });

/** The entries. */
export const trunksOpenapi: Readonly<Record<string, unknown>> = {
  "/api/trunks": {
    get: {
      summary: "Trunks with live state (registration, keepalive, calls); never the password",
      responses: ok("{trunks}"),
    },
  },
  "/api/trunks/{id}": {
    parameters: [id("id")],
    get: { summary: "One trunk", responses: { 200: { description: "Trunk" }, 404: { description: "none" } } },
    put: {
      summary:
        "Create or replace a trunk: {kind: register|peer, host, port?, transport?, username?, authUsername?, password? " +
        "(write-only), expires?, addresses?, outboundProxy?, fromUser?, fromDomain?, callerIdMode?: from|pai|both, " +
        "callerId?, codecs?, dtmf?: rfc4733|info|inband, maxChannels?, keepaliveSeconds?, didFrom?: to|request-uri, enabled?}",
      responses: ok("Trunk (hasPassword instead of the password)"),
    },
    delete: {
      summary: "Delete a trunk (409 while a route uses it)",
      responses: { 204: { description: "deleted" } },
    },
  },
  "/api/dids": { get: { summary: "Inbound DIDs", responses: ok("{dids}") } },
  "/api/dids/{number}": {
    parameters: [id("number")],
    put: { summary: "Route a DID: {destination (an internal number), trunk?, name?}", responses: ok("Did") },
    delete: { summary: "Delete a DID", responses: { 204: { description: "deleted" } } },
  },
  "/api/outbound-routes": { get: { summary: "Outbound routes in order", responses: ok("{routes}") } },
  "/api/outbound-routes/{id}": {
    parameters: [id("id")],
    put: {
      summary:
        "Create or replace a route: {patterns: ['9|NXXNXXXXXX', '011.'], prepend?, class: local|national|international|" +
        "premium|emergency, trunks: [ids in failover order], callerId?, emergencyCallerId?, position?, enabled?}",
      responses: ok("OutboundRoute"),
    },
    delete: { summary: "Delete a route", responses: { 204: { description: "deleted" } } },
  },
  "/api/outbound-permissions/{extension}": {
    parameters: [id("extension")],
    get: { summary: "An extension's outside-call classes", responses: ok("{extension, classes}") },
    put: {
      summary: "Set them: {classes: [internal, local, national, international, premium]}",
      responses: ok("{extension, classes}"),
    },
  },
  "/api/e911": {
    get: { summary: "E911 settings", responses: ok("E911Settings") },
    put: {
      summary:
        "Change them: {numbers?, prefixes?, testMode?, testNumber?, callbackNumber?, frontDesk?, pageZone?, email?}",
      responses: ok("E911Settings"),
    },
  },
  "/api/e911/locations": {
    get: { summary: "Dispatchable locations (moved: phone seen elsewhere)", responses: ok("{locations}") },
  },
  "/api/e911/locations/{kind}/{id}": {
    parameters: [id("kind"), id("id")],
    put: {
      summary:
        "Set a location (kind extension or device): {address, country?, state?, city?, street?, houseNumber?, " +
        "postalCode?, building?, floor?, room?}",
      responses: ok("{kind, id, location}"),
    },
    delete: { summary: "Remove it", responses: { 204: { description: "deleted" } } },
  },
  "/api/e911/locations/{kind}/{id}/announcement": {
    parameters: [id("kind"), id("id")],
    put: {
      summary:
        "Upload the location's recording for the front desk, played when there is no text to speech (body: a " +
        "WAV of any rate, mono or stereo, at most 60 s, audio/wav; 415 another type, 400 a broken WAV)",
      responses: ok("{kind, id, durationMs}"),
    },
    delete: { summary: "Remove the recording", responses: { 204: { description: "deleted" } } },
  },
  "/api/fraud-guard": {
    get: { summary: "Fraud guard settings", responses: ok("FraudSettings") },
    put: {
      summary:
        "Change them: {maxConcurrentPerExtension, maxConcurrentBox, maxPerHourPerExtension, maxPerHourBox " +
        "(0: off), nightStart, nightEnd (HH:MM), timeZone, nightInternational: [extensions], email: [addresses]}",
      responses: ok("FraudSettings"),
    },
  },
  "/api/stir": {
    get: { summary: "STIR/SHAKEN settings (hasKey instead of the key)", responses: ok("StirSettings") },
    put: {
      summary:
        "Change them: {verify: {enabled, trustRoots (PEM), policy: mark|reject, maxAgeSec, allowHttp, " +
        "allowPrivateHosts}, sign: {enabled, certPem, keyPem (write-only), x5u, attestation: owned|A|B|C}}",
      responses: ok("StirSettings"),
    },
  },
  "/api/trunk-alerts": { get: { summary: "Emergency and fraud alerts", responses: ok("{alerts}") } },
};
