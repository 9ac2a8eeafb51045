import assert from "node:assert/strict";
import { VirtualClock } from "../clock/mod.ts";
import { createLogger } from "../log/mod.ts";
import { createMailStore, type MailStore } from "../storage/mod.ts";
import { tempStorage } from "../storage/_testing.ts";
import { backoffDelay, MailService, parseRecipients } from "./mod.ts";
import type { SmtpMessage, SmtpTransportFactory } from "./mod.ts";

const MIN = 60_000;

function fakeTransport(script: (n: number) => Error | undefined) {
  const sends: { at: number; message: SmtpMessage; password: string }[] = [];
  let clock: VirtualClock;
  const factory: SmtpTransportFactory = (s) => ({
    send(message) {
      sends.push({ at: clock.now(), message, password: s.password });
      const err = script(sends.length);
      return err === undefined
        ? Promise.resolve({ response: "250 ok", messageId: "<x@y>" })
        : Promise.reject(err);
    },
    close() {},
  });
  return { sends, factory, bind: (c: VirtualClock) => (clock = c) };
}

function setup(script: (n: number) => Error | undefined, options: { maxAttempts?: number } = {}) {
  const clock = new VirtualClock();
  const storage = tempStorage({ clock });
  const store = createMailStore(storage.db, { clock, dataDir: storage.dataDir });
  store.saveSmtpSettings({
    host: "smtp.example.com",
    port: 587,
    security: "starttls",
    username: "pbx",
    password: "hunter2-secret",
    from: "pbx@example.com",
  });
  const lines: string[] = [];
  const logger = createLogger("mail", { sink: (l) => lines.push(l) });
  const t = fakeTransport(script);
  t.bind(clock);
  const make = (s: MailStore = store) =>
    new MailService(s, {
      clock,
      logger,
      outboxDir: `${storage.dataDir}/mail-outbox`,
      transport: t.factory,
      maxAttempts: options.maxAttempts,
    });
  return { clock, storage, store, lines, sends: t.sends, make };
}

function smtpError(response: string): Error {
  return Object.assign(new Error(`Message failed: ${response}`), { response, command: "DATA" });
}

Deno.test("backoff doubles from 1 min and stops at 1 h", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => backoffDelay(n) / MIN), [
    1,
    2,
    4,
    8,
    16,
    32,
    60,
    60,
    60,
  ]);
  assert.deepEqual(backoffDelay(3, { baseMs: 1000, maxMs: 3000 }), 3000);
});

Deno.test("a refused message is retried at 1, 2 and 4 min in virtual time, then sent", async () => {
  const s = setup((n) => n <= 3 ? smtpError("451 4.3.0 try again later") : undefined);
  try {
    const svc = s.make();
    svc.start();
    const id = svc.enqueue({
      to: "a@example.com",
      subject: "hi",
      text: "body",
      attachments: [{ filename: "a.txt", content: "hello", contentType: "text/plain" }],
    });
    await svc.idle();
    assert.deepEqual(s.sends.length, 1);
    assert.deepEqual(s.sends[0]!.password, "hunter2-secret");
    let m = svc.get(id)!;
    assert.deepEqual([m.status, m.attempts], ["queued", 1]);
    assert.match(m.lastError!, /451 4\.3\.0 try again later \(DATA\)/);
    s.clock.advance(MIN - 1);
    await svc.idle();
    assert.deepEqual(s.sends.length, 1, "no retry before the minute is up");
    for (const step of [1, 2 * MIN, 4 * MIN]) {
      s.clock.advance(step);
      await svc.idle();
    }
    assert.deepEqual(s.sends.map((x) => x.at), [0, MIN, 3 * MIN, 7 * MIN]);
    m = svc.get(id)!;
    assert.deepEqual([m.status, m.attempts], ["sent", 4]);
    assert.throws(() => Deno.statSync(m.attachments[0]!.path), Deno.errors.NotFound);
    assert(s.lines.some((l) => /WARN .*mail attempt failed.*451 4\.3\.0/.test(l)));
    assert(!s.lines.some((l) => l.includes("hunter2-secret")), "password never logged");
    await svc.stop();
  } finally {
    s.storage.dispose();
  }
});

