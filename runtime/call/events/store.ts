/**
 * Subscription stores: SQLite (table `subscriptions`, migration 10) and in memory for tests.
 */
import type { DatabaseSync } from "node:sqlite";
import type { StoredSubscription, SubscriptionStore } from "./types.ts";

/** A store over the appliance database (after migration 10 ran). */
export function createSqliteSubscriptionStore(db: DatabaseSync): SubscriptionStore {
  const put = db.prepare(
    "INSERT OR REPLACE INTO subscriptions (id, event, resource, source, expires_at, data) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const del = db.prepare("DELETE FROM subscriptions WHERE id = ?");
  const all = db.prepare("SELECT data FROM subscriptions ORDER BY expires_at");
  return {
    list() {
      const out: StoredSubscription[] = [];
      for (const row of all.all() as { data: string }[]) {
        try {
          out.push(JSON.parse(row.data) as StoredSubscription);
        } catch { /* a row we cannot read is skipped; it expires out of the table on restore */ }
      }
      return out;
    },
    put(sub) {
      put.run(sub.id, sub.event, sub.resource, sub.peer.address, sub.expiresAt, JSON.stringify(sub));
    },
    remove(id) {
      del.run(id);
    },
  };
}

/** A store in memory (tests; also what a restart loses without SQLite). */
export function createMemorySubscriptionStore(): SubscriptionStore & { size(): number } {
  const m = new Map<string, StoredSubscription>();
  return {
    list: () => [...m.values()].map((s) => structuredClone(s)),
    put: (s) => void m.set(s.id, structuredClone(s)),
    remove: (id) => void m.delete(id),
    size: () => m.size,
  };
}
