"""End-to-end: a large batch runs on a bulk thread (bulk_threads, http.c),
so an agent's single result is not stuck behind another agent's batch that
happens to share its HTTP thread; the batches beyond bulk_threads queue.
A long read (a route marked RUN_ASIDE) runs there too, ahead of the
queued batches.

One HTTP thread (threads = 1) makes the sharing certain. The window is
held, not waited for: the first batch waits inside its transaction for its
agent's ingest lock, which this test holds from a session of its own.
With bulk_threads = 0 (every request inline) the same window shows the
order of the answers: the single result's answer comes after the batch's."""
import json
import os
import http.client
import select
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SRCDIR, Env, Tap, wait_for  # noqa: E402

LOCK = 1668642164   # serverd/alert/state.h: ALERT_LOCK_CLASS


def batch(cid, prefix, n=100):
    return json.dumps([{"check_id": cid, "status": 0, "result_id": "%s%d" % (prefix, i),
                        "output": "a result long enough to make the body a bulk one"}
                       for i in range(n)])


def post(port, tok, body, out, key, timeout=30):
    """POST body as tok on a connection of its own; out[key] = status or the error."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        c.request("POST", "/api/v1/check_history", body,
                  {"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
        r = c.getresponse()
        out[key] = (r.status, json.loads(r.read() or b"null"))
        c.close()
    except (OSError, socket.timeout) as e:
        out[key] = ("error", str(e))


def hold(env, agent_id):
    s = env.cluster.session()
    s.stdin.write("SELECT pg_advisory_lock(%d, %d);\nSELECT 'locked';\n" % (LOCK, agent_id))
    s.stdin.flush()
    s.stdout.readline()
    return s.stdout.readline().strip() == "locked", s


def release(s):
    s.stdin.write("SELECT pg_advisory_unlock_all();\n\\q\n")
    s.stdin.flush()
    s.wait(10)


def waiting(env, n):
    return env.cluster.psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                            " AND NOT granted")[0][0] == str(n)


def stored(env, cid):
    return int(env.cluster.psql("SELECT count(*) FROM check_history WHERE check_id = %d"
                                % cid)[0][0])


def queued(env):
    c = http.client.HTTPConnection("127.0.0.1", env.server.port, timeout=10)
    c.request("GET", "/metrics", headers={"Authorization": "Bearer " + env.admin})
    text = c.getresponse().read().decode()
    c.close()
    for line in text.splitlines():
        if line.startswith("custos_http_bulk_queued "):
            return int(line.split()[1])
    return -1


t = Tap()

# ---- bulk_threads = 1: the batch runs aside --------------------------------
env = Env(conf={"threads": "1", "bulk_threads": "1"})
a_id, a_tok = env.make_agent("bulk-a")
b_id, b_tok = env.make_agent("bulk-b")
c_id, c_tok = env.make_agent("bulk-c")
a_chk = env.make_check(a_id, "load")
b_chk = env.make_check(b_id, "load")
c_chk = env.make_check(c_id, "load")
held, holder = hold(env, a_id)
t.ok(held, "bulk-a's ingest lock is held by the test")
res = {}
ta = threading.Thread(target=post, args=(env.server.port, a_tok, batch(a_chk, "a"), res, "a"))
ta.start()
t.ok(wait_for(lambda: waiting(env, 1), 10), "bulk-a's batch waits inside its transaction")

# the one HTTP thread is free: a single result and a health check are answered
post(env.server.port, b_tok, json.dumps({"check_id": b_chk, "status": 0, "result_id": "b0"}),
     res, "b1", timeout=10)
t.eq(res.get("b1"), (201, {"accepted": 1, "duplicates": 0}),
     "bulk-b's single result is answered while bulk-a's batch is held")
st, _, _ = env.api("GET", "/healthz")
t.eq(st, 200, "/healthz too")

# a second batch queues behind the first (one bulk thread); its client
# may leave meanwhile: the batch, read whole, is still stored
tc = threading.Thread(target=post, args=(env.server.port, c_tok, batch(c_chk, "c"), res, "c"))
tc.start()
gone = socket.create_connection(("127.0.0.1", env.server.port), timeout=10)
body = batch(b_chk, "g").encode()
gone.sendall(("POST /api/v1/check_history HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
              "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
              % (b_tok, len(body))).encode() + body)
t.ok(wait_for(lambda: queued(env) == 2, 10),
   "both later batches wait for the one bulk thread (custos_http_bulk_queued 2)")
post(env.server.port, b_tok, json.dumps({"check_id": b_chk, "status": 0, "result_id": "b1"}),
     res, "b2", timeout=10)
t.eq(res.get("b2", (None,))[0], 201, "a single result is answered with two batches queued")
gone.close()
t.ok("c" not in res and stored(env, c_chk) == 0,
     "bulk-c's batch waits for the bulk thread (nothing stored, no answer)")
t.eq(stored(env, a_chk), 0, "bulk-a's batch is not stored while held")
release(holder)
ta.join(30)
tc.join(30)
t.eq(res.get("a"), (201, {"accepted": 100, "duplicates": 0}), "bulk-a's batch is answered 201")
t.eq(res.get("c"), (201, {"accepted": 100, "duplicates": 0}), "bulk-c's batch after it")
t.ok(wait_for(lambda: stored(env, b_chk) == 102, 10),
     "the batch whose client left is stored all the same (2 singles + 100)")
t.eq((stored(env, a_chk), stored(env, c_chk)), (100, 100), "every result of both batches")
t.eq(queued(env), 0, "nothing waits for a bulk thread any more")
t.ok(env.server.proc.poll() is None, "serverd is up")
# (left running: Tap.done() stops it and checks its exit - a sanitizer's or
# valgrind's report fails the suite)

# ---- a long read runs aside too, and before the queued batches -----------
# GET /api/v1/agents is RUN_ASIDE (routes.c): held here inside PostgreSQL
# (every agent's availability reads rollup_day, locked by the test), it
# must not hold up the one HTTP thread; and a read queued after a batch is
# run before it (the batch, held on its agent's ingest lock, would keep the
# one bulk thread from the read for as long as it is held).
env = Env(conf={"threads": "1", "bulk_threads": "1",
                "www_dir": os.path.join(SRCDIR, "serverd", "www")})
a_id, a_tok = env.make_agent("aside-a")
b_id, b_tok = env.make_agent("aside-b")
a_chk = env.make_check(a_id, "load")
b_chk = env.make_check(b_id, "load")
rl = env.cluster.session()
rl.stdin.write("BEGIN;\nLOCK TABLE rollup_day IN ACCESS EXCLUSIVE MODE;\nSELECT 'locked';\n")
rl.stdin.flush()
t.eq(rl.stdout.readline().strip(), "locked", "aside: rollup_day is locked by the test")
held, holder = hold(env, a_id)
t.ok(held, "aside: aside-a's ingest lock is held by the test")


def get(path, out, key, timeout=30):
    try:
        c = http.client.HTTPConnection("127.0.0.1", env.server.port, timeout=timeout)
        c.request("GET", path, headers={"Authorization": "Bearer " + env.admin})
        r = c.getresponse()
        out[key] = (r.status, r.read())
        c.close()
    except (OSError, socket.timeout) as e:
        out[key] = ("error", str(e))


res = {}
tl = threading.Thread(target=get, args=("/api/v1/agents", res, "list"))
tl.start()
t.ok(wait_for(lambda: env.cluster.psql("SELECT count(*) FROM pg_locks l JOIN pg_class c"
                                       " ON c.oid = l.relation WHERE c.relname = 'rollup_day'"
                                       " AND NOT l.granted")[0][0] == "1", 10),
     "aside: the agent list waits inside PostgreSQL for rollup_day")
get("/ui/app.js", res, "file", timeout=10)
t.eq(res.get("file", (None,))[0], 200, "aside: a dashboard file is answered meanwhile")
post(env.server.port, b_tok, json.dumps({"check_id": b_chk, "status": 0, "result_id": "b0"}),
     res, "b1", timeout=10)
t.eq(res.get("b1"), (201, {"accepted": 1, "duplicates": 0}),
     "aside: so is an agent's single result")
ta = threading.Thread(target=post, args=(env.server.port, a_tok, batch(a_chk, "a"), res, "a"))
ta.start()
t.ok(wait_for(lambda: queued(env) == 1, 10), "aside: a batch queues for the bulk thread")
tc = threading.Thread(target=get, args=("/api/v1/checks?agent_id=%d" % b_id, res, "checks"))
tc.start()
t.ok(wait_for(lambda: queued(env) == 2, 10), "aside: a check list queues after it")
rl.stdin.write("COMMIT;\n\\q\n")
rl.stdin.flush()
rl.wait(10)
tl.join(30)
t.eq(res.get("list", (None,))[0], 200, "aside: the agent list is answered once rollup_day is free")
tc.join(30)
t.ok(res.get("checks", (None,))[0] == 200 and json.loads(res["checks"][1])["items"][0]["id"] == b_chk,
     "aside: the check list queued after the batch is answered before it", repr(res.get("checks"))[:300])
t.ok("a" not in res and stored(env, a_chk) == 0, "aside: the batch is still held (not run, not stored)")
release(holder)
ta.join(30)
t.eq(res.get("a"), (201, {"accepted": 100, "duplicates": 0}), "aside: then the batch is stored")
t.eq(queued(env), 0, "aside: nothing waits for the bulk thread any more")

# ---- bulk_threads = 0: every request on its HTTP thread, as before --------
# Proved by the order of the answers, not by a client giving up: the batch
# is sent (and held by the lock), then the single result, whole, onto the
# same one HTTP thread; then the lock is released and the single result's
# answer read. On that thread the batch's handler returns, its answer is
# written, and only then is the single result read at all: so when the
# single result's answer is in, the batch's is already in its socket.
# (With bulk threads the single result is answered while the batch is
# still held: the first half above.)
env = Env(conf={"threads": "1", "bulk_threads": "0"})
a_id, a_tok = env.make_agent("inline-a")
b_id, b_tok = env.make_agent("inline-b")
a_chk = env.make_check(a_id, "load")
b_chk = env.make_check(b_id, "load")


def send(port, tok, body):
    """a POST of body as tok, sent whole on a connection of its own; the
    socket, for its answer"""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    body = body.encode()
    s.sendall(("POST /api/v1/check_history HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
               % (tok, len(body))).encode() + body)
    return s


def answer(s):
    """the status and JSON body of the answer on s (read to its end)"""
    with s, s.makefile("rb") as f:
        data = f.read()
    head, _, body = data.partition(b"\r\n\r\n")
    try:
        return int(head.split()[1]), json.loads(body or b"null")
    except (IndexError, ValueError):
        return "bad answer", data[:200]


def answered(s):
    """whether s has its answer (or part of it) waiting, right now"""
    return bool(select.select([s], [], [], 0)[0])


held, holder = hold(env, a_id)
sa = send(env.server.port, a_tok, batch(a_chk, "a"))
t.ok(wait_for(lambda: waiting(env, 1), 10), "inline: the batch waits inside its transaction")
sb = send(env.server.port, b_tok, json.dumps({"check_id": b_chk, "status": 0, "result_id": "b0"}))
release(holder)
b1 = answer(sb)
first = answered(sa)
t.eq(b1, (201, {"accepted": 1, "duplicates": 0}), "inline: the single result is answered")
t.ok(first, "inline: its answer came after the batch's (the batch's was in already)")
t.eq(answer(sa), (201, {"accepted": 100, "duplicates": 0}), "inline: the batch is answered")
t.eq((stored(env, a_chk), stored(env, b_chk)), (100, 1), "inline: both are stored")
t.done()
