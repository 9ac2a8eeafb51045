/**
 * The trunk feature's tables (migrations 070-072): trunks (config JSON + sealed password), DIDs,
 * outbound routes in order, outside-call permissions and E911 locations.
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import type { Clock } from "../../clock/mod.ts";
import type { SecretBox } from "../../storage/mod.ts";
import {
  type CallClass,
  checkLocation,
  checkRoute,
  checkTrunk,
  DEFAULT_CLASSES,
  type Did,
  type Location,
  type OutboundRoute,
  type Trunk,
} from "./config.ts";

/** A trunk as the API shows it: never the password, only whether one is set. */
export type TrunkView = Trunk & { hasPassword: boolean };

/** Typed access to the tables. */
export class TrunkStore {
  #db: DatabaseSync;
  #clock: Clock;
  #secrets: SecretBox;
  /** Read on every call set-up: kept in memory, dropped on every write. */
  #cache: { trunks?: Trunk[]; dids?: Did[]; routes?: OutboundRoute[] } = {};

  constructor(db: DatabaseSync, options: { clock: Clock; secrets: SecretBox }) {
    this.#db = db;
    this.#clock = options.clock;
    this.#secrets = options.secrets;
  }

  #dirty(): void {
    this.#cache = {};
  }

  /** Every trunk. */
  trunks(): Trunk[] {
    return this.#cache.trunks ??= (this.#db.prepare("SELECT id, config FROM trunks ORDER BY id").all() as {
      id: string;
      config: string;
    }[]).flatMap((r) => {
      try {
        return [checkTrunk(JSON.parse(r.config), r.id).trunk];
      } catch {
        return []; // a damaged row routes nothing rather than stopping every call
      }
    });
  }

  trunk(id: string): Trunk | undefined {
    return this.trunks().find((t) => t.id === id);
  }

  view(t: Trunk): TrunkView {
    const row = this.#db.prepare("SELECT secret FROM trunks WHERE id = ?").get(t.id) as
      | { secret: string | null }
      | undefined;
    return { ...t, hasPassword: row?.secret != null };
  }

  /** Store a trunk; `password` undefined keeps the stored one, "" clears it. */
  putTrunk(trunk: Trunk, password: string | undefined): void {
    const sealed = password === undefined
      ? (this.#db.prepare("SELECT secret FROM trunks WHERE id = ?").get(trunk.id) as
        | { secret: string | null }
        | undefined)
        ?.secret ?? null
      : password === ""
      ? null
      : this.#secrets.seal(password, `trunk:${trunk.id}`);
    this.#db.prepare(
      `INSERT INTO trunks (id, config, secret, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET config = excluded.config, secret = excluded.secret, updated_at = excluded.updated_at`,
    ).run(trunk.id, JSON.stringify(trunk), sealed, this.#clock.wallNow());
    this.#dirty();
  }

  /** The clear password, for the registration client only. Never log it. */
  password(id: string): string | undefined {
    const row = this.#db.prepare("SELECT secret FROM trunks WHERE id = ?").get(id) as
      | { secret: string | null }
      | undefined;
    if (row?.secret == null) return undefined;
    return this.#secrets.unseal(row.secret, `trunk:${id}`);
  }

  deleteTrunk(id: string): boolean {
    const n = this.#db.prepare("DELETE FROM trunks WHERE id = ?").run(id).changes;
    this.#dirty();
    return Number(n) > 0;
  }

  dids(): Did[] {
    return this.#cache.dids ??= (this.#db.prepare(
      "SELECT number, trunk, destination, name FROM trunk_dids ORDER BY number",
    ).all() as { number: string; trunk: string | null; destination: string; name: string }[]).map((r) => ({
      number: r.number,
      destination: r.destination,
      name: r.name,
      ...(r.trunk === null ? {} : { trunk: r.trunk }),
    }));
  }

  putDid(d: Did): void {
    this.#db.prepare(
      `INSERT INTO trunk_dids (number, trunk, destination, name, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(number) DO UPDATE SET trunk = excluded.trunk, destination = excluded.destination,
         name = excluded.name, updated_at = excluded.updated_at`,
    ).run(d.number, d.trunk ?? null, d.destination, d.name, this.#clock.wallNow());
    this.#dirty();
  }

  deleteDid(number: string): boolean {
    const n = this.#db.prepare("DELETE FROM trunk_dids WHERE number = ?").run(number).changes;
    this.#dirty();
    return Number(n) > 0;
  }

  /** Outbound routes in their order. */
  routes(): OutboundRoute[] {
    return this.#cache.routes ??= (this.#db.prepare(
      "SELECT id, config FROM outbound_routes ORDER BY position, id",
    ).all() as { id: string; config: string }[]).flatMap((r) => {
      try {
        return [checkRoute(JSON.parse(r.config), r.id)];
      } catch {
        return [];
      }
    });
  }

  putRoute(route: OutboundRoute, position?: number): void {
    const existing = this.#db.prepare("SELECT position FROM outbound_routes WHERE id = ?").get(route.id) as
      | { position: number }
      | undefined;
    const max =
      (this.#db.prepare("SELECT COALESCE(MAX(position), 0) AS m FROM outbound_routes").get() as { m: number })
        .m;
    const pos = position ?? existing?.position ?? max + 1;
    this.#db.prepare(
      `INSERT INTO outbound_routes (id, position, config, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET position = excluded.position, config = excluded.config, updated_at = excluded.updated_at`,
    ).run(route.id, pos, JSON.stringify(route), this.#clock.wallNow());
    this.#dirty();
  }

  deleteRoute(id: string): boolean {
    const n = this.#db.prepare("DELETE FROM outbound_routes WHERE id = ?").run(id).changes;
    this.#dirty();
    return Number(n) > 0;
  }

  /** An extension's outside-call classes (the default without a row). */
  classes(extension: string): CallClass[] {
    const row = this.#db.prepare("SELECT classes FROM outbound_permissions WHERE extension = ?").get(
      extension,
    ) as
      | { classes: string }
      | undefined;
    if (row === undefined) return [...DEFAULT_CLASSES];
    try {
      return JSON.parse(row.classes) as CallClass[];
    } catch {
      return [...DEFAULT_CLASSES];
    }
  }

  setClasses(extension: string, classes: readonly CallClass[]): void {
    this.#db.prepare(
      `INSERT INTO outbound_permissions (extension, classes, updated_at) VALUES (?, ?, ?)
       ON CONFLICT(extension) DO UPDATE SET classes = excluded.classes, updated_at = excluded.updated_at`,
    ).run(extension, JSON.stringify(classes), this.#clock.wallNow());
  }

  location(kind: "extension" | "device", id: string): Location | undefined {
    const row = this.#db.prepare("SELECT location FROM e911_locations WHERE kind = ? AND id = ?").get(
      kind,
      id,
    ) as
      | { location: string }
      | undefined;
    if (row === undefined) return undefined;
    try {
      return checkLocation(JSON.parse(row.location));
    } catch {
      return undefined;
    }
  }

  locations(): { kind: "extension" | "device"; id: string; location: Location }[] {
    return (this.#db.prepare("SELECT kind, id, location FROM e911_locations ORDER BY kind, id").all() as {
      kind: "extension" | "device";
      id: string;
      location: string;
    }[]).flatMap((r) => {
      try {
        return [{ kind: r.kind, id: r.id, location: checkLocation(JSON.parse(r.location)) }];
      } catch {
        return [];
      }
    });
  }

  setLocation(kind: "extension" | "device", id: string, location: Location): void {
    this.#db.prepare(
      `INSERT INTO e911_locations (kind, id, location, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(kind, id) DO UPDATE SET location = excluded.location, updated_at = excluded.updated_at`,
    ).run(kind, id, JSON.stringify(location), this.#clock.wallNow());
  }

  deleteLocation(kind: "extension" | "device", id: string): boolean {
    return Number(
      this.#db.prepare("DELETE FROM e911_locations WHERE kind = ? AND id = ?").run(kind, id).changes,
    ) > 0;
  }

  /**
   * A registration of `extension` from `address`: the first one is remembered; one from another
   * network (IPv4 /24, else the whole address) flags the phone as moved. Returns the moved flag.
   */
  seen(extension: string, address: string): boolean {
    const row = this.#db.prepare("SELECT address, moved FROM e911_seen WHERE extension = ?").get(extension) as
      | { address: string; moved: number }
      | undefined;
    const net = (a: string) => /^\d+\.\d+\.\d+\.\d+$/.test(a) ? a.split(".").slice(0, 3).join(".") : a;
    if (row === undefined) {
      this.confirm(extension, address);
      return false;
    }
    if (row.moved === 1 || net(row.address) === net(address)) return row.moved === 1;
    this.#db.prepare("UPDATE e911_seen SET moved = 1, updated_at = ? WHERE extension = ?").run(
      this.#clock.wallNow(),
      extension,
    );
    return true;
  }

  /** Whether the extension's phone moved since its location was confirmed. */
  moved(extension: string): boolean {
    const row = this.#db.prepare("SELECT moved FROM e911_seen WHERE extension = ?").get(extension) as
      | { moved: number }
      | undefined;
    return row?.moved === 1;
  }

  /** The location was (re)confirmed at `address`: not moved. */
  confirm(extension: string, address: string): void {
    this.#db.prepare(
      `INSERT INTO e911_seen (extension, address, moved, updated_at) VALUES (?, ?, 0, ?)
       ON CONFLICT(extension) DO UPDATE SET address = excluded.address, moved = 0, updated_at = excluded.updated_at`,
    ).run(extension, address, this.#clock.wallNow());
  }
}
