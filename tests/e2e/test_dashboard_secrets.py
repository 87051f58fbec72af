"""End-to-end: a credential in a check's arguments (an http check's
"http://user:password@host/") is read by an admin and by the agent that
runs the check, never by an operator or a viewer: not in the checks list
or one check, /api/v1/status, events, history, the live stream (new frames
and a replay), nor on the dashboard's pages, where a viewer sees
"http://***@host/" and an admin the whole URL."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SRCDIR, Env, Tap  # noqa: E402
from chromelib import Browser  # noqa: E402
from sselib import SSE  # noqa: E402

t = Tap()
env = Env(conf={"www_dir": os.path.join(SRCDIR, "serverd", "www"), "stream_heartbeat_s": "1"})
A = env.admin
V = env.api("POST", "/api/v1/tokens", A, {"name": "viewer", "role": "viewer"})[1]["token"]
O = env.api("POST", "/api/v1/tokens", A, {"name": "operator", "role": "operator"})[1]["token"]
PW = "S3cretPw-9f2"
URL = "http://alice:%s@intranet.example/health" % PW
SHOWN = "http://***@intranet.example/health"
aid, atok = env.make_agent("web01")
cid = env.make_check(aid, "intranet", "http", params={"url": URL, "timeout_ms": 5000},
                     max_attempts=1)
st, _, _ = env.post_results(atok, [{"check_id": cid, "status": 2,
                                    "output": "GET %s: connection refused" % URL}])
t.eq(st, 201, "a CRITICAL result whose output echoes the URL")

# ---- the API -----------------------------------------------------------------
st, c, _ = env.api("GET", "/api/v1/checks/%d" % cid, A)
t.eq(c["params"]["url"], URL, "an admin reads the whole URL")
st, c, _ = env.api("GET", "/api/v1/agent/self/checks", atok)
t.ok(PW in repr(c), "the agent that runs the check reads it too", repr(c)[:300])

gets = ["/api/v1/checks", "/api/v1/checks/%d" % cid, "/api/v1/status", "/api/v1/events",
        "/api/v1/checks/%d/history" % cid, "/api/v1/agents/%d" % aid]
for role, tok in (("operator", O), ("viewer", V)):
    st, c, _ = env.api("GET", "/api/v1/checks/%d" % cid, tok)
    t.eq((st, c["params"]["url"]), (200, SHOWN), "%s: the check's url without user:password" % role)
    st, s, _ = env.api("GET", "/api/v1/status", tok)
    p = [x for x in s["problems"] if x["id"] == cid]
    t.ok(p and p[0]["params"]["url"] == SHOWN and PW not in p[0]["state"]["output"],
         "%s: /api/v1/status, the problem's params and output" % role, p)
    leaks = []
    for path in gets:
        st, b, _ = env.api("GET", path, tok)
        if st != 200 or PW in repr(b):
            leaks.append((path, st))
    t.eq(leaks, [], "%s: %d GETs, none holds the password" % (role, len(gets)))
# a selected status (computed apart from the cached one) too
st, s, _ = env.api("GET", "/api/v1/status?selector=%21nosuchlabel", V)
t.ok(st == 200 and any(x["id"] == cid for x in s["problems"]) and PW not in repr(s),
     "a selected /api/v1/status: the problem, no password", (st, repr(s)[:200]))

# ---- the stream ----------------------------------------------------------------
sv, sa = SSE(env.server.port, V), SSE(env.server.port, A)
env.post_results(atok, [{"check_id": cid, "status": 0, "output": "200 from %s" % URL}])
fv, seen_v = sv.until(lambda f: f["event"] == "check" and f["data"]["id"] == cid)
fa, _ = sa.until(lambda f: f["event"] == "check" and f["data"]["id"] == cid)
t.eq(fv["data"]["params"]["url"], SHOWN, "the viewer's stream frame: the url without the password")
t.ok(PW not in repr(seen_v) + sv.body.decode(errors="replace"),
     "nothing of the viewer's stream holds it (%d frames)" % len(seen_v))
t.eq(fa["data"]["params"]["url"], URL, "the admin's frame of the same change: the whole URL")
sv.close()
sa.close()
# a replay (Last-Event-ID) is made for the one stream: redacted as well
sr = SSE(env.server.port, V, headers={"Last-Event-ID": "0"})
fr, seen_r = sr.until(lambda f: f["event"] == "check" and f["data"]["id"] == cid)
text = repr(seen_r) + sr.body.decode(errors="replace")
t.ok(PW not in text and fr["data"]["params"]["url"] == SHOWN,
     "a viewer's replayed frames: the url without the password", text[:300])
sr.close()

# ---- the dashboard ---------------------------------------------------------------
env.post_results(atok, [{"check_id": cid, "status": 2, "output": "GET %s: refused" % URL}])
b = Browser(t, env, prefix="secrets-")
for role, tok, want in (("viewer", V, SHOWN), ("operator", O, SHOWN), ("admin", A, URL)):
    b.login(tok)
    b.wait_true(lambda: cid in [int(x) for x in b.js(
        "return [...document.querySelectorAll('#problems tbody tr')].map(r => r.dataset.checkId)")],
        "%s: the check is on the overview" % role)
    over = b.js("return document.body.innerText")
    b.get("/checks/%d" % cid)
    b.wait_css("#main[data-ready=check] #check-params", "%s: the check page" % role)
    params = b.text_of("#check-params")
    t.ok(want in params, "%s: the page shows the url as %s" % (role, want), params)
    page = b.js("return document.documentElement.outerHTML")
    if role == "admin":
        t.ok(PW in page, "admin: the password is on the page")
    else:
        t.ok(PW not in page and PW not in over, "%s: the password is nowhere on the pages" % role)

t.done()
