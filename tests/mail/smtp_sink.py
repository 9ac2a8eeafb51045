"""A real SMTP server for the mail tests (aiosmtpd, Debian python3-aiosmtpd).

Each accepted message is written as DIR/<n>.eml (atomically) and announced on stdout as
`RECEIVED <path>`. Options: --reply "550 5.7.1 no" answers DATA with that instead of accepting;
--tls-cert/--tls-key offer (and require) STARTTLS; --auth user:password requires AUTH (LOGIN/PLAIN).
Prints `READY <port>` once listening; SIGTERM stops it.
"""
import argparse
import os
import signal
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--dir", required=True)
p.add_argument("--reply", default="")
p.add_argument("--tls-cert", default="")
p.add_argument("--tls-key", default="")
p.add_argument("--auth", default="")
a = p.parse_args()


class Handler:
    def __init__(self):
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        if a.reply:
            print(f"REFUSED {a.reply}", flush=True)
            return a.reply
        self.n += 1
        path = os.path.join(a.dir, f"{self.n}.eml")
        with open(path + ".tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(path + ".tmp", path)
        tls = session.ssl is not None
        print(f"RECEIVED {path} from={envelope.mail_from} to={','.join(envelope.rcpt_tos)} "
              f"tls={tls} auth={session.authenticated}", flush=True)
        return "250 2.0.0 stored"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and \
        f"{auth_data.login.decode()}:{auth_data.password.decode()}" == a.auth
    print(f"AUTH {mechanism} {'ok' if ok else 'refused'}", flush=True)
    return AuthResult(success=ok, handled=False)


kw = {}
if a.tls_cert:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.tls_cert, a.tls_key)
    kw["tls_context"] = ctx
    kw["require_starttls"] = True
if a.auth:
    kw["authenticator"] = authenticator
    kw["auth_required"] = True
    kw["auth_require_tls"] = bool(a.tls_cert)

controller = Controller(Handler(), hostname="127.0.0.1", port=a.port, **kw)
controller.start()
print(f"READY {a.port}", flush=True)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
try:
    signal.pause()
finally:
    controller.stop()
