"""End-to-end: a page goes before bulk history (serverd/urgent.h,
bulk_yield_ms).

While a page is being made - here, a mail the SMTP sink holds in its
session after DATA, so the email sender is inside its send - an ingest
batch on a bulk thread waits before it starts; a small request does not.
The window is held by the sink, not waited for:

1. With the mail held (its first send: a retry is not urgent), a bulk batch waits (custos_bulk_yield_waiting 1),
   and is neither stored nor answered; a single result from the same
   agent is answered 201 meanwhile.
2. The sink accepts the mail: the batch goes at once, 201, all stored;
   custos_bulk_yields_total counts it.
3. bulk_yield_ms = 200 (SIGHUP): a page held longer than that does not hold
   the batch - it is answered while the mail is still held (the wait ends
   that long after the page began).
4. bulk_yield_ms = 0: a batch never waits, the mail held or not.
5. No page being made: a batch does not wait."""
import http.client
import json
import os
import re
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alertlib import AlertEnv  # noqa: E402
from harness import Tap, wait_for  # noqa: E402

t = Tap()
e = AlertEnv(conf={"bulk_yield_ms": "10000", "bulk_threads": "2"})
A = e.admin


def metrics():
    st, text, _ = e.api("GET", "/metrics", A)
    text = text.decode() if isinstance(text, bytes) else text
    out = {}
    for line in (text if isinstance(text, str) else "").splitlines():
        m = re.match(r"^(custos_bulk_yield\w*) (\S+)$", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def batch(cid, prefix, n=100):
    return [{"check_id": cid, "status": 0, "result_id": "%s-%d" % (prefix, i),
             "output": "a result long enough to make the body a bulk one"} for i in range(n)]


def post_async(body, out, key):
    """POSTs body as the agent on a connection of its own; out[key] = (status, body)."""
    def run():
        try:
            c = http.client.HTTPConnection("127.0.0.1", e.server.port, timeout=60)
            c.request("POST", "/api/v1/check_history", json.dumps(body),
                      {"Authorization": "Bearer " + e.agent_token,
                       "Content-Type": "application/json"})
            r = c.getresponse()
            out[key] = (r.status, json.loads(r.read() or b"null"))
            c.close()
        except Exception as x:   # noqa: BLE001 - reported by the check that reads out
            out[key] = (str(x), None)
    th = threading.Thread(target=run)
    th.start()
    return th


def stored(cid, prefix):
    return int(e.cluster.psql("SELECT count(*) FROM check_history WHERE check_id = %d"
                              " AND result_id LIKE '%s-%%'" % (cid, prefix))[0][0])


def reload(**kv):
    with open(e.server.conf_path) as f:
        lines = [x for x in f if x.partition(" = ")[0] not in kv]
    lines += ["%s = %s\n" % (k, v) for k, v in kv.items()]
    with open(e.server.conf_path, "w") as f:
        f.writelines(lines)
    n = e.server.log().count("reload: configuration re-read")
    e.server.proc.send_signal(signal.SIGHUP)
    return wait_for(lambda: e.server.log().count("reload: configuration re-read") > n, 10)


m0 = metrics()
t.eq(sorted(m0), ["custos_bulk_yield_seconds_total", "custos_bulk_yield_waiting",
                  "custos_bulk_yields_total"], "/metrics has the three bulk_yield figures")
bulk = e.check("bulk")
small = e.check("small")
t.ok(len(json.dumps(batch(bulk, "x"))) > 4096, "a batch of 100 is a bulk body (4 KiB or more)")


def hold_page(name, what):
    """A new check goes CRITICAL; its mail is held by the sink after DATA."""
    e.sink.hold()
    e.post(e.check(name), 2)
    t.ok(wait_for(lambda: e.sink.held() >= 1, 10), what)


# ---- 1. a mail held in its session: the batch waits, a single result does not ----------
hold_page("page1", "a page's mail is held by the sink after DATA")
out = {}
th = post_async(batch(bulk, "a"), out, "a")
t.ok(wait_for(lambda: metrics().get("custos_bulk_yield_waiting") == 1, 10),
     "a bulk batch waits while the page is being made", metrics())
st, body, _ = e.post_results(e.agent_token, [{"check_id": small, "status": 0, "output": "one"}])
t.eq((st, body.get("accepted")), (201, 1), "a single result is answered meanwhile")
t.eq((out.get("a"), stored(bulk, "a")), (None, 0), "the batch is neither answered nor stored")

# ---- 2. the mail accepted: the batch goes ------------------------------------------------
e.sink.release()
th.join(15)
t.eq((out.get("a") or (None, {}))[0], 201, "the mail accepted: the batch is answered 201")
t.eq(stored(bulk, "a"), 100, "and all 100 results are stored")
t.ok(e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/page1 is CRITICAL", 10),
     "the mail was delivered")
m1 = metrics()
t.eq((m1.get("custos_bulk_yield_waiting"), m1.get("custos_bulk_yields_total")),
     (0, m0["custos_bulk_yields_total"] + 1), "custos_bulk_yields_total counts the wait")
t.ok(m1["custos_bulk_yield_seconds_total"] > m0["custos_bulk_yield_seconds_total"],
     "and custos_bulk_yield_seconds_total its length", m1)

# ---- 3. a page held past bulk_yield_ms: the batch goes at the limit ----------------------
t.ok(reload(bulk_yield_ms=200), "bulk_yield_ms = 200, re-read on SIGHUP")
hold_page("page2", "another page's mail is held")
out = {}
th = post_async(batch(bulk, "b"), out, "b")
th.join(30)
t.eq(((out.get("b") or (None,))[0], stored(bulk, "b"), e.sink.held()), (201, 100, 1),
     "a batch is answered and stored at the limit, the mail still held")
t.eq(metrics().get("custos_bulk_yield_waiting"), 0, "no batch waits any more")
e.sink.release()
t.ok(e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/page2 is CRITICAL", 10),
     "the mail was delivered")

# ---- 4. bulk_yield_ms = 0: never ---------------------------------------------------------
t.ok(reload(bulk_yield_ms=0), "bulk_yield_ms = 0, re-read on SIGHUP")
hold_page("page3", "a third page's mail is held")
y0 = metrics().get("custos_bulk_yields_total")
st, body, _ = e.post_results(e.agent_token, batch(bulk, "c"))
t.eq((st, body.get("accepted"), e.sink.held()), (201, 100, 1),
     "bulk_yield_ms = 0: the batch is answered, the mail still held")
t.eq(metrics().get("custos_bulk_yields_total"), y0, "without waiting")
e.sink.release()
t.ok(e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/page3 is CRITICAL", 10),
     "the mail was delivered")

# ---- 5. no page being made: no wait ------------------------------------------------------
t.ok(reload(bulk_yield_ms=10000), "bulk_yield_ms = 10000 again")
t.ok(wait_for(lambda: e.sink.held() == 0 and all(
    n["status"] not in ("pending", "sending") for n in e.notifications()), 10),
    "nothing is being sent")
y0 = metrics().get("custos_bulk_yields_total")
st, body, _ = e.post_results(e.agent_token, batch(bulk, "d"))
t.eq((st, body.get("accepted")), (201, 100), "a batch with no page being made is answered")
t.eq(metrics().get("custos_bulk_yields_total"), y0, "without waiting")

t.eq(e.sanitizer_reports(), [], "no sanitizer report")
t.eq(e.server.stop(), 0, "serverd exits cleanly")
t.done()
