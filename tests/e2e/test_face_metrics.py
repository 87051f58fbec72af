"""End-to-end: /metrics in the Prometheus text format, parsed by the
Prometheus client library's own parser; the gauges equal /api/v1/status."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Tap  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

t = Tap()
env = Env()
A = env.admin
V = env.api("POST", "/api/v1/tokens", A, {"name": "prom", "role": "viewer"})[1]["token"]

aid, atok = env.make_agent("web01")
env.make_agent("web02")
ids = [env.make_check(aid, "c%d" % i, max_attempts=1) for i in range(6)]
codes = [0, 0, 1, 2, 2, 3]
st, _, _ = env.post_results(atok, [{"check_id": c, "status": s, "output": "x"}
                                   for c, s in zip(ids, codes)])
t.eq(st, 201, "results posted")
env.api("PUT", "/api/v1/agent/self/checkout", atok,
        {"started_at": "2026-01-01T00:00:00Z", "duration_ms": 1, "results": 6, "version": "t"})


def scrape(token):
    st, text, h = env.api("GET", "/metrics", token)
    if isinstance(text, bytes):
        text = text.decode()
    return st, text, h


st, text, h = scrape(None)
t.eq(st, 401, "no token: 401")
aid2, atok2 = env.make_agent("web03")
st, text, h = scrape(atok2)
t.eq(st, 403, "an agent token: 403")
env.api("GET", "/api/v1/status", V)
st, text, h = scrape(V)
t.eq(st, 200, "a viewer token scrapes")
t.ok(h["content-type"].startswith("text/plain; version=0.0.4"), "Prometheus content type")
fams = {f.name: f for f in text_string_to_metric_families(text)}
t.ok(True, "the Prometheus parser reads it all (%d families)" % len(fams))

st, status, _ = env.api("GET", "/api/v1/status", V)
checks = {s.labels["status"]: s.value for s in fams["custos_checks"].samples}
t.eq(checks, {k: float(v) for k, v in status["counts"].items()},
     "custos_checks{status} equals /status counts")
agents = {s.labels["state"]: s.value for s in fams["custos_agents"].samples}
t.eq(agents, {k: float(v) for k, v in status["agents"].items()},
     "custos_agents{state} equals /status agents")
pend = {s.labels["channel"]: s.value for s in fams["custos_notifications_pending"].samples}
t.eq(pend, {"email": 0.0, "pushover": 0.0, "webhook": 0.0}, "nothing pending, all channels shown")
for name in ("custos_notifications_oldest_pending_seconds", "custos_notifications_sent",
             "custos_notifications_failed"):
    t.ok(name in fams and len(fams[name].samples) >= 3, "%s per channel" % name, sorted(fams))
t.eq(fams["custos_notifications_sent"].type, "counter", "sent_total is a counter")
t.eq(fams["custos_results_ingested"].samples[0].value, 6.0,
     "custos_results_ingested_total counts the 6 results stored")

hist = fams["custos_http_request_duration_seconds"]
t.eq(hist.type, "histogram", "request durations are a histogram")
routes = {s.labels["route"] for s in hist.samples}
t.ok("GET /api/v1/status" in routes and "POST /api/v1/check_history" in routes,
     "labelled by route", sorted(routes))
count = [s.value for s in hist.samples if s.name.endswith("_count")
         and s.labels["route"] == "GET /api/v1/status"][0]
inf = [s.value for s in hist.samples if s.name.endswith("_bucket")
       and s.labels["route"] == "GET /api/v1/status" and s.labels["le"] == "+Inf"][0]
t.eq(inf, count, "the +Inf bucket holds every request")

# a pending notification shows: a contact whose relay is nowhere
env.api("POST", "/api/v1/contacts", A, {"name": "ops", "email": "ops@example.org"})
env.post_results(atok, [{"check_id": ids[0], "status": 2, "output": "down"}])
st, text, _ = scrape(A)
fams = {f.name: f for f in text_string_to_metric_families(text)}
st, status, _ = env.api("GET", "/api/v1/status", V)
checks = {s.labels["status"]: s.value for s in fams["custos_checks"].samples}
t.eq(checks, {k: float(v) for k, v in status["counts"].items()}, "after a change: still equal")
t.done()
