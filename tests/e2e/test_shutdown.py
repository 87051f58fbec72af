"""End-to-end: SIGTERM lets a request in flight finish (and commit) before
serverd exits; new connections are refused meanwhile."""
import json
import os
import http.client
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Tap, wait_for  # noqa: E402

t = Tap()
env = Env()
aid, tok = env.make_agent("web01")
cid = env.make_check(aid, "load")
# a settled state first, so the next post takes ingest's steady path
env.post_results(tok, {"check_id": cid, "status": 0, "result_id": "r0"})

# hold the agent's ingest lock (serverd/api/ingest.c: INGEST_LOCK_CLASS) from
# another session, so that the next post waits inside its transaction
holder = env.cluster.session()
holder.stdin.write("SELECT pg_advisory_lock(1668642164, %d);\nSELECT 'locked';\n" % aid)
holder.stdin.flush()
t.eq(holder.stdout.readline().strip(), "", "lock taken")
t.eq(holder.stdout.readline().strip(), "locked", "and held")

result = {}


def post():
    c = http.client.HTTPConnection("127.0.0.1", env.server.port, timeout=30)
    body = json.dumps([{"check_id": cid, "status": 0, "result_id": "r%d" % i}
                       for i in range(1, 101)])
    c.request("POST", "/api/v1/check_history", body,
              {"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
    r = c.getresponse()
    result["status"] = r.status
    result["body"] = json.loads(r.read())


th = threading.Thread(target=post)
th.start()
# the request is inside its transaction, waiting for the lock
t.ok(wait_for(lambda: env.cluster.psql(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")[0][0] == "1", 10),
    "the post waits for the agent's lock")
env.server.proc.send_signal(signal.SIGTERM)
time.sleep(0.5)
t.ok(env.server.proc.poll() is None, "serverd waits for the request in flight")
refused = False
try:
    socket.create_connection(("127.0.0.1", env.server.port), timeout=2).close()
except OSError:
    refused = True
t.ok(refused, "new connections are refused while it drains")
holder.stdin.write("SELECT pg_advisory_unlock_all();\n\\q\n")
holder.stdin.flush()
holder.wait(10)
th.join(30)
t.eq(result.get("status"), 201, "the request in flight is answered 201")
t.eq(result.get("body"), {"accepted": 100, "duplicates": 0}, "with every result")
env.server.proc.wait(20)
t.eq(env.server.proc.returncode, 0, "serverd then exits 0")
t.eq(env.cluster.psql("SELECT count(*) FROM check_history")[0][0], "101",
     "and the results are committed")
t.done()
