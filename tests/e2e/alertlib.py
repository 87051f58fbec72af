"""alertlib.py - shared parts of the alerting end-to-end tests.

On top of harness.py: the SMTP sink (smtp_sink.py) and the Pushover stand-in
(pushover_standin.py) as child processes, and AlertEnv - a private cluster,
a serverd configured to mail the sink and push to the stand-in, an agent,
a contact with email + Pushover, and helpers to post results and wait for
what arrives.
"""
import email
import email.policy
import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import Env, Server, free_port, wait_for  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
PO_TOKEN = "a" * 30           # the stand-in checks the format: 30 [A-Za-z0-9]
PO_USER = "u" * 29 + "1"


def _start_child(cmd, log_path):
    logf = open(log_path, "ab")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=logf, text=True)
    line = p.stdout.readline()
    if not line.startswith("ready"):
        p.kill()
        raise RuntimeError("%s did not start: %r" % (cmd[1], line))
    return p


def read_jsonl(path):
    """The records of a JSON-lines file another process appends to, oldest
    first: only whole lines (ending in a newline). A reader can meet the
    writer's last line half written, and must not take it for a bad one."""
    try:
        with open(path) as f:
            data = f.read()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in data.split("\n")[:-1] if line.strip()]


class SmtpSink:
    def __init__(self, tmp, starttls=False, auth=None, name="mail", delay_ms=0):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.starttls = starttls
        self.auth = auth
        self.delay_ms = delay_ms      # a slow relay (smtp_sink.py --delay-ms)
        self.proc = None
        self.log_path = os.path.join(tmp, name + "-sink.log")

    def start(self):
        for name in ("hold", "held", "release"):
            try:
                os.unlink(os.path.join(self.dir, name))
            except FileNotFoundError:
                pass
        cmd = [PY, os.path.join(HERE, "smtp_sink.py"), "--dir", self.dir,
               "--port", str(self.port)]
        if self.starttls:
            cmd.append("--starttls")
        if self.auth:
            cmd += ["--auth", self.auth]
        if self.delay_ms:
            cmd += ["--delay-ms", str(self.delay_ms)]
        self.proc = _start_child(cmd, self.log_path)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def refuse(self, reply="451 4.3.0 try again later"):
        with open(os.path.join(self.dir, "refuse"), "w") as f:
            f.write(reply)

    def accept(self):
        try:
            os.unlink(os.path.join(self.dir, "refuse"))
        except FileNotFoundError:
            pass

    def hold(self):
        """Messages wait unanswered after their data until release()."""
        with open(os.path.join(self.dir, "release"), "w") as f:
            f.write("accept")
        open(os.path.join(self.dir, "hold"), "w").close()

    def held(self):
        try:
            with open(os.path.join(self.dir, "held")) as f:
                return int(f.read().strip() or 0)
        except FileNotFoundError:
            return 0

    def release(self, drop=False):
        """Held messages are stored and accepted - or, with drop, refused (421)
        and not stored."""
        with open(os.path.join(self.dir, "release"), "w") as f:
            f.write("drop" if drop else "accept")
        try:
            os.unlink(os.path.join(self.dir, "hold"))
        except FileNotFoundError:
            pass

    def messages(self):
        """Index records of the stored messages, oldest first."""
        return read_jsonl(os.path.join(self.dir, "index.jsonl"))

    def held_messages(self):
        """Subject and Message-ID of every message that was held."""
        return read_jsonl(os.path.join(self.dir, "held.jsonl"))

    def subjects(self):
        return [m["subject"] for m in self.messages()]

    def raw(self, rec):
        with open(os.path.join(self.dir, rec["file"]), "rb") as f:
            return f.read()

    def body(self, rec):
        """The decoded text of a stored message."""
        msg = email.message_from_bytes(self.raw(rec), policy=email.policy.default)
        return msg.get_body(preferencelist=("plain",)).get_content()


