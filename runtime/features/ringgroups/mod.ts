/**
 * Ring groups as a feature module (runtime/call/feature.ts): a number that rings its member
 * extensions all at once (`ringAll`), one after another (`hunt`), or adding one more at each ring
 * timeout (`memoryHunt`), then goes to a final destination. Members on DND (`skip`) are left out;
 * the dispatcher skips members that are busy or not registered. Configured on the Ring groups page
 * and with /api/ringgroups. See docs/dialplan.md.
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import type { Context, Hono } from "hono";
import type { FeatureModule, FeatureWebEnv, FeatureWebKit } from "../../call/mod.ts";
import type { Claim, GroupMember, GroupStrategy, PlanMatch, Route, Step } from "../../call/route/mod.ts";
import type { Clock } from "../../clock/mod.ts";
import type { Logger } from "../../log/mod.ts";
import * as m057 from "../../storage/migrations/057_ring_groups.ts";

/** A ring group. */
export interface RingGroup {
  number: string;
  name: string;
  strategy: GroupStrategy;
  /** Ring time of the group (ringAll) or of each member without its own (hunt); null: box default. */
  ringSeconds: number | null;
  members: GroupMember[];
  /** Where an unanswered call goes (voicemail, another group, an extension); null: the caller gets the outcome. */
  finalDestination: string | null;
}

/** Options of `ringGroupsFeature`. */
export interface RingGroupsOptions {
  db: DatabaseSync;
  clock: Pick<Clock, "wallNow">;
  log: Logger;
  /** Whether an extension exists (members must be extensions). */
  exists(extension: string): boolean;
  /** The number plan (the final destination must be in it). */
  lookup(number: string): PlanMatch | undefined;
  /** The owner already holding `claim`'s number, as a message naming both, or undefined. */
  collision?(claim: Claim): string | undefined;
  /** A member to leave out now (on DND). */
  skip?(member: string): boolean;
}

const STRATEGIES: readonly GroupStrategy[] = ["ringAll", "hunt", "memoryHunt"];

interface Row {
  number: string;
  name: string;
  strategy: GroupStrategy;
  ring_seconds: number | null;
  members: string;
  final_destination: string | null;
}

/** The route of `g` now: its members (without skipped ones), then the final destination. */
export function ringGroupRoute(
  g: RingGroup,
  skip: (m: string) => boolean = () => false,
): Route | { empty: true } {
  const members = g.members.filter((m) => !skip(m.number));
  const steps: Step[] = [];
  if (members.length > 0) {
    steps.push({
      destination: { kind: "group", members, strategy: g.strategy },
      ...(g.ringSeconds !== null ? { ringSeconds: g.ringSeconds } : {}),
    });
  }
  if (g.finalDestination !== null) steps.push({ destination: { kind: "dial", number: g.finalDestination } });
  return steps.length === 0 ? { empty: true } : { steps };
}

