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

A slow Pushover: {"delay_ms": N} answers each accepted message N ms after
it was logged as accepted (a client killed meanwhile never learns it).

The same for cancels: {"hold_cancels": true} makes every receipt cancel
wait unanswered (GET /control: "held_cancels"), cancelling nothing;
{"hold_cancels": false} closes each without an answer, still cancelling
nothing: a test can kill serverd while an emergency page's cancel is in
flight.

Rate limits (https://pushover.net/api#limits): every answer to a message
carries X-Limit-App-Limit, X-Limit-App-Remaining and X-Limit-App-Reset
(epoch seconds). POST /control {"limit_remaining": N, "reset_in": S} leaves N
messages until now+S; once none remain, messages are answered 429 (with
the headers) until the reset, when the quota is back to --limit. An
injected 429 ({"fail": N, "code": 429}) carries the headers too, with
Remaining 0 and the reset "reset_in" (default 2) seconds away.

Receipts (https://pushover.net/api/receipts): an accepted priority-2
message gets a receipt, remembered with its "tags" (comma-separated).
GET /1/receipts/R.json?token=T answers its status (acknowledged, expired,
expires_at ...); POST /1/receipts/R/cancel.json and POST
/1/receipts/cancel_by_tag/TAG.json, both with token=T in a form body,
cancel (the latter answers "canceled": n). A bad token is 400, an unknown
receipt 404. GET /control lists the receipts: {"held", "receipts": [{receipt,
tags, cancelled, cancelled_by, acknowledged, polls, poll_times, ...}]}.

A receipt's status has every documented field (status, acknowledged,
acknowledged_at, acknowledged_by, acknowledged_by_device, last_delivered_at,
expired, expires_at, called_back, called_back_at, request), integers as
integers. Pushover asks for no more than one poll of a receipt every 5
seconds; what it answers to a faster one is not documented, so the stand-in
answers it 429 (with the X-Limit-App-* headers, reset when the 5 s are up)
and counts it ("too_fast" in GET /control): a client that breaks the rule is
seen. Controls (POST /control):
  {"ack": R, "user": KEY, "device": NAME}  R is acknowledged as user KEY (30
      characters [A-Za-z0-9], any key: a group's page is acknowledged by one
      of its members) on device NAME (default "phone"), now: it stops ringing
  {"expire": R}          R expires now, unacknowledged
  {"min_poll_s": S}      the fastest poll allowed per receipt (default 5; the
      tests poll faster and lower it)
  {"receipt_raw": BODY, "receipt_code": C, "receipt_times": N}  the next N
      receipt polls (default 1) are answered C (default 200) with BODY as is
      (garbled JSON, wrong types, a huge body) - only polls of receipt R with
      "receipt": R; {"receipt_times": 0} clears it ("raw_left" in GET
      /control: how many are left)
  {"hold_polls": true|false}  receipt polls wait unanswered ("held_polls"),
      then are closed without an answer

Connections: the stand-in speaks HTTP/1.1 and keeps a connection open
between requests, as Pushover does. Each connection has a serial number,
logged with every message ("conn"); GET /control has "connections" (kept
open now, but the one asking). {"close_idle": true} closes every kept
connection waiting for its next request, as a server closes idle ones.

Every request to /1/messages.json is appended to --log (JSONL): time
received, the connection, the fields, the status answered. Prints "ready
PORT" once listening; stops on SIGTERM/SIGINT.
"""
import argparse
import json
import re
import signal
import socket
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
        self.hold_cancels = threading.Event()      # set: cancels wait
        self.release_cancels = threading.Event()   # set: waiting cancels are dropped
        self.held_cancels = 0
        self.delay = 0.0
        self.limit = 10000
        self.remaining = self.limit
        self.reset = int(time.time()) + 30 * 86400
        self.reset_in = 2
        self.receipts = {}   # receipt -> dict
        self.min_poll_s = 5.0
        self.raw_body = None   # an injected receipt answer: (code, bytes)
        self.raw_times = 0
        self.raw_for = None    # ... for this receipt only (None: any)
        self.too_fast = 0
        self.hold_polls = threading.Event()
        self.release_polls = threading.Event()
        self.held_polls = 0
        self.tags = {}       # tag -> [receipt]
        self.cancels = []
        self.conns = {}      # serial -> Handler, each open connection
        self.next_conn = 0


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

    def setup(self):
        super().setup()
        self.busy = False      # in a request (not waiting for the next one)
        with self.state.lock:
            self.state.next_conn += 1
            self.conn_id = self.state.next_conn
            self.state.conns[self.conn_id] = self

    def finish(self):
        with self.state.lock:
            self.state.conns.pop(self.conn_id, None)
        super().finish()

    def handle_one_request(self):
        try:
            super().handle_one_request()
        finally:
            self.busy = False

    def parse_request(self):
        self.busy = True       # a request line came: no longer idle
        return super().parse_request()

    def kept(self):
        """The other connections kept open: not this one, and not one that is
        ending (its client asked Connection: close, or a request failed) but
        has not left the table yet."""
        return [h for h in self.state.conns.values() if h is not self and not h.close_connection]

    def close_idle(self):
        """Closes the kept connections waiting for their next request."""
        n = 0
        with self.state.lock:
            for h in self.kept():
                if h.busy:
                    continue
                try:
                    h.connection.shutdown(socket.SHUT_RDWR)
                    n += 1
                except OSError:
                    pass
        return n

    def answer(self, code, obj, limits=None):
        body = json.dumps(obj).encode()
        self.send_response(code)
        if limits:
            for k, v in limits:
                self.send_header(k, str(v))
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
                held_cancels = self.state.held_cancels
                receipts = [dict(r) for r in self.state.receipts.values()]
                too_fast = self.state.too_fast
                held_polls = self.state.held_polls
                raw_left = self.state.raw_times
                conns = len(self.kept())
            self.answer(200, {"status": 1, "held": held, "held_cancels": held_cancels,
                              "connections": conns,
                              "held_polls": held_polls, "too_fast": too_fast,
                              "raw_left": raw_left,
                              "receipts": receipts})
            return
        u = urllib.parse.urlsplit(self.path)
        m = re.match(r"^/1/receipts/([A-Za-z0-9]+)\.json$", u.path)
        if m:
            q = dict(urllib.parse.parse_qsl(u.query))
            self.receipt_status(m.group(1), q.get("token", ""))
            return
        self.answer(404, {"status": 0, "errors": ["not found"]})

    def token_ok(self, token):
        return KEY_RE.match(token or "") and (not self.state.token or token == self.state.token)

    def receipt_status(self, receipt, token):
        req_id = str(uuid.uuid4())
        st = self.state
        if not self.token_ok(token):
            self.answer(400, {"token": "invalid", "errors": ["application token is invalid"],
                              "status": 0, "request": req_id})
            return
        now = time.time()
        with st.lock:
            r = st.receipts.get(receipt)
            too_fast = False
            if r is not None:
                last = r["poll_times"][-1] if r["poll_times"] else None
                r["polls"] += 1
                r["poll_times"].append(now)
                if last is not None and now - last < st.min_poll_s:
                    too_fast = True
                    st.too_fast += 1
                    r["too_fast"] += 1
            raw = None
            if r is not None and st.raw_times > 0 and st.raw_for in (None, receipt):
                st.raw_times -= 1
                raw = st.raw_body
            r = dict(r) if r else None
        if st.hold_polls.is_set():
            with st.lock:
                st.held_polls += 1
            st.release_polls.wait()
            with st.lock:
                st.held_polls -= 1
            self.close_connection = True
            return
        if r is None:
            self.answer(404, {"receipt": "not found", "errors": ["receipt not found; may be invalid or expired"],
                              "status": 0, "request": req_id})
            return
        if too_fast:
            self.answer(429, {"status": 0, "errors": ["receipts may be polled once every %g seconds"
                                                      % st.min_poll_s], "request": req_id},
                        [("X-Limit-App-Limit", st.limit), ("X-Limit-App-Remaining", max(st.remaining, 0)),
                         ("X-Limit-App-Reset", int(now + st.min_poll_s) + 1)])
            return
        if raw is not None:
            code, body = raw
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        expired = 1 if (r["cancelled"] or r["expired"] or now >= r["expires_at"]) \
            and not r["acknowledged"] else 0
        self.answer(200, {"status": 1, "acknowledged": 1 if r["acknowledged"] else 0,
                          "acknowledged_at": r["acknowledged_at"],
                          "acknowledged_by": r["acknowledged_by"],
                          "acknowledged_by_device": r["acknowledged_by_device"],
                          "last_delivered_at": r["created_at"], "expired": expired,
                          "expires_at": r["expires_at"], "called_back": 0, "called_back_at": 0,
                          "request": req_id})

    def receipts_post(self, path, raw):
        """POST /1/receipts/R/cancel.json and /1/receipts/cancel_by_tag/TAG.json."""
        req_id = str(uuid.uuid4())
        st = self.state
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        f = dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"))) \
            if ctype == "application/x-www-form-urlencoded" else {}
        if not self.token_ok(f.get("token", "")):
            self.answer(400, {"token": "invalid", "errors": ["application token is invalid"],
                              "status": 0, "request": req_id})
            return
        if st.hold_cancels.is_set():
            with st.lock:
                st.held_cancels += 1
            st.release_cancels.wait()
            with st.lock:
                st.held_cancels -= 1
                st.cancels.append({"at": time.time(), "path": path, "dropped": True})
            self.close_connection = True
            return
        now = time.time()
        m = re.match(r"^/1/receipts/cancel_by_tag/([^/]+)\.json$", path)
        if m:
            tag = urllib.parse.unquote(m.group(1))
            n = 0
            with st.lock:
                for rc in st.tags.get(tag, []):
                    r = st.receipts[rc]
                    if not r["cancelled"] and now < r["expires_at"]:
                        r["cancelled"] = True
                        r["cancelled_at"] = now
                        r["cancelled_by"] = "tag"
                        n += 1
                st.cancels.append({"at": now, "tag": tag, "canceled": n})
            self.answer(200, {"status": 1, "canceled": n, "request": req_id})
            return
        m = re.match(r"^/1/receipts/([A-Za-z0-9]+)/cancel\.json$", path)
        if m:
            with st.lock:
                r = st.receipts.get(m.group(1))
                if r is not None and not r["cancelled"]:
                    r["cancelled"] = True
                    r["cancelled_at"] = now
                    r["cancelled_by"] = "receipt"
                    st.cancels.append({"at": now, "receipt": m.group(1)})
            if r is None:
                self.answer(404, {"receipt": "not found",
                                  "errors": ["receipt not found; may be invalid or expired"],
                                  "status": 0, "request": req_id})
            else:
                self.answer(200, {"status": 1, "request": req_id})
            return
        self.answer(404, {"status": 0, "errors": ["not found"], "request": req_id})

    def hold_and_drop(self, received, fields):
        """Waits while holding is on, then closes without an answer."""
        st = self.state
        with st.lock:
            st.held += 1
        st.release.wait()
        with st.lock:
            st.held -= 1
            with open(st.log_path, "a") as f:
                f.write(json.dumps({"received_at": received, "conn": self.conn_id,
                                    "fields": fields, "status": 0,
                                    "response": "dropped"}) + "\n")
        self.close_connection = True

    def do_POST(self):
        received = time.time()
        raw = self.read_body()
        st = self.state
        if self.path == "/control":
            try:
                c = json.loads(raw or b"{}")
                if c.get("close_idle"):
                    self.answer(200, {"status": 1, "closed": self.close_idle()})
                    return
                with st.lock:
                    if "hold" in c:
                        if c["hold"]:
                            st.release.clear()
                            st.hold.set()
                        else:
                            st.hold.clear()
                            st.release.set()
                    if "delay_ms" in c:
                        st.delay = int(c["delay_ms"]) / 1000.0
                    if "hold_cancels" in c:
                        if c["hold_cancels"]:
                            st.release_cancels.clear()
                            st.hold_cancels.set()
                        else:
                            st.hold_cancels.clear()
                            st.release_cancels.set()
                    if "reset_in" in c:
                        st.reset_in = int(c["reset_in"])
                    if "limit_remaining" in c:
                        st.remaining = int(c["limit_remaining"])
                        st.reset = int(time.time()) + st.reset_in
                    if "ack" in c:
                        r = st.receipts.get(c["ack"])
                        if r is None or not KEY_RE.match(c.get("user", "")):
                            raise ValueError("no such receipt, or user is not a key")
                        r["acknowledged"] = True
                        r["acknowledged_at"] = int(time.time())
                        r["acknowledged_by"] = c["user"]
                        r["acknowledged_by_device"] = str(c.get("device", "phone"))
                    if "expire" in c:
                        r = st.receipts.get(c["expire"])
                        if r is None:
                            raise ValueError("no such receipt")
                        r["expired"] = True
                    if "min_poll_s" in c:
                        st.min_poll_s = float(c["min_poll_s"])
                    if "receipt_times" in c or "receipt_raw" in c:
                        st.raw_times = int(c.get("receipt_times", 1))
                        st.raw_body = (int(c.get("receipt_code", 200)),
                                       str(c.get("receipt_raw", "")).encode())
                        st.raw_for = c.get("receipt")
                    if "hold_polls" in c:
                        if c["hold_polls"]:
                            st.release_polls.clear()
                            st.hold_polls.set()
                        else:
                            st.hold_polls.clear()
                            st.release_polls.set()
                    if "fail" in c or not ({"hold", "hold_cancels", "delay_ms", "limit_remaining",
                                            "reset_in", "ack", "expire", "min_poll_s",
                                            "receipt_times", "receipt_raw", "hold_polls"} & set(c)):
                        st.fail = int(c.get("fail", 0))
                        st.code = int(c.get("code", 500))
                self.answer(200, {"status": 1})
            except (ValueError, TypeError):
                self.answer(400, {"status": 0, "errors": ["bad control body"]})
            return
        if self.path.startswith("/1/receipts/"):
            self.receipts_post(self.path.split("?")[0], raw)
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
        now = time.time()
        with st.lock:
            injected = st.fail > 0
            if injected:
                st.fail -= 1
                code = st.code
            if now >= st.reset and st.remaining < st.limit:
                st.remaining = st.limit               # a new period
                st.reset = int(now) + 30 * 86400
            over = not injected and st.remaining <= 0
        if injected:
            resp = {"status": 0, "errors": ["injected failure %d" % code], "request": req_id}
            if code == 429:
                with st.lock:
                    st.remaining = 0
                    st.reset = int(now) + st.reset_in
        elif over:
            code = 429
            resp = {"status": 0, "errors": ["application is over its message limit"],
                    "request": req_id}
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
                with st.lock:
                    st.remaining -= 1
                if prio == 2:
                    rc = uuid.uuid4().hex[:30]
                    resp["receipt"] = rc
                    tags = [x for x in fields.get("tags", "").split(",") if x]
                    with st.lock:
                        st.receipts[rc] = {"receipt": rc, "tags": tags, "created_at": int(now),
                                           "expires_at": int(now) + int(fields["expire"]),
                                           "cancelled": False, "cancelled_by": None,
                                           "title": fields.get("title", ""),
                                           "user": fields.get("user", ""),
                                           "acknowledged": False, "acknowledged_at": 0,
                                           "acknowledged_by": "", "acknowledged_by_device": "",
                                           "expired": False, "polls": 0, "poll_times": [],
                                           "too_fast": 0}
                        for tg in tags:
                            st.tags.setdefault(tg, []).append(rc)
        with st.lock:
            limits = [("X-Limit-App-Limit", st.limit), ("X-Limit-App-Remaining", max(st.remaining, 0)),
                      ("X-Limit-App-Reset", st.reset)]
            with open(st.log_path, "a") as f:
                f.write(json.dumps({"received_at": received, "conn": self.conn_id,
                                    "fields": fields, "status": code,
                                    "response": resp}) + "\n")
            delay = st.delay if code == 200 else 0
        if delay:
            time.sleep(delay)
        self.answer(code, resp, limits)


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
    # shutdown() waits for the loop's next look (0.5 s by default): at every
    # suite's end
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
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