class Pushover:
    def __init__(self, tmp, name="pushover"):
        self.port = free_port()
        self.log = os.path.join(tmp, name + ".jsonl")
        self.err = os.path.join(tmp, name + ".log")
        self.proc = None
        self.url = "http://127.0.0.1:%d/1/messages.json" % self.port

    def start(self):
        self.proc = _start_child([PY, os.path.join(HERE, "pushover_standin.py"),
                                  "--port", str(self.port), "--log", self.log,
                                  "--token", PO_TOKEN], self.err)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
        self.proc = None

    def control(self, fail, code=500):
        req = urllib.request.Request("http://127.0.0.1:%d/control" % self.port,
                                     data=json.dumps({"fail": fail, "code": code}).encode(),
                                     method="POST")
        urllib.request.urlopen(req, timeout=5).read()

    def _control(self, obj):
        req = urllib.request.Request("http://127.0.0.1:%d/control" % self.port,
                                     data=json.dumps(obj).encode(), method="POST")
        urllib.request.urlopen(req, timeout=5).read()

    def hold(self):
        """Message requests wait unanswered until release()."""
        self._control({"hold": True})

    def release(self):
        """Held requests are closed without an answer (logged as status 0)."""
        self._control({"hold": False})

    def held(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/control" % self.port, timeout=5) as r:
            return json.loads(r.read())["held"]

    def hold_cancels(self):
        """Receipt cancels wait unanswered until release_cancels()."""
        self._control({"hold_cancels": True})

    def release_cancels(self):
        """Held cancels are closed without an answer, cancelling nothing."""
        self._control({"hold_cancels": False})

    def held_cancels(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/control" % self.port, timeout=5) as r:
            return json.loads(r.read())["held_cancels"]

    def delay(self, ms):
        """Each accepted message is answered ms later (logged when received)."""
        self._control({"delay_ms": ms})

    def limit(self, remaining, reset_in):
        """remaining messages until now+reset_in s (then 429 until that reset)."""
        self._control({"reset_in": reset_in, "limit_remaining": remaining})

    def ack(self, receipt, user, device="phone"):
        """receipt is acknowledged in the app as user key user (any key)."""
        self._control({"ack": receipt, "user": user, "device": device})

    def expire(self, receipt):
        """receipt expires now, unacknowledged."""
        self._control({"expire": receipt})

    def min_poll(self, s):
        """The fastest receipt poll the stand-in allows (Pushover's 5 s by default)."""
        self._control({"min_poll_s": s})

    def receipt_raw(self, body, code=200, times=1, receipt=None):
        """The next times polls (of receipt, or any) are answered code with body as is."""
        self._control({"receipt_raw": body, "receipt_code": code, "receipt_times": times,
                       "receipt": receipt})

    def hold_polls(self, on):
        """Receipt polls wait unanswered (on), or are closed without an answer (off)."""
        self._control({"hold_polls": on})

    def close_idle(self):
        """Closes the connections kept open between requests; how many it closed."""
        req = urllib.request.Request("http://127.0.0.1:%d/control" % self.port,
                                     data=b'{"close_idle": true}', method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())["closed"]

    def state(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/control" % self.port, timeout=5) as r:
            return json.loads(r.read())

    def receipts(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/control" % self.port, timeout=5) as r:
            return json.loads(r.read())["receipts"]

    def requests(self):
        return read_jsonl(self.log)

    def accepted(self):
        return [r for r in self.requests() if r["status"] == 200]

    def titles(self):
        return [r["fields"].get("title") for r in self.accepted()]


class Webhooks:
    """A webhook receiver on 127.0.0.1 (HTTP/1.1: connections are kept).
    Every POST's JSON body is appended to .bodies, and {"port" (the client's),
    "key" (Idempotency-Key), "body"} to .calls; each is answered 200."""

    def __init__(self):
        self.bodies = []
        self.calls = []
        outer = self

        class Hook(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.calls.append({"port": self.client_address[1],
                                    "key": self.headers.get("Idempotency-Key"), "body": body})
                outer.bodies.append(body)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        self.srv.daemon_threads = True
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d/alerts" % self.srv.server_address[1]

    def stop(self):
        self.srv.shutdown()


class AlertEnv(Env):
    """Env + SMTP sink + Pushover stand-in + agent + contact."""

    def __init__(self, conf=None, starttls=False, auth=None, start_sink=True,
                 contact=True, agent_interval=60, env=None):
        import atexit
        import shutil
        import tempfile
        tmp_probe = tempfile.mkdtemp(prefix="custos-alert-")
        os.chmod(tmp_probe, 0o755)
        # registered first, so it runs last: after the sink and stand-in stopped
        if not os.environ.get("CUSTOS_KEEP_TMP"):
            atexit.register(shutil.rmtree, tmp_probe, True)
        self.sink = SmtpSink(tmp_probe, starttls=starttls, auth=auth)
        self.po = Pushover(tmp_probe)
        settings = {
            "smtp_host": "127.0.0.1",
            "smtp_port": str(self.sink.port),
            "smtp_starttls": "require" if starttls else "off",
            "smtp_from": "custos@example.test",
            "pushover_url": self.po.url,
            "pushover_token": PO_TOKEN,
            "sender_threads": "2",
        }
        if starttls:
            settings["smtp_verify_cert"] = "false"
        if auth:
            u, _, p = auth.partition(":")
            settings["smtp_user"] = u
            settings["smtp_password"] = p
        settings.update(conf or {})
        self.probe_tmp = tmp_probe
        if start_sink:
            self.sink.start()
        self.po.start()
        super().__init__(conf=settings, env=env)
        atexit.register(self.sink.stop)
        atexit.register(self.po.stop)
        self.agent_id, self.agent_token = self.make_agent("web01", interval_s=agent_interval)
        self.contact_id = None
        if contact:
            st, c, _ = self.api("POST", "/api/v1/contacts", self.admin, {
                "name": "oncall", "email": "oncall@example.test", "pushover_user": PO_USER})
            if st != 201:
                raise RuntimeError("create contact: %s %s" % (st, c))
            self.contact_id = c["id"]

    def sanitizer_reports(self, *servers):
        """Sanitizer reports (ASan, LSan, UBSan, TSan) in the logs of serverd
        (and of servers): [] when clean. A report that does not crash the
        server would otherwise go unnoticed."""
        found = []
        for s in (self.server,) + servers:
            try:
                with open(s.log_path, errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            found += [x for x in ("AddressSanitizer", "LeakSanitizer", "ThreadSanitizer",
                                  "runtime error:") if x in text]
        return found

    def check(self, name, max_attempts=1, **extra):
        return self.make_check(self.agent_id, name, "load", {"period": 1},
                               max_attempts=max_attempts, **extra)

    def post(self, check_id, status, output=None, value=None):
        st, body, _ = self.post_results(self.agent_token, {
            "check_id": check_id, "status": status,
            "output": output or ("status %d" % status), "value": value})
        if st != 201:
            raise RuntimeError("post result: %s %s" % (st, body))
        return body

    def events(self, check_id=None, kind=None):
        q = "/api/v1/events?limit=1000"
        if check_id:
            q += "&check_id=%d" % check_id
        if kind:
            q += "&kind=" + urllib.request.quote(kind)
        st, body, _ = self.api("GET", q, self.admin)
        return body["items"] if st == 200 else []

    def notifications(self, **filters):
        q = "/api/v1/notifications?limit=1000"
        for k, v in filters.items():
            q += "&%s=%s" % (k, v)
        st, body, _ = self.api("GET", q, self.admin)
        return body["items"] if st == 200 else []

    def settle(self, timeout=10.0):
        """Waits until no notification is pending or sending (or timeout); True when settled."""
        return wait_for(lambda: all(n["status"] not in ("pending", "sending")
                                    for n in self.notifications()),
                        timeout, 0.05)

    def wait_mail(self, pred, timeout=10.0):
        return wait_for(lambda: [m for m in self.sink.messages() if pred(m)], timeout, 0.02)

    def wait_push(self, pred, timeout=10.0):
        return wait_for(lambda: [r for r in self.po.accepted() if pred(r)], timeout, 0.02)