/** Ring groups as a feature module; `groups` is exposed for tests. */
export function ringGroupsFeature(options: RingGroupsOptions): FeatureModule & {
  groups(): RingGroup[];
  put(g: RingGroup): void;
} {
  const { db, log } = options;
  const groups = new Map<string, RingGroup>();
  const load = (r: Row): RingGroup => ({
    number: r.number,
    name: r.name,
    strategy: r.strategy,
    ringSeconds: r.ring_seconds,
    members: JSON.parse(r.members) as GroupMember[],
    finalDestination: r.final_destination,
  });
  for (const r of db.prepare("SELECT * FROM ring_groups").all() as unknown as Row[]) {
    groups.set(r.number, load(r));
  }
  const claimOf = (g: Pick<RingGroup, "number" | "name">): Claim => ({
    pattern: g.number,
    owner: {
      kind: "ring-group",
      id: g.number,
      label: g.name ? `ring group ${g.number} ${JSON.stringify(g.name)}` : `ring group ${g.number}`,
    },
  });
  let claims: Claim[] = [...groups.values()].map(claimOf);
  const put = (g: RingGroup) => {
    db.prepare(
      `INSERT INTO ring_groups (number, name, strategy, ring_seconds, members, final_destination, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(number) DO UPDATE SET name = excluded.name, strategy = excluded.strategy,
         ring_seconds = excluded.ring_seconds, members = excluded.members,
         final_destination = excluded.final_destination, updated_at = excluded.updated_at`,
    ).run(
      g.number,
      g.name,
      g.strategy,
      g.ringSeconds,
      JSON.stringify(g.members),
      g.finalDestination,
      options.clock.wallNow(),
    );
    groups.set(g.number, structuredClone(g));
    claims = [...groups.values()].map(claimOf);
  };
  const list = () =>
    [...groups.values()].map((g) => structuredClone(g)).sort((a, b) => a.number.localeCompare(b.number));

  const routes = (api: Hono<FeatureWebEnv>, kit: FeatureWebKit) => {
    api.use("/ringgroups", kit.requireAdmin);
    api.use("/ringgroups/*", kit.requireAdmin);
    const json = async (c: Context<FeatureWebEnv>): Promise<Record<string, unknown>> => {
      const bytes = await kit.readBody(c, 64 * 1024);
      try {
        const v = JSON.parse(new TextDecoder().decode(bytes));
        if (v === null || typeof v !== "object" || Array.isArray(v)) throw new TypeError();
        return v as Record<string, unknown>;
      } catch {
        kit.fail(400, "the body must be a JSON object");
      }
    };
    api.get("/ringgroups", (c) => c.json({ items: list() }));
    api.get("/ringgroups/:number", (c) => {
      const g = groups.get(c.req.param("number"));
      if (g === undefined) {
        kit.fail(404, `no ring group ${JSON.stringify(c.req.param("number").slice(0, 40))}`);
      }
      return c.json(g);
    });
    api.put("/ringgroups/:number", async (c) => {
      const number = c.req.param("number");
      if (!/^[0-9*#]{1,32}$/.test(number)) {
        kit.fail(400, `ring group number ${JSON.stringify(number.slice(0, 40))} must be digits`);
      }
      const body = await json(c);
      const existing = groups.get(number);
      for (const k of Object.keys(body)) {
        if (!["name", "strategy", "ringSeconds", "members", "finalDestination"].includes(k)) {
          kit.fail(400, `unknown field ${JSON.stringify(k.slice(0, 40))}`);
        }
      }
      const strategy = (body.strategy ?? existing?.strategy ?? "ringAll") as GroupStrategy;
      if (!STRATEGIES.includes(strategy)) kit.fail(400, `strategy must be one of ${STRATEGIES.join(", ")}`);
      const ringSeconds =
        (body.ringSeconds === undefined ? existing?.ringSeconds ?? null : body.ringSeconds) as
          | number
          | null;
      const okSeconds = (s: unknown) =>
        s === null || (Number.isInteger(s) && (s as number) >= 1 && (s as number) <= 300);
      if (!okSeconds(ringSeconds)) {
        kit.fail(400, `ringSeconds must be 1-300, got ${JSON.stringify(ringSeconds)}`);
      }
      const raw = body.members ?? existing?.members;
      if (!Array.isArray(raw) || raw.length === 0) kit.fail(400, "a ring group needs at least one member");
      const members: GroupMember[] = raw.map((m: unknown, i: number) => {
        const mm = typeof m === "string" ? { number: m } : m as { number?: unknown; ringSeconds?: unknown };
        if (typeof mm?.number !== "string") kit.fail(400, `members[${i}] must be an extension number`);
        if (!options.exists(mm.number)) kit.fail(404, `member ${mm.number} is not an extension`);
        if (mm.ringSeconds !== undefined && !okSeconds(mm.ringSeconds)) {
          kit.fail(400, `members[${i}].ringSeconds must be 1-300`);
        }
        return {
          number: mm.number,
          ...(mm.ringSeconds !== undefined ? { ringSeconds: mm.ringSeconds as number } : {}),
        };
      });
      if (new Set(members.map((m) => m.number)).size !== members.length) {
        kit.fail(400, "a member is listed twice");
      }
      const fin = body.finalDestination === undefined
        ? existing?.finalDestination ?? null
        : body.finalDestination;
      if (fin !== null && (typeof fin !== "string" || fin === "")) {
        kit.fail(400, "finalDestination must be a number or null");
      }
      const g: RingGroup = {
        number,
        name: typeof body.name === "string" ? body.name : existing?.name ?? "",
        strategy,
        ringSeconds,
        members,
        finalDestination: fin as string | null,
      };
      if (existing === undefined) {
        const hit = options.collision?.(claimOf(g));
        if (hit !== undefined) kit.fail(409, hit);
      }
      if (g.finalDestination !== null) {
        if (g.finalDestination === number) kit.fail(400, `ring group ${number} cannot end in itself`);
        if (options.lookup(g.finalDestination) === undefined) {
          kit.fail(404, `final destination ${g.finalDestination} is not in the number plan`);
        }
      }
      put(g);
      log.info("ring group saved", { number, strategy, members: members.map((m) => m.number).join(",") });
      kit.audit(c, "ringgroup.put", number);
      return c.json(g);
    });
    api.delete("/ringgroups/:number", (c) => {
      const number = c.req.param("number");
      if (!groups.has(number)) kit.fail(404, `no ring group ${JSON.stringify(number.slice(0, 40))}`);
      db.prepare("DELETE FROM ring_groups WHERE number = ?").run(number);
      groups.delete(number);
      claims = [...groups.values()].map(claimOf);
      kit.audit(c, "ringgroup.delete", number);
      return c.json({ deleted: number });
    });
  };

  return {
    name: "ringgroups",
    groups: list,
    put,
    migrations: [m057],
    numbers: () => claims,
    routing: {
      routeFor(match: PlanMatch): Route | undefined {
        if (match.claim.owner.kind !== "ring-group") return undefined;
        const g = groups.get(match.claim.owner.id);
        if (g === undefined) return undefined;
        const r = ringGroupRoute(g, options.skip);
        if ("empty" in r) {
          // Every member is on DND (or a stored group lost its members) and there is no final destination.
          log.info("ring group has no member to ring", { group: g.number });
          return {
            steps: [{
              destination: {
                kind: "hangup",
                status: 480,
                reason: `Temporarily Unavailable (ring group ${g.number} has no member to ring)`,
              },
            }],
          };
        }
        return r;
      },
    },
    web: {
      routes,
      openapi: {
        "/api/ringgroups": {
          get: { summary: "Ring groups", responses: { 200: { description: "{items}" } } },
        },
        "/api/ringgroups/{number}": {
          parameters: [{ name: "number", in: "path", required: true, schema: { type: "string" } }],
          get: {
            summary: "A ring group",
            responses: { 200: { description: "RingGroup" }, 404: { description: "{error}" } },
          },
          put: {
            summary:
              "Create or change a ring group: strategy ringAll/hunt/memoryHunt, members (extensions; none: 400, unknown: 404), ringSeconds, finalDestination (404 when not in the plan); a taken number 409",
            requestBody: {
              required: true,
              content: {
                "application/json": {
                  schema: {
                    type: "object",
                    properties: {
                      name: { type: "string" },
                      strategy: { type: "string", enum: STRATEGIES },
                      ringSeconds: { type: ["integer", "null"], minimum: 1, maximum: 300 },
                      members: {
                        type: "array",
                        minItems: 1,
                        items: {
                          type: "object",
                          properties: { number: { type: "string" }, ringSeconds: { type: "integer" } },
                        },
                      },
                      finalDestination: { type: ["string", "null"] },
                    },
                  },
                },
              },
            },
            responses: Object.fromEntries(
              [200, 400, 401, 403, 404, 409].map((
                s,
              ) => [s, { description: s === 200 ? "RingGroup" : "{error}" }]),
            ),
          },
          delete: { summary: "Delete a ring group", responses: { 200: { description: "{deleted}" } } },
        },
      },
      pages: [{
        path: "/ringgroups",
        title: "Ring groups",
        script: new URL("./web/ringgroups.js", import.meta.url),
        render: ({ html, dataTable }) =>
          html`
            <section class="card stack">
              ${dataTable("rg-table", ["Number", "Name", "Strategy", "Members", "Ring s", "Then", ""])}
              <p id="rg-empty" hidden>No ring groups yet.</p>
              <form id="rg-form" class="stack">
                <h2>Add or change a ring group</h2>
                <label for="rg-number">Number</label>
                <input id="rg-number" name="number" required inputmode="tel" autocomplete="off">
                <label for="rg-name">Name</label>
                <input id="rg-name" name="name" autocomplete="off">
                <label for="rg-strategy">Strategy</label>
                <select id="rg-strategy" name="strategy">
                  <option value="ringAll">Ring all at once</option>
                  <option value="hunt">Hunt: one after another, in order</option>
                  <option value="memoryHunt">Memory hunt: add the next at each timeout</option>
                </select>
                <label for="rg-members">Members (extensions, comma separated, in order)</label>
                <input id="rg-members" name="members" autocomplete="off">
                <label for="rg-seconds">Ring seconds (each member for hunt; empty: box default)</label>
                <input id="rg-seconds" name="ringSeconds" type="number" min="1" max="300">
                <label for="rg-final">When nobody answers, go to (empty: the caller hears the outcome)</label>
                <input id="rg-final" name="finalDestination" inputmode="tel" autocomplete="off">
                <div class="buttons"><button type="submit">Save ring group</button></div>
              </form>
            </section>
          `,
      }],
    },
  };
}
