#!/usr/bin/python3
"""test_rotations.py - on-call rotations (/api/v1/rotations) and people's
quiet hours as stored (their refusals and effect: test_quiet_hours.py): create, validate, read by name; "who is on call" compared, at
instants across both 2026 daylight-saving changes, with an oracle computed
here independently (Python's zoneinfo on the calendar); overrides (an
operator may add one, a viewer may not); members dropped when their user is
deleted; the roles."""
import os
import sys
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BUILDDIR, Env, Tap  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402

t = Tap()
env = Env()
A = env.admin
S = env.server
OP = S.create_token("op", role="operator")
VIEW = S.create_token("view", role="viewer")


def api(method, path, who=A, body=None):
    return S.request(method, path, who, body)


def utc(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- people with quiet hours ---------------------------------------------------
for name, tz in [("alice", "Europe/Berlin"), ("bob", "America/New_York"), ("carol", "UTC"),
                 ("dave", "UTC")]:
    st, u, _ = api("POST", "/api/v1/users", body={"name": name, "tz": tz,
                                                  "quiet_hours": ["mon-fri 22:00-07:00"]})
    t.ok(st == 201 and u["quiet_hours"] == ["mon-fri 22:00-07:00"], "user %s with quiet hours" % name,
         (st, u))
st, u, _ = api("PATCH", "/api/v1/users/%d" % u["id"],
               body={"quiet_hours": ["sat,sun 00:00-00:00", "daily 23:30-06:00"]})
t.ok(st == 200 and u["quiet_hours"] == ["sat,sun 00:00-00:00", "daily 23:30-06:00"],
     "PATCH replaces the quiet hours", (st, u))
st, u2, _ = api("PATCH", "/api/v1/users/%d" % u["id"], body={"quiet_hours": None})
t.eq(u2["quiet_hours"], [], "null clears the quiet hours")

# ---- rotations: create and validate ----------------------------------------------
BODY = {"name": "ops", "members": ["alice", "bob", "carol"], "shift": "day",
        "handoff": "09:00", "tz": "Europe/Berlin", "start": "2026-03-27"}
st, r, _ = api("POST", "/api/v1/rotations", body=BODY)
t.ok(st == 201 and r["name"] == "ops" and r["members"] == ["alice", "bob", "carol"] and
     r["shift"] == "day" and r["start"] == "2026-03-27" and r["overrides"] == [] and
     r["created_by"] == "admin", "create a daily rotation by names", (st, r))
for body, code, field, why in [
        (dict(BODY, name="x", shift="hours:5"), 422, "shift", "a shift not dividing a day"),
        (dict(BODY, name="x", shift="month"), 422, "shift", "an unknown shift"),
        (dict(BODY, name="x", handoff="9h"), 422, "handoff", "a hand-off that is no time"),
        (dict(BODY, name="x", tz="Mars/Base"), 422, "tz", "an unknown zone"),
        (dict(BODY, name="x", start="2026-02-30"), 422, "start", "a day that does not exist"),
        (dict(BODY, name="x", members=[]), 422, "members", "no members"),
        (dict(BODY, name="x", members=["nobody"]), 422, "members", "an unknown member"),
        (dict(BODY, name="x", handoff_day="mon"), 422, "handoff_day", "a hand-off day on a daily shift"),
        (dict(BODY, name="a b"), 422, "name", "a name with a space"),
        (dict(BODY, name="ops"), 409, "name", "a taken name"),
        (dict(BODY, name="x", colour="red"), 422, "colour", "an unknown field")]:
    st, e, _ = api("POST", "/api/v1/rotations", body=body)
    t.ok(st == code and e.get("field") == field, "rotation, %s: %d" % (why, code), (st, e))
t.eq(env.cluster.psql("SELECT count(*) FROM rotations")[0][0], "1", "nothing stored by the refusals")
st, e, _ = api("POST", "/api/v1/rotations", OP, dict(BODY, name="x"))
t.eq(st, 403, "an operator cannot make a rotation")
st, e, _ = api("GET", "/api/v1/rotations/nope")
t.eq(st, 404, "an unknown rotation: 404")
st, e, _ = api("GET", "/api/v1/rotations/ops/oncall?at=yesterday")
t.eq(st, 400, "at that is not a time: 400")


# ---- who is on call: the API against an oracle --------------------------------------
def oracle(members, zone, start, handoff, t_utc, days=1, weekday=None):
    """The member on call at t_utc, and the shift's bounds, on the calendar."""
    z = ZoneInfo(zone)
    first = start
    if weekday is not None:
        first = start + timedelta(days=(weekday - start.weekday()) % 7)
    local = t_utc.astimezone(z)
    d = local.date()
    # the wall-clock day (or week) whose hand-off comes last at or before t
    k = ((d - first).days) // days
    while True:
        s = datetime.combine(first + timedelta(days=k * days), handoff, z)
        if s.astimezone(timezone.utc) <= t_utc:
            break
        k -= 1
    while datetime.combine(first + timedelta(days=(k + 1) * days), handoff, z) \
            .astimezone(timezone.utc) <= t_utc:
        k += 1
    s = datetime.combine(first + timedelta(days=k * days), handoff, z)
    e = datetime.combine(first + timedelta(days=(k + 1) * days), handoff, z)
    return members[k % len(members)], utc(s), utc(e)


def compare(rot, members, zone, start, handoff, ranges, days=1, weekday=None):
    bad = []
    n = 0
    for lo, hi in ranges:
        at = lo
        while at < hi:
            want = oracle(members, zone, start, handoff, at, days, weekday)
            st, o, _ = api("GET", "/api/v1/rotations/%s/oncall?at=%s" % (rot, utc(at)))
            got = (o.get("user"), o.get("start"), o.get("end")) if st == 200 else (st, o)
            if got != want:
                bad.append((utc(at), got, want))
            n += 1
            at += timedelta(hours=7, minutes=13)
    return n, bad


SPRING = (datetime(2026, 3, 20, tzinfo=timezone.utc), datetime(2026, 4, 5, tzinfo=timezone.utc))
AUTUMN = (datetime(2026, 10, 20, tzinfo=timezone.utc), datetime(2026, 11, 8, tzinfo=timezone.utc))
n, bad = compare("ops", ["alice", "bob", "carol"], "Europe/Berlin", date(2026, 3, 27),
                 time(9, 0), [SPRING, AUTUMN])
t.ok(not bad, "daily rotation in Berlin: %d instants across both changes match the oracle" % n,
     bad[:3])

st, r, _ = api("POST", "/api/v1/rotations", body={
    "name": "weekly-ny", "members": ["bob", "alice"], "shift": "week", "handoff": "10:30",
    "handoff_day": "monday", "tz": "America/New_York", "start": "2026-02-25"})
t.ok(st == 201 and r["handoff_day"] == "monday", "a weekly rotation handing off on Mondays",
     (st, r))
n, bad = compare("weekly-ny", ["bob", "alice"], "America/New_York", date(2026, 2, 25),
                 time(10, 30), [SPRING, AUTUMN], days=7, weekday=0)
t.ok(not bad, "weekly rotation in New York: %d instants match the oracle" % n, bad[:3])

st, o, _ = api("GET", "/api/v1/rotations/ops/oncall?at=2026-03-28T12:00:00Z", VIEW)
t.ok(st == 200 and o["user"] == "bob" and o["override"] is False and
     o["next"] == {"user": "carol", "at": "2026-03-29T07:00:00Z"},
     "a viewer reads who is on call, and who is next (after a 23-hour shift)", (st, o))
st, o, _ = api("GET", "/api/v1/rotations/ops/oncall")
t.ok(st == 200 and o["user"] in ("alice", "bob", "carol"), "without at: now", (st, o))

# ---- overrides --------------------------------------------------------------------
OV = {"user": "dave", "start": "2026-03-28T10:00:00Z", "end": "2026-03-28T14:00:00Z"}
st, e, _ = api("POST", "/api/v1/rotations/ops/overrides", VIEW, OV)
t.eq(st, 403, "a viewer cannot add an override")
for body, code, why in [(dict(OV, user="nobody"), 422, "an unknown user"),
                        (dict(OV, end="2026-03-28T09:00:00Z"), 422, "an end before the start"),
                        (dict(OV, start="soon"), 422, "a start that is no time"),
                        ({"start": OV["start"], "end": OV["end"]}, 422, "no user")]:
    st, e, _ = api("POST", "/api/v1/rotations/ops/overrides", OP, body)
    t.eq(st, code, "override, %s: %d" % (why, code))
st, o, _ = api("POST", "/api/v1/rotations/ops/overrides", OP, OV)
t.ok(st == 201 and o["start"] == OV["start"], "an operator adds an override", (st, o))
st, o, _ = api("GET", "/api/v1/rotations/ops/oncall?at=2026-03-28T12:00:00Z")
t.ok(st == 200 and o["user"] == "dave" and o["override"] is True and o["scheduled"] == "bob" and
     o["end"] == OV["end"], "inside the override: dave, bob scheduled", (st, o))
st, o, _ = api("GET", "/api/v1/rotations/ops/oncall?at=2026-03-28T14:00:00Z")
t.ok(st == 200 and o["user"] == "bob" and o["override"] is False, "after it: bob again", (st, o))
st, o, _ = api("POST", "/api/v1/rotations/ops/overrides", OP,
               {"user": "alice", "start": "2026-03-28T11:00:00Z", "end": "2026-03-28T12:30:00Z"})
st, o, _ = api("GET", "/api/v1/rotations/ops/oncall?at=2026-03-28T12:00:00Z")
t.eq(o["user"], "alice", "where two overrides overlap the newer wins")
st, r, _ = api("GET", "/api/v1/rotations/ops")
t.ok(len(r["overrides"]) == 2 and r["overrides"][0]["user"] == "dave" and
     r["overrides"][0]["created_by"] == "op", "the rotation lists its overrides and who made them", r)

# ---- the command line -------------------------------------------------------------
CLI = os.path.join(BUILDDIR, "custos")


def cli(*args, token=A):
    e = {"HOME": env.tmp, "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
         "CUSTOS_URL": "http://127.0.0.1:%d" % S.port, "CUSTOS_TOKEN": token}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            e[k] = os.environ[k]
    p = subprocess.run([CLI] + list(args), capture_output=True, text=True, env=e, timeout=60)
    return p.returncode, p.stdout, p.stderr


rc, out, err = cli("rotations", "create", "db", "--members", "alice,bob", "--shift", "hours:12",
                   "--handoff", "08:00", "--tz", "Europe/Berlin", "--first-day", "2026-12-01")
t.ok(rc == 0 and "rotation db created" in out, "custos rotations create", (rc, out, err))
rc, out, err = cli("rotations")
t.ok(rc == 0 and any(l.split()[:3] == ["db", "hours:12", "08:00"] and "alice,bob" in l
                     for l in out.splitlines()), "custos rotations lists it", out)
rc, out, err = cli("oncall", "db", "--at", "2026-12-01T08:00:00Z")
t.ok(rc == 0 and out.startswith("alice is on call for db until 2026-12-01T19:00:00Z, then bob"),
     "custos oncall --at: the first 12-hour shift (08:00-20:00 in Berlin)", (rc, out, err))
rc, out, err = cli("rotations", "override", "db", "dave", "--start", "2026-12-01T07:00:00Z",
                   "--for", "2h", token=OP)
t.ok(rc == 0 and "dave is on call for db" in out, "custos rotations override, as an operator",
     (rc, out, err))
rc, out, err = cli("--json", "oncall", "db", "--at", "2026-12-01T08:00:00Z")
o = json.loads(out) if rc == 0 else {}
t.ok(o.get("user") == "dave" and o.get("override") is True and o.get("scheduled") == "alice",
     "custos --json oncall: the override", (rc, out, err))
rc, out, err = cli("oncall", "db", "--at", "2026-12-01T08:00:00Z")
t.ok(rc == 0 and "(an override), then alice" in out, "and in words", out)
rc, out, err = cli("rotations", "edit", "db", "--shift", "fortnight")
t.ok(rc == 1 and "shift" in err, "a refused edit: exit 1 with the server's reason", (rc, err))
rc, out, err = cli("rotations", "create", "db2", "--shift", "day")
t.ok(rc == 2 and "--members" in err, "create without members: a usage error", (rc, err))
rc, out, err = cli("oncall", "../users")
t.ok(rc == 2, "a name that is not a rotation's is refused before sending", (rc, err))
rc, out, err = cli("users", "edit", "alice", "--quiet-hours", "mon-fri 22:00-07:00;sat,sun 00:00-00:00")
st, al, _ = api("GET", "/api/v1/users")
al = [u for u in al["items"] if u["name"] == "alice"][0]
t.ok(rc == 0 and al["quiet_hours"] == ["mon-fri 22:00-07:00", "sat,sun 00:00-00:00"],
     "custos users edit --quiet-hours", (rc, out, err, al))
rc, out, err = cli("rotations", "delete", "db")
t.ok(rc == 0 and "rotation db deleted" in out, "custos rotations delete", (rc, out, err))

# ---- PATCH, deleting a member, DELETE ------------------------------------------------
st, r, _ = api("PATCH", "/api/v1/rotations/ops", body={"members": ["carol", "alice"], "overrides": []})
t.ok(st == 200 and r["members"] == ["carol", "alice"] and r["overrides"] == [],
     "PATCH replaces members and overrides", (st, r))
st, e, _ = api("PATCH", "/api/v1/rotations/ops", body={"handoff_day": "mon"})
t.ok(st == 422 and e["field"] == "handoff_day", "PATCH that breaks the rotation: 422", (st, e))
st, r, _ = api("GET", "/api/v1/rotations/ops")
t.eq(r["handoff_day"], None, "and nothing of it was kept")
st, e, _ = api("PATCH", "/api/v1/rotations/ops", OP, {"members": ["dave"]})
t.eq(st, 403, "an operator cannot edit a rotation")
carol = [u for u in api("GET", "/api/v1/users")[1]["items"] if u["name"] == "carol"][0]
api("DELETE", "/api/v1/users/%d" % carol["id"])
st, r, _ = api("GET", "/api/v1/rotations/ops")
t.eq(r["members"], ["alice"], "a deleted user leaves the rotation")
st, o, _ = api("GET", "/api/v1/rotations/ops/oncall?at=2026-03-28T12:00:00Z")
t.eq(o["user"], "alice", "and the order closes up")
st, lst, _ = api("GET", "/api/v1/rotations", VIEW)
t.eq([x["name"] for x in lst["items"]], ["ops", "weekly-ny"], "the list, for a viewer too")
st, _, _ = api("DELETE", "/api/v1/rotations/ops")
t.eq(st, 204, "DELETE: 204")
st, _, _ = api("DELETE", "/api/v1/rotations/ops")
t.eq(st, 404, "again: 404")
t.eq(env.cluster.psql("SELECT count(*) FROM rotation_members m WHERE NOT EXISTS"
                      " (SELECT 1 FROM rotations r WHERE r.id = m.rotation_id)")[0][0], "0",
     "its members went with it")
t.done()
