#!/usr/bin/python3
"""smtp_sink.py - a local SMTP server for tests, demos and benchmarks.

A real SMTP server (aiosmtpd, Debian's python3-aiosmtpd) that accepts every
message and stores it as a file DIR/NNNNNN.eml, plus one JSON line per
message in DIR/index.jsonl (time received, envelope, Subject, Message-ID,
whether TLS and AUTH were used). It does not relay anything anywhere.

    /usr/bin/python3 tests/e2e/smtp_sink.py --dir /tmp/mail --port 2525
    /usr/bin/python3 tests/e2e/smtp_sink.py --dir D --port P --starttls --auth user:secret

--starttls generates a self-signed certificate with openssl (in DIR) and
requires STARTTLS before MAIL; --auth USER:PASS requires AUTH (PLAIN or
LOGIN) with those credentials. While a file DIR/refuse exists, every
message is answered with the reply in it (default "451 4.3.0 try again
later"), e.g. "554 5.7.1 no thanks"; remove the file to accept again.
While a file DIR/hold exists, a message is held after its data was
received, unanswered (the client waits for the reply to its final dot):
the mail is "in flight". DIR/held has the number held now. When hold is
removed, a held message is stored and answered as usual - or, when
DIR/release says "drop", answered "421" and NOT stored. Every held
message's Subject and Message-ID are appended to DIR/held.jsonl. (a test kills the
client while held and knows the held copy never counted).
--delay-ms N: a slow relay - each message is stored, then answered N ms
later (a client killed meanwhile never learns that it was accepted).
"Down" is simply this process not running. Prints "ready PORT" once
listening; stops on SIGTERM/SIGINT.
"""
import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, directory, delay_ms=0):
        self.dir = directory
        self.delay = delay_ms / 1000.0
        self.lock = threading.Lock()
        self.seq = 0
        self.held = 0
        os.makedirs(directory, exist_ok=True)
        for name in os.listdir(directory):
            if name.endswith(".eml"):
                try:
                    self.seq = max(self.seq, int(name[:-4]))
                except ValueError:
                    pass

    def _held(self, delta):
        with self.lock:
            self.held += delta
            with open(os.path.join(self.dir, "held.tmp"), "w") as f:
                f.write(str(self.held))
            os.rename(os.path.join(self.dir, "held.tmp"), os.path.join(self.dir, "held"))

    async def handle_DATA(self, server, session, envelope):
        hold = os.path.join(self.dir, "hold")
        if os.path.exists(hold):
            data = envelope.original_content or envelope.content
            if isinstance(data, str):
                data = data.encode()
            msg = email.message_from_bytes(data, policy=email.policy.default)
            with self.lock, open(os.path.join(self.dir, "held.jsonl"), "a") as f:
                f.write(json.dumps({"subject": str(msg.get("Subject", "")),
                                    "message_id": str(msg.get("Message-ID", ""))}) + "\n")
            self._held(1)
            try:
                # a client that goes away cancels this task: the message is not stored
                while os.path.exists(hold):
                    await asyncio.sleep(0.01)
            finally:
                self._held(-1)
            try:
                with open(os.path.join(self.dir, "release")) as f:
                    mode = f.read().strip()
            except FileNotFoundError:
                mode = "accept"
            if mode == "drop":
                return "421 4.3.0 held message dropped"
        refuse = os.path.join(self.dir, "refuse")
        if os.path.exists(refuse):
            with open(refuse) as f:
                reply = f.read().strip() or "451 4.3.0 try again later"
            return reply
        received = time.time()
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode()
        msg = email.message_from_bytes(data, policy=email.policy.default)
        with self.lock:
            self.seq += 1
            name = "%06d.eml" % self.seq
            path = os.path.join(self.dir, name)
            with open(path + ".tmp", "wb") as f:
                f.write(data)
            os.rename(path + ".tmp", path)
            rec = {
                "file": name,
                "received_at": received,
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "subject": str(msg.get("Subject", "")),
                "message_id": str(msg.get("Message-ID", "")),
                "tls": session.ssl is not None,
                "auth": bool(getattr(session, "authenticated", False)),
            }
            with open(os.path.join(self.dir, "index.jsonl"), "a") as f:
                f.write(json.dumps(rec) + "\n")
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 2.0.0 OK stored as " + name


def make_cert(directory):
    cert = os.path.join(directory, "sink-cert.pem")
    key = os.path.join(directory, "sink-key.pem")
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "2",
                        "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True)
    return cert, key


def main():
    ap = argparse.ArgumentParser(description="local SMTP sink")
    ap.add_argument("--dir", required=True, help="where messages are stored")
    ap.add_argument("--port", type=int, default=2525)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--starttls", action="store_true", help="require STARTTLS (self-signed cert)")
    ap.add_argument("--auth", metavar="USER:PASS", help="require AUTH with these credentials")
    ap.add_argument("--delay-ms", type=int, default=0, help="answer each stored message this late")
    a = ap.parse_args()

    sink = Sink(a.dir, a.delay_ms)
    kw = {}
    if a.starttls:
        import ssl
        cert, key = make_cert(a.dir)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        kw["tls_context"] = ctx
        kw["require_starttls"] = True
    if a.auth:
        user, _, password = a.auth.partition(":")

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword) and
                  auth_data.login.decode() == user and auth_data.password.decode() == password)
            return AuthResult(success=ok, handled=False)   # handled=False: aiosmtpd answers 535
        kw["authenticator"] = authenticator
        kw["auth_required"] = True
        kw["auth_require_tls"] = bool(a.starttls)
    # the self-test connection of Controller.start() cannot pass STARTTLS/AUTH rules
    # on every aiosmtpd version; ready_timeout keeps start() short either way
    ctl = Controller(sink, hostname=a.host, port=a.port, ready_timeout=5, **kw)
    ctl.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("ready %d" % a.port, flush=True)
    while not stop.is_set():
        stop.wait(0.5)
    ctl.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
