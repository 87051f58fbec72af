#!/usr/bin/python3
"""test_downtime_recurring.py - recurring downtimes ("recurring": "sun
02:00-04:00", "tz"): refusals; a definition whose window holds now has an
active occurrence at once, and a result during it is recorded but not
notified; a later window's occurrence is written ahead; DELETE of the
definition ends the active occurrence (and tells what it held back) and
removes the future ones; the CLI (custos downtime --weekly, custos
downtimes)."""
import datetime
import os
import subprocess

from alertlib import AlertEnv
from harness import BUILDDIR, Tap, wait_for

t = Tap()
e = AlertEnv()
A = e.admin
CLI = os.path.join(BUILDDIR, "custos")
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def kinds(check_id):
    return [(x["kind"], x["notify"]) for x in e.events(check_id)]


def occurrences(def_id):
    st, lst, _ = e.api("GET", "/api/v1/downtimes?limit=1000", A)
    return [x for x in lst["items"] if x.get("recurring_id") == def_id]


def cli(*args):
    env = {"HOME": e.tmp, "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "CUSTOS_URL": "http://127.0.0.1:%d" % e.server.port, "CUSTOS_TOKEN": A}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    p = subprocess.run([CLI] + list(args), capture_output=True, text=True, env=env, timeout=60)
    return p.returncode, p.stdout, p.stderr


# ---- refusals: nothing is made ------------------------------------------------------
c = e.check("backup", max_attempts=1)
bad = [
    ({"check_id": c, "recurring": "sun 2-4"}, "recurring"),
    ({"check_id": c, "recurring": "funday 02:00-04:00"}, "recurring"),
    ({"check_id": c, "recurring": "sun 02:00-04:00", "tz": "Mars/Olympus"}, "tz"),
    ({"check_id": c, "recurring": "sun 02:00-04:00", "tz": "../../etc/passwd"}, "tz"),
    ({"check_id": c, "recurring": "sun 02:00-04:00", "end": "2030-01-01T00:00:00Z"}, "recurring"),
    ({"check_id": c, "end": "2030-01-01T00:00:00Z", "tz": "UTC"}, "tz"),
    ({"recurring": "sun 02:00-04:00"}, "agent_id"),
]
for body, field in bad:
    st, r, _ = e.api("POST", "/api/v1/downtimes", A, body)
    t.eq((st, (r or {}).get("field")), (422, field), "refused: %s" % body)
st, r, _ = e.api("POST", "/api/v1/downtimes", A, {"check_id": c, "recurring": "sun 02:00"})
t.ok("DAYS HH:MM-HH:MM" in (r or {}).get("error", ""), "the refusal shows the form", r)
st, lst, _ = e.api("GET", "/api/v1/downtimes", A)
t.eq(lst["items"], [], "a refusal makes nothing")

# ---- a window holding now: an active occurrence at once --------------------------------
st, d, _ = e.api("POST", "/api/v1/downtimes", A, {"check": "web01/backup", "recurring": "daily 00:00-00:00",
                                                   "tz": "Europe/Berlin", "comment": "nightly backup"})
t.ok(st == 201, "recurring downtime created", d)
t.eq((d.get("recurring"), d.get("tz"), d.get("check_id"), d.get("active"), d.get("comment")),
     ("daily 00:00-00:00", "Europe/Berlin", c, True, "nightly backup"), "the definition as answered")
occ = occurrences(d["id"])
t.eq([(x["check_id"], x["active"], x["comment"]) for x in occ], [(c, True, "nightly backup")],
     "one active occurrence, an ordinary downtime carrying recurring_id")
st, one, _ = e.api("GET", "/api/v1/downtimes/%d" % d["id"], A)
t.eq((st, one.get("recurring"), one.get("next", {}).get("end")),
     (200, "daily 00:00-00:00", occ[0]["end"] if occ else None), "GET the definition, with its next occurrence")
st, chk, _ = e.api("GET", "/api/v1/checks/%d" % c, A)
t.eq(chk["state"]["in_downtime"], True, "the check is in downtime")
e.post(c, 2, "backup running")
t.ok(("PROBLEM", False) in kinds(c), "a CRITICAL during it is recorded, not notified", kinds(c))
t.ok(wait_for(lambda: ("DOWNTIME START", False) in kinds(c), 5), "DOWNTIME START (not notified)", kinds(c))
evs = {x["id"] for x in e.events(c)}
t.eq([n for n in e.notifications() if n.get("event_id") in evs], [], "no notification for the check")

# ---- a later window: its occurrence is written ahead, not active -----------------------------
now = datetime.datetime.now(datetime.timezone.utc)
start = (now + datetime.timedelta(hours=2)).replace(second=0, microsecond=0)
end = start + datetime.timedelta(hours=1)
window = "%s %s-%s" % (DAYS[start.weekday()], start.strftime("%H:%M"), end.strftime("%H:%M"))
f = e.check("reindex", max_attempts=1)
st, d2, _ = e.api("POST", "/api/v1/downtimes", A, {"check_id": f, "recurring": window})
t.eq((st, d2.get("tz"), d2.get("active")), (201, "UTC", False), "a window later today: not active, tz UTC")
occ2 = occurrences(d2["id"])
t.eq([(x["start"][:16], x["end"][:16], x["active"]) for x in occ2],
     [(start.strftime("%Y-%m-%dT%H:%M"), end.strftime("%Y-%m-%dT%H:%M"), False)],
     "its next occurrence is written ahead (%s)" % window)
t.eq(d2.get("next", {}).get("start"), occ2[0]["start"] if occ2 else None, "next names it")
st, act, _ = e.api("GET", "/api/v1/downtimes?active=true", A)
t.eq(sorted(x["id"] for x in act["items"]), sorted([d["id"], occ[0]["id"]]),
     "?active=true: the active definition and its occurrence")

# ---- DELETE of a definition -----------------------------------------------------------------
st, _, _ = e.api("DELETE", "/api/v1/downtimes/%d" % d["id"], A)
t.eq(st, 204, "DELETE the definition -> 204")
t.ok(e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/backup is CRITICAL", 5),
     "its active occurrence ends: what it held back is notified", e.sink.subjects())
t.ok(("DOWNTIME END", False) in kinds(c), "DOWNTIME END recorded", kinds(c))
t.eq(occurrences(d["id"]), [], "no occurrence left")
st, _, _ = e.api("GET", "/api/v1/downtimes/%d" % d["id"], A)
t.eq(st, 404, "the definition is gone")
st, chk, _ = e.api("GET", "/api/v1/checks/%d" % c, A)
t.eq(chk["state"]["in_downtime"], False, "the check is out of downtime")
st, _, _ = e.api("DELETE", "/api/v1/downtimes/%d" % d2["id"], A)
t.eq(st, 204, "DELETE the later one")
st, _, _ = e.api("GET", "/api/v1/downtimes/%d" % occ2[0]["id"], A) if occ2 else (None, None, None)
t.eq(st, 404, "its future occurrence is removed")
st, _, _ = e.api("DELETE", "/api/v1/downtimes/%d" % d2["id"], A)
t.eq(st, 404, "DELETE again -> 404")

# ---- the CLI ----------------------------------------------------------------------------
e.check("sshd", max_attempts=1)
rc, out, err = cli("downtime", "web01/sshd", "--weekly", "sat,sun 00:00-00:00", "--tz", "Europe/Berlin",
                   "-m", "weekend")
t.ok(rc == 0 and "every sat,sun 00:00-00:00 (Europe/Berlin)" in out, "custos downtime --weekly", (rc, out, err))
rc, out, err = cli("downtimes")
t.ok(rc == 0 and "every sat,sun 00:00-00:00 Europe/Berlin" in out and "weekend" in out,
     "custos downtimes lists it", (rc, out, err))
rc, out, err = cli("--json", "downtimes")
items = __import__("json").loads(out) if rc == 0 else []
defs = [x for x in items if x.get("recurring")]
t.eq([(x["recurring"], x["tz"]) for x in defs], [("sat,sun 00:00-00:00", "Europe/Berlin")], "--json shows it")
rc, out, err = cli("downtime", "web01/sshd", "--weekly", "sun 25:00-04:00")
t.ok(rc == 1 and "25:00" in err, "a bad window: the server's reason, exit 1", (rc, out, err))
rc, out, err = cli("downtime", "web01/sshd", "--weekly", "sun 02:00-04:00", "--for", "1h")
t.eq(rc, 2, "--weekly with --for: usage, exit 2")
rc, out, err = cli("downtime", "web01/sshd", "--for", "1h", "--tz", "UTC")
t.eq(rc, 2, "--tz without --weekly: usage, exit 2")
if defs:
    rc, out, err = cli("downtime", "--cancel", str(defs[0]["id"]))
    t.ok(rc == 0 and "cancelled" in out, "custos downtime --cancel ID of a definition", (rc, out, err))
    t.eq(occurrences(defs[0]["id"]), [], "its occurrences are gone")
t.done()