Deno.test("after maxAttempts the message is marked failed with the SMTP answer", async () => {
  const s = setup(() => smtpError("550 5.1.1 mailbox unavailable"), { maxAttempts: 3 });
  try {
    const svc = s.make();
    svc.start();
    const id = svc.enqueue({ to: ["a@example.com"], subject: "x", text: "y" });
    for (let i = 0; i < 10; i++) {
      await svc.idle();
      s.clock.advance(10 * MIN);
    }
    await svc.idle();
    const m = svc.get(id)!;
    assert.deepEqual([m.status, m.attempts, s.sends.length], ["failed", 3, 3]);
    assert.match(m.lastError!, /550 5\.1\.1/);
    assert(s.lines.some((l) => /ERROR .*mail failed, giving up.*550/.test(l)));
    assert.deepEqual(s.clock.pending, 0, "nothing left scheduled");
    // retry-now gives it one more go.
    svc.retryNow(id);
    await svc.idle();
    assert.deepEqual(s.sends.length, 4);
    svc.delete(id);
    assert.deepEqual(svc.get(id), undefined);
    await svc.stop();
  } finally {
    s.storage.dispose();
  }
});

Deno.test("messages queued before a restart are delivered by the next service", async () => {
  const s = setup(() => undefined);
  try {
    const first = s.make();
    const id = first.enqueue({ to: "a@example.com", subject: "kept", text: "y" }); // never started
    await first.stop();
    const second = s.make(createMailStore(s.storage.db, { clock: s.clock, dataDir: s.storage.dataDir }));
    second.start();
    await second.idle();
    assert.deepEqual(second.get(id)!.status, "sent");
    assert.deepEqual(s.sends[0]!.message.subject, "kept");
    await second.stop();
  } finally {
    s.storage.dispose();
  }
});

Deno.test("SMTP password is stored sealed and settings never carry it", () => {
  const s = setup(() => undefined);
  try {
    const shown = s.store.smtpSettings()!;
    assert.deepEqual(shown.passwordSet, true);
    assert(!JSON.stringify(shown).includes("hunter2"));
    const raw = JSON.stringify(s.storage.db.prepare("SELECT * FROM settings").all());
    assert(!raw.includes("hunter2"), "password not in clear in the database");
    assert.deepEqual(s.store.smtpPassword(), "hunter2-secret");
    s.store.saveSmtpSettings({ port: 2525 });
    assert.deepEqual(s.store.smtpPassword(), "hunter2-secret", "a patch without password keeps it");
    s.store.saveSmtpSettings({ password: null });
    assert.deepEqual(s.store.smtpSettings()!.passwordSet, false);
    assert.throws(() => s.store.saveSmtpSettings({ port: 0 }), RangeError);
    assert.throws(() => s.store.saveSmtpSettings({ security: "ssl" as never }), /security must be/);
  } finally {
    s.storage.dispose();
  }
});

Deno.test("bad recipients and attachments are refused with a clear error", () => {
  const s = setup(() => undefined);
  try {
    const svc = s.make();
    assert.throws(() => parseRecipients(""), /at least one recipient/);
    assert.throws(
      () => svc.enqueue({ to: "not-an-address", subject: "x", text: "y" }),
      /not an email address/,
    );
    assert.throws(
      () => svc.enqueue({ to: "a@b.c", subject: "x", text: "y", attachments: [{ filename: "f" }] }),
      /either path or content/,
    );
    assert.throws(
      () =>
        svc.enqueue({
          to: "a@b.c",
          subject: "x",
          text: "y",
          attachments: [{ filename: "f", path: "/nonexistent/file.wav" }],
        }),
      Deno.errors.NotFound,
    );
    assert.deepEqual(svc.list().length, 0);
  } finally {
    s.storage.dispose();
  }
});
