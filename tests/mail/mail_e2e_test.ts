/**
 * The mail service against a real SMTP server: aiosmtpd (Debian python3-aiosmtpd) run by the test
 * on 127.0.0.1 (tests/mail/smtp_sink.py), driven through the REST API (/api/mail) and
 * MailService.enqueue as voicemail will call it. Messages are parsed as MIME by Python's email
 * package (tests/mail/parse_mime.py) and attachments byte-compared.
 */
import assert from "node:assert/strict";
import { realClock } from "../../runtime/clock/mod.ts";
import { createLogger } from "../../runtime/log/mod.ts";
import { MailService } from "../../runtime/mail/mod.ts";
import { createMailStore, openStorage } from "../../runtime/storage/mod.ts";
import type { MailControl } from "../../web/api_mail.ts";
import { webFixture } from "../../web/_test_fixture.ts";
import {
  freePort,
  hasAiosmtpd,
  makeTestWav,
  parseMime,
  startSmtpSink as startSink,
} from "../_harness/mod.ts";

const ignore = !hasAiosmtpd();

function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = `${dir}/cert.pem`;
  const key = `${dir}/key.pem`;
  const out = new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-keyout",
      key,
      "-out",
      cert,
    ],
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return { cert, key };
}

/** A web fixture whose /api/mail is a real MailService (real clock, so real retries). */
async function mailFixture(options: { baseMs?: number; maxAttempts?: number } = {}) {
  const lines: string[] = [];
  const logger = createLogger("mail", { sink: (l) => lines.push(l) });
  const holder: { svc?: MailService } = {}; // the fixture needs the control before storage exists
  const s = () => holder.svc!;
  const control: MailControl = {
    smtpSettings: () => s().smtpSettings(),
    saveSmtpSettings: (p) => s().saveSmtpSettings(p),
    sendTest: (to) => s().sendTest(to),
    list: (o) => s().list(o),
    get: (id) => s().get(id),
    retryNow: (id) => s().retryNow(id),
    delete: (id) => s().delete(id),
  };
  const f = await webFixture({ deps: { mail: control } });
  const make = () =>
    new MailService(createMailStore(f.storage.db, { clock: realClock, dataDir: f.storage.dataDir }), {
      clock: realClock,
      logger,
      outboxDir: `${f.storage.dataDir}/mail-outbox`,
      baseMs: options.baseMs ?? 200,
      maxMs: options.baseMs ?? 200,
      maxAttempts: options.maxAttempts,
    });
  holder.svc = make();
  holder.svc.start();
  const token = await f.login();
  const call = async (method: string, path: string, json?: unknown) => {
    const res = await f.req(path, { method, token, ...(json === undefined ? {} : { json }) });
    const text = await res.text();
    return { status: res.status, body: text === "" ? null : JSON.parse(text) };
  };
  return {
    f,
    lines,
    get svc() {
      return s();
    },
    call,
    async [Symbol.asyncDispose]() {
      await holder.svc?.stop();
      f[Symbol.dispose]();
    },
  };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test({
  name: "a WAV attachment reaches aiosmtpd over STARTTLS with AUTH, parsed as MIME and byte-equal",
  ignore,
  async fn() {
    const tmp = Deno.makeTempDirSync({ prefix: "pbx-mail-e2e-" });
    try {
      const tls = selfSignedCert(tmp);
      await using sink = await startSink({ tls, auth: "pbx-user:s3cret-smtp-pw" });
      await using m = await mailFixture();
      let r = await m.call("PUT", "/api/mail/settings", {
        host: "127.0.0.1",
        port: sink.port,
        security: "starttls",
        username: "pbx-user",
        password: "s3cret-smtp-pw",
        from: "PBX <pbx@example.test>",
        verifyCertificate: false, // the sink's certificate is self-signed
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      r = await m.call("GET", "/api/mail/settings");
      assert.equal(r.body.settings.passwordSet, true);
      assert.ok(!JSON.stringify(r.body).includes("s3cret-smtp-pw"), "GET never returns the password");

      r = await m.call("POST", "/api/mail/test", { to: "admin@example.test" });
      assert.deepEqual([r.status, r.body.ok], [200, true], JSON.stringify(r.body));
      const test = await parseMime(await sink.received(1));
      assert.equal(test.subject, "PBX test email");
      assert.match(
        sink.proc.logs(),
        /RECEIVED \S+ from=pbx@example.test to=admin@example.test tls=True auth=True/,
      );

      const wavPath = `${tmp}/msg0001.wav`;
      await makeTestWav(wavPath, { seconds: 2 });
      const wav = Deno.readFileSync(wavPath);
      const id = m.svc.enqueue({
        to: "201@example.test",
        subject: "New voicemail from 202",
        text: "Caller: 202\nDuration: 0:02",
        attachments: [{ filename: "msg0001.wav", path: wavPath, contentType: "audio/wav" }],
      });
      Deno.removeSync(wavPath); // the outbox holds its own copy
      const parsed = await parseMime(await sink.received(2));
      assert.equal(parsed.subject, "New voicemail from 202");
      assert.match(parsed.text, /Caller: 202/);
      assert.equal(parsed.attachments.length, 1);
      const att = parsed.attachments[0]!;
      assert.deepEqual([att.filename, att.contentType], ["msg0001.wav", "audio/wav"]);
      const decoded = Uint8Array.from(atob(att.base64), (ch) => ch.charCodeAt(0));
      assert.deepEqual(decoded, wav, "attachment decodes to the same bytes");

      const sent = await until("status sent", async () => {
        const x = await m.call("GET", `/api/mail/outbox/${id}`);
        return x.body.status === "sent" ? x.body : undefined;
      });
      assert.equal(sent.attempts, 1);
      assert.ok(!m.lines.some((l) => l.includes("s3cret-smtp-pw")), "password never logged");
    } finally {
      Deno.removeSync(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "certificates are verified by default: a self-signed STARTTLS server is refused with the reason",
  ignore,
  async fn() {
    const tmp = Deno.makeTempDirSync({ prefix: "pbx-mail-e2e-" });
    try {
      await using sink = await startSink({ tls: selfSignedCert(tmp) });
      await using m = await mailFixture();
      await m.call("PUT", "/api/mail/settings", {
        host: "127.0.0.1",
        port: sink.port,
        security: "starttls",
        from: "pbx@example.test",
      });
      const r = await m.call("POST", "/api/mail/test", { to: "admin@example.test" });
      assert.equal(r.body.ok, false);
      assert.match(r.body.error, /certificate/i);
      assert.doesNotMatch(sink.proc.logs(), /RECEIVED/);
    } finally {
      Deno.removeSync(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "a wrong SMTP password: the test email reports the server's 535 and the password is not echoed",
  ignore,
  async fn() {
    await using sink = await startSink({ auth: "pbx-user:right-password" });
    await using m = await mailFixture();
    await m.call("PUT", "/api/mail/settings", {
      host: "127.0.0.1",
      port: sink.port,
      security: "none",
      username: "pbx-user",
      password: "wrong-password-xyz",
      from: "pbx@example.test",
    });
    const r = await m.call("POST", "/api/mail/test", { to: "admin@example.test" });
    assert.equal(r.status, 200);
    assert.equal(r.body.ok, false);
    assert.match(r.body.error, /535/);
    assert.ok(!r.body.error.includes("wrong-password-xyz"));
    assert.ok(!m.lines.some((l) => l.includes("wrong-password-xyz")), "password never logged");
  },
});

Deno.test({
  name: "a refusing server (451, closed port) is retried with the error in the API; new settings deliver it",
  ignore,
  async fn() {
    await using refusing = await startSink({ reply: "451 4.3.0 mailbox busy, try later" });
    await using accepting = await startSink();
    await using m = await mailFixture({ baseMs: 200 });
    const closedPort = await freePort();
    await m.call("PUT", "/api/mail/settings", {
      host: "127.0.0.1",
      port: closedPort,
      security: "none",
      from: "pbx@example.test",
    });
    const id = m.svc.enqueue({ to: "a@example.test", subject: "kept", text: "y" });
    const refused = await until("a refused connection in the API", async () => {
      const x = await m.call("GET", `/api/mail/outbox/${id}`);
      return x.body.lastError?.includes("ECONNREFUSED") ? x.body : undefined;
    });
    assert.equal(refused.status, "queued");

    let r = await m.call("PUT", "/api/mail/settings", { port: refusing.port });
    assert.equal(r.status, 200);
    const busy = await until("the 451 answer in the API", async () => {
      const x = await m.call("GET", "/api/mail/outbox?status=queued");
      const msg = x.body.messages.find((e: { id: number }) => e.id === id);
      return msg?.lastError?.includes("451 4.3.0 mailbox busy") && msg.attempts >= 3 ? msg : undefined;
    });
    assert.equal(busy.status, "queued");
    assert.match(refused.lastError + busy.lastError, /ECONNREFUSED.*451/);
    assert.ok(m.lines.some((l) => /WARN mail: mail attempt failed, will retry .*451 4\.3\.0/.test(l)));
    assert.match(refusing.proc.logs(), /REFUSED 451/);

    r = await m.call("PUT", "/api/mail/settings", { port: accepting.port });
    const parsed = await parseMime(await accepting.received(1));
    assert.equal(parsed.subject, "kept");
    await until(
      "sent",
      async () => (await m.call("GET", `/api/mail/outbox/${id}`)).body.status === "sent" || undefined,
    );
  },
});

Deno.test({
  name: "a permanent 550 ends as failed after maxAttempts; retry-now and delete work from the API",
  ignore,
  async fn() {
    await using sink = await startSink({ reply: "550 5.1.1 no such user" });
    await using m = await mailFixture({ baseMs: 100, maxAttempts: 2 });
    await m.call("PUT", "/api/mail/settings", {
      host: "127.0.0.1",
      port: sink.port,
      security: "none",
      from: "p@x.test",
    });
    const id = m.svc.enqueue({
      to: "nobody@example.test",
      subject: "s",
      text: "t",
      attachments: [{ filename: "a.txt", content: "hello" }],
    });
    const failed = await until("failed", async () => {
      const x = await m.call("GET", "/api/mail/outbox?status=failed");
      return x.body.messages.find((e: { id: number }) => e.id === id);
    });
    assert.equal(failed.attempts, 2);
    assert.match(failed.lastError, /550 5\.1\.1 no such user/);
    assert.deepEqual(failed.attachments, [{ filename: "a.txt", contentType: "application/octet-stream" }]);
    assert.ok(m.lines.some((l) => /ERROR mail: mail failed, giving up .*550/.test(l)));
    const counts = (await m.call("GET", "/api/mail/outbox")).body.counts;
    assert.deepEqual(counts, { queued: 0, sent: 0, failed: 1 });

    let r = await m.call("POST", `/api/mail/outbox/${id}/retry`);
    assert.equal(r.status, 200);
    await until("a third attempt", async () => {
      const x = await m.call("GET", `/api/mail/outbox/${id}`);
      return x.body.attempts === 3 && x.body.status === "failed" ? true : undefined;
    });
    r = await m.call("DELETE", `/api/mail/outbox/${id}`);
    assert.equal(r.status, 204);
    r = await m.call("GET", `/api/mail/outbox/${id}`);
    assert.equal(r.status, 404);
    assert.deepEqual([...Deno.readDirSync(`${m.f.storage.dataDir}/mail-outbox`)], [], "copies removed");

    // Bad input gets a clear 4xx.
    r = await m.call("PUT", "/api/mail/settings", { security: "ssl" });
    assert.equal(r.status, 400);
    assert.match(r.body.error, /security/);
    r = await m.call("POST", "/api/mail/test", { to: "not an address" });
    assert.equal(r.status, 400);
    assert.match(r.body.error, /not an email address/);
    r = await m.call("POST", `/api/mail/outbox/abc/retry`);
    assert.equal(r.status, 400);
  },
});

Deno.test({
  name: "a message queued before a restart is delivered after the storage is reopened",
  ignore,
  async fn() {
    await using sink = await startSink();
    const dataDir = Deno.makeTempDirSync({ prefix: "pbx-mail-restart-" });
    const logger = createLogger("mail", { sink: () => {} });
    try {
      const closed = await freePort();
      let storage = openStorage({ dataDir, pbkdf2Iterations: 1000 });
      const make = () =>
        new MailService(createMailStore(storage.db, { clock: realClock, dataDir }), {
          clock: realClock,
          logger,
          outboxDir: `${dataDir}/mail-outbox`,
        });
      let svc = make();
      svc.saveSmtpSettings({ host: "127.0.0.1", port: closed, security: "none", from: "p@x.test" });
      svc.start();
      const id = svc.enqueue({
        to: "a@example.test",
        subject: "survives",
        text: "t",
        attachments: [{ filename: "b.bin", content: new Uint8Array([0, 1, 2, 255]) }],
      });
      await until("first attempt", () => Promise.resolve(svc.get(id)!.attempts >= 1 || undefined));
      await svc.stop();
      storage.close();

      storage = openStorage({ dataDir, pbkdf2Iterations: 1000 });
      svc = make();
      svc.saveSmtpSettings({ port: sink.port }); // before start: the queue resumes on start()
      svc.start();
      const parsed = await parseMime(await sink.received(1));
      assert.equal(parsed.subject, "survives");
      assert.equal(parsed.attachments[0]!.base64, btoa(String.fromCharCode(0, 1, 2, 255)));
      await until("sent", () => Promise.resolve(svc.get(id)!.status === "sent" || undefined));
      await svc.stop();
      storage.close();
    } finally {
      Deno.removeSync(dataDir, { recursive: true });
    }
  },
});
