#!/usr/bin/python3
"""pushover_standin.py - a local stand-in for the Pushover Messages API.

Serves POST /1/messages.json and enforces the documented rules strictly
(https://pushover.net/api): form-encoded fields; token and user are 30
characters [A-Za-z0-9]; message is required and at most 1024 characters;
title at most 250, url at most 512, url_title at most 100; priority an
integer -2..2; priority 2 needs retry >= 30 and expire <= 10800; timestamp
an integer. A violation answers 400 {"status":0,"errors":[...],"request":id},
success 200 {"status":1,"request":id} (with "receipt" for priority 2).
--token T additionally requires that exact application token.

Failure injection: POST /control with a JSON body {"fail": N, "code": 500}
answers the next N message requests with that status (500, 429, 400 ...);
{"fail": 0} clears it. --fail N --fail-code C do the same at start.

Holding: POST /control {"hold": true} makes every message request wait,
unanswered, after its body was read (the page is "in flight": the client
has sent it, nothing has come back). GET /control answers {"held": n},
the number of requests waiting now. {"hold": false} lets them go: each is
closed WITHOUT an answer and logged with status 0 ("dropped"), so a test
can kill serverd while a request is held and know the held request never
counted as delivered.

Every request to /1/messages.json is appended to --log (JSONL): time
received, the fields, the status answered. Prints "ready PORT" once
listening; stops on SIGTERM/SIGINT.
"""
import argparse
import json
import re
import signal
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KEY_RE = re.compile(r"^[A-Za-z0-9]{30}$")


class State:
    def __init__(self, log_path, token, fail, code):
        self.lock = threading.Lock()
        self.log_path = log_path
        self.token = token
        self.fail = fail
        self.code = code
        self.hold = threading.Event()      # set: message requests wait
        self.release = threading.Event()   # set: waiting requests are dropped
        self.held = 0


def validate(f, want_token):
    errors = []
    if not KEY_RE.match(f.get("token", "")):
        errors.append("application token is invalid")
    elif want_token and f["token"] != want_token:
        errors.append("application token is invalid")
    if not KEY_RE.match(f.get("user", "")):
        errors.append("user identifier is not a valid user, group, or subscribed user key")
    msg = f.get("message", "")
    if msg == "":
        errors.append("message cannot be blank")
    elif len(msg) > 1024:
        errors.append("message is too long (maximum 1024 characters)")
    if len(f.get("title", "")) > 250:
        errors.append("title is too long (maximum 250 characters)")
    if len(f.get("url", "")) > 512:
        errors.append("url is too long (maximum 512 characters)")
    if len(f.get("url_title", "")) > 100:
        errors.append("url_title is too long (maximum 100 characters)")
    prio = 0
    if "priority" in f:
        try:
            prio = int(f["priority"])
            if prio < -2 or prio > 2:
                raise ValueError
        except ValueError:
            errors.append("priority is invalid")
            prio = 0
    if prio == 2:
        try:
            if int(f.get("retry", "")) < 30:
                errors.append("retry must be at least 30 seconds")
        except ValueError:
            errors.append("retry is required for emergency priority")
        try:
            if int(f.get("expire", "")) > 10800:
                errors.append("expire must be at most 10800 seconds")
        except ValueError:
            errors.append("expire is required for emergency priority")
    if "timestamp" in f:
        try:
            int(f["timestamp"])
        except ValueError:
            errors.append("timestamp is invalid")
    return errors, prio


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, fmt, *args):
        pass

    def answer(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):
        if self.path == "/control":
            with self.state.lock:
                held = self.state.held
            self.answer(200, {"status": 1, "held": held})
            return
        self.answer(404, {"status": 0, "errors": ["not found"]})

    def hold_and_drop(self, received, fields):
        """Waits while holding is on, then closes without an answer."""
        st = self.state
        with st.lock:
            st.held += 1
        st.release.wait()
        with st.lock:
            st.held -= 1
            with open(st.log_path, "a") as f:
                f.write(json.dumps({"received_at": received, "fields": fields,
                                    "status": 0, "response": "dropped"}) + "\n")
        self.close_connection = True

    def do_POST(self):
        received = time.time()
        raw = self.read_body()
        st = self.state
        if self.path == "/control":
            try:
                c = json.loads(raw or b"{}")
                with st.lock:
                    if "hold" in c:
                        if c["hold"]:
                            st.release.clear()
                            st.hold.set()
                        else:
                            st.hold.clear()
                            st.release.set()
                    if "fail" in c or "hold" not in c:
                        st.fail = int(c.get("fail", 0))
                        st.code = int(c.get("code", 500))
                self.answer(200, {"status": 1})
            except (ValueError, TypeError):
                self.answer(400, {"status": 0, "errors": ["bad control body"]})
            return
        if self.path.split("?")[0] not in ("/1/messages.json", "/1/messages"):
            self.answer(404, {"status": 0, "errors": ["not found"]})
            return
        req_id = str(uuid.uuid4())
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        fields = {}
        errors = []
        if ctype != "application/x-www-form-urlencoded":
            errors.append("expected application/x-www-form-urlencoded, got %r" % ctype)
        else:
            try:
                for k, v in urllib.parse.parse_qsl(raw.decode("utf-8"), keep_blank_values=True,
                                                   strict_parsing=False):
                    if k in fields:
                        errors.append("field %s given twice" % k)
                    fields[k] = v
            except UnicodeDecodeError:
                errors.append("body is not UTF-8")
        if st.hold.is_set():
            self.hold_and_drop(received, fields)
            return
        with st.lock:
            injected = st.fail > 0
            if injected:
                st.fail -= 1
                code = st.code
        if injected:
            resp = {"status": 0, "errors": ["injected failure %d" % code], "request": req_id}
        else:
            more, prio = validate(fields, st.token)
            errors += more
            if errors:
                code = 400
                resp = {"status": 0, "errors": errors, "request": req_id}
                if any("user" in e for e in errors):
                    resp["user"] = "invalid"
                if any("token" in e for e in errors):
                    resp["token"] = "invalid"
            else:
                code = 200
                resp = {"status": 1, "request": req_id}
                if prio == 2:
                    resp["receipt"] = uuid.uuid4().hex[:30]
        with st.lock:
            with open(st.log_path, "a") as f:
                f.write(json.dumps({"received_at": received, "fields": fields,
                                    "status": code, "response": resp}) + "\n")
        self.answer(code, resp)


def main():
    ap = argparse.ArgumentParser(description="Pushover API stand-in")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", required=True, help="JSONL file recording every request")
    ap.add_argument("--token", help="require this application token")
    ap.add_argument("--fail", type=int, default=0, help="answer the next N requests with --fail-code")
    ap.add_argument("--fail-code", type=int, default=500)
    a = ap.parse_args()
    Handler.state = State(a.log, a.token, a.fail, a.fail_code)
    open(a.log, "a").close()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("ready %d" % srv.server_address[1], flush=True)
    while not stop.is_set():
        stop.wait(0.5)
    srv.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
