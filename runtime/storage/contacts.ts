/** External phone book contacts typed in by the admin (local extensions are added by provisioning). */
import type { DatabaseSync } from "node:sqlite";
import type { Clock } from "../clock/mod.ts";

/** A stored external contact. */
export interface PhonebookContact {
  id: number;
  name: string;
  number: string;
  group: string | null;
  createdAt: number;
}

/** Input for `ContactStore.create`. */
export interface NewContact {
  name: string;
  number: string;
  group?: string | null | undefined;
}

/** Typed access to the contacts table. */
export interface ContactStore {
  /** All contacts ordered by name (a phone book is small: at most `MAX_CONTACTS`). */
  list(): PhonebookContact[];
  get(id: number): PhonebookContact | undefined;
  /** RangeError/TypeError on bad input; RangeError when the phone book is full. */
  create(input: NewContact): PhonebookContact;
  delete(id: number): boolean;
}

/** Phone book size limit: phones choke on much larger directories. */
export const MAX_CONTACTS = 2000;

// deno-lint-ignore no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

function text(what: string, value: unknown, max: number): string {
  if (typeof value !== "string") throw new TypeError(`${what} must be a string, got ${typeof value}`);
  const t = value.trim();
  if (t.length < 1 || t.length > max) {
    throw new RangeError(`${what} must be 1-${max} characters, got ${t.length}`);
  }
  if (CONTROL_RE.test(t)) throw new RangeError(`${what} must not contain control characters`);
  return t;
}

interface Row {
  id: number;
  name: string;
  number: string;
  group: string | null;
  created_at: number;
}

const toContact = (r: Row): PhonebookContact => ({
  id: r.id,
  name: r.name,
  number: r.number,
  group: r.group,
  createdAt: r.created_at,
});

/** Build the store over an open, migrated database. */
export function createContactStore(db: DatabaseSync, options: { clock: Clock }): ContactStore {
  const st = {
    list: db.prepare(`SELECT id, name, number, "group", created_at FROM contacts ORDER BY name, id`),
    get: db.prepare(`SELECT id, name, number, "group", created_at FROM contacts WHERE id = ?`),
    count: db.prepare("SELECT COUNT(*) AS n FROM contacts"),
    insert: db.prepare(`INSERT INTO contacts (name, number, "group", created_at) VALUES (?, ?, ?, ?)`),
    delete: db.prepare("DELETE FROM contacts WHERE id = ?"),
  };
  return {
    list() {
      return (st.list.all() as unknown as Row[]).map(toContact);
    },
    get(id) {
      if (!Number.isSafeInteger(id)) return undefined;
      const r = st.get.get(id) as Row | undefined;
      return r === undefined ? undefined : toContact(r);
    },
    create(input) {
      if (typeof input !== "object" || input === null) throw new TypeError("contact must be an object");
      const name = text("contact name", input.name, 64);
      const number = text("contact number", input.number, 32);
      if (!/^\+?[0-9*#]{1,31}$/.test(number)) {
        throw new RangeError(
          `contact number must be digits, * or # (optional leading +), got ${JSON.stringify(number)}`,
        );
      }
      const group = input.group === undefined || input.group === null || input.group === ""
        ? null
        : text("contact group", input.group, 64);
      if ((st.count.get() as { n: number }).n >= MAX_CONTACTS) {
        throw new RangeError(`the phone book is full (${MAX_CONTACTS} contacts)`);
      }
      const r = st.insert.run(name, number, group, options.clock.wallNow());
      return toContact(st.get.get(Number(r.lastInsertRowid)) as unknown as Row);
    },
    delete(id) {
      return Number.isSafeInteger(id) && Number(st.delete.run(id).changes) > 0;
    },
  };
}
