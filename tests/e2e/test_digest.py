#!/usr/bin/python3
"""test_digest.py - grouping into digests (docs/alerting.md, "Grouping
(digests)"), against the real SMTP sink, the Pushover stand-in and a
webhook receiver, with two serverd on one database:
  - 2 problems (below group_min) to a person: 2 mails, 2 pages, no digest;
  - 50 checks going CRITICAL/UNKNOWN/WARNING HARD in one batch POST, to 2
    people: each gets group_min mails and pages one by one at once, the
    other 47 are held in one open digest per person and channel (the
    window is 600 s: nothing is sent meanwhile), a SIGHUP ends the window
    and each person gets exactly one digest mail, one digest page and (the
    webhook person) one digest webhook, listing the 47 worst first, each
    with its link; every member row records its digest and the decision
    "merged into digest N"; two serverd send each digest once;
  - order per check: the RECOVERY of a check whose PROBLEM waits in a digest
    joins that digest while its window is still open (it is never sent
    before it, nor left for a digest of its own a window later): the
    digest lists the PROBLEM and then its RECOVERY;
  - a digest mail in flight (the sink holds it) when its serverd is killed
    -9: the other serverd takes it over and resends it, marked, with the
    digest's Message-ID; every member's attempt log says so.
The window is ended by the test (SIGHUP), never waited out."""
import json
import re
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from alertlib import AlertEnv, PO_USER
from harness import Server, Tap, wait_for

t = Tap()
GMIN = 3
e = AlertEnv(conf={"group_window_s": "600", "group_min": str(GMIN)})
A = e.admin
PO_USER2 = "u" * 29 + "2"
PO_USER3 = "u" * 29 + "3"

hooks = []


class Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        hooks.append((self.headers.get("Idempotency-Key"), json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


hs = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=hs.serve_forever, daemon=True).start()


def contact(name, po, **extra):
    body = {"name": name, "email": name + "@example.test", "pushover_user": po}
    body.update(extra)
    st, c, _ = e.api("POST", "/api/v1/contacts", A, body)
    if st != 201:
        t.bail("contact %s: %s %s" % (name, st, c))
    return c["id"]


c1 = e.contact_id                                    # oncall@example.test, PO_USER
c2 = contact("second", PO_USER2, webhook_url="http://127.0.0.1:%d/hook" % hs.server_address[1])
c3 = contact("third", PO_USER3)


def sql(q):
    return e.cluster.psql(q)


def mails_to(addr):
    return [m for m in e.sink.messages() if addr in json.dumps(m.get("to", m))]


def pushes_to(user):
    return [r for r in e.po.accepted() if r["fields"].get("user") == user]


# a second serverd on the same database: each digest is still sent once
settings = {}
with open(e.server.conf_path) as f:
    for line in f:
        k, _, v = line.partition(" = ")
        settings[k.strip()] = v.strip()
del settings["listen"]
del settings["public_url"]
s2 = Server(e.tmp, e.cluster, name="serverd2", conf=settings).start()

# ---- below group_min: no storm, nothing held back -----------------------------------------
few = [e.check("few%d" % i, contacts=[c3]) for i in range(2)]
st, body, _ = e.post_results(e.agent_token, [{"check_id": c, "status": 2, "output": "down"} for c in few])
t.eq(st, 201, "2 problems posted in one batch")
t.ok(wait_for(lambda: len(mails_to("third@")) == 2 and len(pushes_to(PO_USER3)) == 2, 15),
     "2 problems: 2 mails and 2 pages to the person, at once",
     [m["subject"] for m in mails_to("third@")])
t.eq(sorted(m["subject"] for m in mails_to("third@")),
     ["[custos] PROBLEM web01/few0 is CRITICAL", "[custos] PROBLEM web01/few1 is CRITICAL"],
     "the two are ordinary notifications")
t.eq(sql("SELECT count(*) FROM digests"), [["0"]], "no digest was made")
t.eq(sql("SELECT count(*) FROM notifications WHERE contact_id = %d AND digest_id IS NOT NULL" % c3),
     [["0"]], "no row of theirs is grouped")

# ---- 50 at once, to 2 people ----------------------------------------------------------------
STATUS = {2: "CRITICAL", 3: "UNKNOWN", 1: "WARNING"}


def status_of(i):
    return 1 if i % 10 == 3 else 3 if i % 10 == 7 else 2


storm = [e.check("s%02d" % i, contacts=[c1, c2]) for i in range(50)]
name_of = {cid: "s%02d" % i for i, cid in enumerate(storm)}
st, body, _ = e.post_results(e.agent_token, [
    {"check_id": c, "status": status_of(i), "output": "storm %d" % i} for i, c in enumerate(storm)])
t.eq(st, 201, "50 problems posted in one batch")

CHANNELS = {c1: ("email", "pushover"), c2: ("email", "pushover", "webhook")}


def held_state():
    rows = sql("SELECT n.contact_id, n.channel,"
               " count(*) FILTER (WHERE n.digest_id IS NOT NULL AND n.status = 'pending'),"
               " count(*) FILTER (WHERE n.digest_id IS NULL AND n.status = 'sent')"
               " FROM notifications n JOIN events e ON e.id = n.event_id"
               " WHERE e.kind = 'PROBLEM' AND e.check_id IN (%s) GROUP BY 1, 2 ORDER BY 1, 2"
               % ",".join(str(c) for c in storm))
    return {(int(r[0]), r[1]): (int(r[2]), int(r[3])) for r in rows}


want = {(c, ch): (50 - GMIN, GMIN) for c, chs in CHANNELS.items() for ch in chs}
t.ok(wait_for(lambda: held_state() == want, 30),
     "each person, on each channel: %d sent at once, %d held in a digest" % (GMIN, 50 - GMIN),
     held_state())
t.eq(sql("SELECT contact_id, channel, count(*) FROM digests WHERE status = 'open'"
         " GROUP BY 1, 2 ORDER BY 1, 2"),
     [[str(c), ch, "1"] for c, chs in sorted(CHANNELS.items()) for ch in sorted(chs)],
     "one open digest per person and channel")
first = sql("SELECT n.contact_id, n.channel, string_agg(e.check_id::text, ',' ORDER BY n.id)"
            " FROM notifications n JOIN events e ON e.id = n.event_id"
            " WHERE n.digest_id IS NULL AND e.check_id IN (%s) GROUP BY 1, 2"
            % ",".join(str(c) for c in storm))
t.ok(all(r[2] == ",".join(str(c) for c in storm[:GMIN]) for r in first),
     "the ones sent at once are the first %d of the storm" % GMIN, first)
t.eq(len(mails_to("oncall@")), GMIN, "person 1: %d mails so far, nothing more while the window is open" % GMIN)
t.eq(len(pushes_to(PO_USER)), GMIN, "person 1: %d pages so far" % GMIN)
t.eq(len(hooks), GMIN, "person 2: %d webhooks so far" % GMIN)

# order per check: a RECOVERY of a check whose PROBLEM waits in the digest
late = storm[10:12]
st, _, _ = e.post_results(e.agent_token, [{"check_id": c, "status": 0, "output": "fine"} for c in late])
t.eq(st, 201, "2 of the held checks recover")
t.ok(wait_for(lambda: sql("SELECT count(*) FROM notifications n JOIN events e ON e.id = n.event_id"
                          " WHERE e.kind = 'RECOVERY' AND e.check_id IN (%s)"
                          % ",".join(map(str, late)))[0][0] == "10", 10),
     "their RECOVERY rows are made (2 checks x 5 person-channels)")
# the window is 600 s and nothing ends it before the test does: a RECOVERY
# found in the digest of its PROBLEM now joined it at its claim
JOINED = ("SELECT count(*) FROM notifications r JOIN events e ON e.id = r.event_id"
          " JOIN notifications p ON p.contact_id = r.contact_id AND p.channel = r.channel"
          "  AND p.series = r.series AND p.event_id < r.event_id"
          " JOIN digests d ON d.id = r.digest_id"
          " WHERE e.kind = 'RECOVERY' AND e.check_id IN (%s) AND r.status = 'pending'"
          "  AND r.digest_id = p.digest_id AND p.status = 'pending' AND d.status = 'open'"
          % ",".join(map(str, late)))
t.ok(wait_for(lambda: sql(JOINED) == [["10"]], 15),
     "each RECOVERY joins the open digest its PROBLEM waits in, before the window ends",
     sql("SELECT e.check_id, r.contact_id, r.channel, r.status, r.digest_id, r.route"
         " FROM notifications r JOIN events e ON e.id = r.event_id"
         " WHERE e.kind = 'RECOVERY' AND e.check_id IN (%s)" % ",".join(map(str, late))))
t.eq(sql("SELECT count(*) FROM notifications n JOIN events e ON e.id = n.event_id"
         " WHERE e.kind = 'RECOVERY' AND n.status = 'sent'"), [["0"]],
     "no RECOVERY went out before its PROBLEM's digest")

# end the window: a SIGHUP makes every open digest due (one serverd's is
# enough: the digests are in the database; a second one, late, would end
# the next window too)
e.server.proc.send_signal(signal.SIGHUP)


def digest_mails(addr):
    return [m for m in mails_to(addr) if re.match(r"\[custos\] \d+ problems on", m["subject"])]


def digest_pushes(user):
    return [r for r in pushes_to(user) if re.match(r"\d+ problems on", r["fields"]["title"])]


t.ok(wait_for(lambda: all(len(digest_mails(a)) >= 1 for a in ("oncall@", "second@")) and
              all(len(digest_pushes(u)) >= 1 for u in (PO_USER, PO_USER2)) and
              any(h[1].get("kind") == "DIGEST" for h in hooks), 30),
     "the digests arrive once the window ends")
t.ok(wait_for(lambda: held_state() == {k: (0, GMIN) for k in want}, 15), "no PROBLEM row is held any more",
     held_state())
for addr in ("oncall@", "second@"):
    ms = digest_mails(addr)
    t.eq([m["subject"] for m in ms], ["[custos] %d problems on 1 agent, 2 recoveries" % (50 - GMIN)],
         "%s: exactly one digest mail, with the 2 recoveries" % addr)
    t.eq(len([m for m in mails_to(addr) if "PROBLEM" in m["subject"]]), GMIN,
         "%s: and the %d sent one by one" % (addr, GMIN))
for user in (PO_USER, PO_USER2):
    ps = digest_pushes(user)
    t.eq([(r["fields"]["title"], r["fields"].get("priority")) for r in ps],
         [("%d problems on 1 agent, 2 recoveries" % (50 - GMIN), "1")],
         "pushover %s: exactly one digest page, at the highest priority of its members" % user[-1])
dh = [h for h in hooks if h[1].get("kind") == "DIGEST" and "problems" in h[1]["title"]]
t.eq(len(dh), 1, "person 2: exactly one digest webhook")

# the mail lists the 47 worst first, each with its check, status, output and link
body = e.sink.body(digest_mails("oncall@")[0])
lines = re.findall(r"^(CRITICAL|UNKNOWN|WARNING) +web01/(s\d\d) \(PROBLEM\): (storm \d+)\r?\n +(\S+)",
                   body, re.M)
t.ok(len(lines) == 50 - GMIN, "the digest lists every member", body[:600])
ranks = {"CRITICAL": 0, "UNKNOWN": 1, "WARNING": 2}
t.ok([ranks[x[0]] for x in lines] == sorted(ranks[x[0]] for x in lines),
     "worst first: CRITICAL, then UNKNOWN, then WARNING", [x[0] for x in lines])
ids = {v: k for k, v in name_of.items()}
t.ok(all(x[0] == STATUS[status_of(int(x[1][1:]))] and x[2] == "storm %d" % int(x[1][1:])
         and x[3].endswith("/checks/%d" % ids[x[1]]) for x in lines),
     "each line: its check's status, output and dashboard link", lines[:3])
t.eq(sorted(x[1] for x in lines), sorted(name_of[c] for c in storm[GMIN:]),
     "the members are the storm's rows after the first %d" % GMIN)
t.ok(all(re.search(r"^CRITICAL +web01/%s \(PROBLEM\): storm %d\r?\n +\S+\r?\n"
                   r"OK +web01/%s \(RECOVERY\): fine\r?\n" % (name_of[c], storm.index(c), name_of[c]),
                   body, re.M) for c in late),
     "a recovered check's PROBLEM is followed by its RECOVERY: CRITICAL, then OK", body[:1500])

# the webhook carries the members
hk, hb = dh[0]
t.ok(hk.startswith("custos-digest-") and hb["title"] == "%d problems on 1 agent, 2 recoveries" % (50 - GMIN),
     "webhook: kind DIGEST, its own idempotency key and title", (hk, hb.get("title")))
t.eq(sorted((m["check"], m["status"], m["kind"], m["output"]) for m in hb["members"]),
     sorted([(name_of[c], STATUS[status_of(storm.index(c))], "PROBLEM", "storm %d" % storm.index(c))
             for c in storm[GMIN:]] + [(name_of[c], "OK", "RECOVERY", "fine") for c in late]),
     "webhook: the members, each with event_id, check, status, kind and output")
t.ok(all(isinstance(m["event_id"], int) for m in hb["members"]), "webhook: members' event ids")

# the record
rows = sql("SELECT d.id, d.contact_id, d.channel, d.status, d.members, d.sent_at IS NOT NULL,"
           " (SELECT count(*) FROM notifications n WHERE n.digest_id = d.id AND n.status = 'sent'"
           "   AND n.sent_at IS NOT NULL AND n.route @> jsonb_build_array(jsonb_build_object("
           "   'decision', 'digest', 'detail', 'merged into digest ' || d.id)))"
           " FROM digests d WHERE d.contact_id IN (%d, %d) ORDER BY d.id" % (c1, c2))
storm_digests = [r for r in rows if r[4] == str(50 - GMIN + 2)]
t.eq(sorted((int(r[1]), r[2], r[3], r[5], r[6]) for r in storm_digests),
     sorted((c, ch, "sent", "t", str(50 - GMIN + 2)) for c, chs in CHANNELS.items() for ch in chs),
     "table digests: one per person and channel, sent, 49 members (47 problems, 2 recoveries);"
     " each member sent with it, its route saying 'merged into digest N'")
st, ns, _ = e.api("GET", "/api/v1/notifications?limit=1000&contact_id=%d&channel=email" % c1, A)
grouped = [n for n in ns["items"] if n.get("digest_id") and n["kind"] == "PROBLEM"]
t.ok(len(grouped) == 50 - GMIN and len({n["digest_id"] for n in grouped}) == 1,
     "the API shows each member's digest_id", len(grouped))

# order: the RECOVERYs went with their PROBLEMs' digest, nothing of them alone or later
t.eq(sql("SELECT count(*) FROM notifications r JOIN events e ON e.id = r.event_id"
         " JOIN notifications p ON p.contact_id = r.contact_id AND p.channel = r.channel"
         "  AND p.series = r.series AND p.event_id < r.event_id"
         " WHERE e.kind = 'RECOVERY' AND e.check_id IN (%s) AND r.status = 'sent'"
         "  AND p.status = 'sent' AND r.digest_id = p.digest_id" % ",".join(map(str, late))),
     [["10"]], "every RECOVERY was sent in its PROBLEM's digest")
t.eq([m["subject"] for m in mails_to("oncall@") if "RECOVERY" in m["subject"]
      or re.match(r"\[custos\] \d+ recover", m["subject"])], [],
     "no RECOVERY mail of its own, no digest of recoveries")

# ---- quiet hours weigh each member at its own policy's urgent level -----------------------
# qp hears from two policies: qd-warn (urgent WARNING) and qd-crit (the default, CRITICAL).
# Their WARNINGs join qp's digest while qp is not quiet; qp's quiet hours begin before the
# window ends. Sent alone, a qd-warn WARNING would pass them: in the digest it does too,
# and only the qd-crit ones leave it, held.
st, qp, _ = e.api("POST", "/api/v1/users", A, {"name": "qp", "email": "qp@example.test"})
if st != 201:
    t.bail("user qp: %s %s" % (st, qp))
for pname, extra in (("qd-warn", {"urgent": "WARNING"}), ("qd-crit", {})):
    st, pol, _ = e.api("POST", "/api/v1/policies", A, dict({
        "name": pname, "match": "team=" + pname,
        "steps": [{"after_s": 0, "notify": ["qp"], "channels": ["email"]}]}, **extra))
    if st != 201:
        t.bail("policy %s: %s %s" % (pname, st, pol))
qwarn = [e.check("qw%d" % i, labels={"team": "qd-warn"}) for i in range(GMIN + 2)]
qcrit = [e.check("qc%d" % i, labels={"team": "qd-crit"}) for i in range(2)]
st, _, _ = e.post_results(e.agent_token, [{"check_id": c, "status": 1, "output": "w"}
                                          for c in qwarn[:GMIN]])
t.ok(st == 201 and wait_for(lambda: len(mails_to("qp@")) == GMIN, 15),
     "qp: the first %d WARNINGs go one by one" % GMIN, [m["subject"] for m in mails_to("qp@")])
st, _, _ = e.post_results(e.agent_token, [{"check_id": c, "status": 1, "output": "w"}
                                          for c in qwarn[GMIN:] + qcrit])
QROWS = ("SELECT c.name, n.status, n.digest_id IS NOT NULL, n.held_until IS NOT NULL"
         " FROM notifications n JOIN events e ON e.id = n.event_id JOIN checks c"
         " ON c.id = e.check_id WHERE n.contact_id = %d AND e.check_id IN (%s) ORDER BY c.name"
         % (qp["id"], ",".join(map(str, qwarn[GMIN:] + qcrit))))
t.ok(wait_for(lambda: sql(QROWS) == [[n, "pending", "t", "f"] for n in ("qc0", "qc1", "qw3", "qw4")],
              15), "the next 2 of each policy wait in qp's digest", sql(QROWS))
st, u, _ = e.api("PATCH", "/api/v1/users/%d" % qp["id"], A, {"quiet_hours": ["daily 00:00-00:00"]})
t.eq(st, 200, "qp's quiet hours begin (always quiet)")
e.server.proc.send_signal(signal.SIGHUP)
t.ok(wait_for(lambda: sql(QROWS) == [["qc0", "pending", "f", "t"], ["qc1", "pending", "f", "t"],
                                     ["qw3", "sent", "t", "f"], ["qw4", "sent", "t", "f"]], 20),
     "the digest goes with the qd-warn WARNINGs (urgent WARNING); the qd-crit ones left it,"
     " held by the quiet hours", sql(QROWS))
qd = [m for m in mails_to("qp@") if re.match(r"\[custos\] \d+ problems on", m["subject"])]
qbody = e.sink.body(qd[0]) if len(qd) == 1 else ""
t.ok(len(qd) == 1 and "qw3" in qbody and "qw4" in qbody and "qc0" not in qbody,
     "one digest mail to qp: qw3 and qw4, not qc0", [m["subject"] for m in mails_to("qp@")])
held = sql("SELECT DISTINCT n.route->-1->>'detail' FROM notifications n WHERE n.contact_id = %d"
           " AND n.held_until IS NOT NULL" % qp["id"])
t.ok(len(held) == 1 and held[0][0].startswith("held by quiet hours until") and
     "(left digest" in held[0][0], "their record: held by quiet hours (left digest N)", held)

# ---- a digest in flight when its serverd is killed: the other one resends it, marked -----
more = [e.check("k%d" % i, contacts=[c1]) for i in range(10)]
st, _, _ = e.post_results(e.agent_token, [{"check_id": c, "status": 2, "output": "again"} for c in more])
t.eq(st, 201, "10 more problems (still within the storm's window: all of them grouped)")
t.ok(wait_for(lambda: sql("SELECT count(*) FROM digests WHERE status = 'open' AND contact_id = %d"
                          " AND members = 0" % c1) == [["2"]] and
              sql("SELECT count(*) FROM notifications n JOIN events e ON e.id = n.event_id"
                  " WHERE e.check_id IN (%s) AND n.digest_id IS NOT NULL AND n.status = 'pending'"
                  % ",".join(map(str, more))) == [["20"]], 15),
     "held in one open digest per channel")
e.sink.hold()
e.server.proc.send_signal(signal.SIGHUP)
t.ok(wait_for(lambda: e.sink.held() == 1, 15), "the digest mail is in flight (the sink holds it)")
hrow = sql("SELECT d.id, i.pid FROM digests d JOIN serverd_instances i ON i.id = d.holder"
           " WHERE d.status = 'sending' AND d.channel = 'email'")
t.eq(len(hrow), 1, "its lease names its holder")
did, hpid = int(hrow[0][0]), int(hrow[0][1])
holder_srv, other = (e.server, s2) if e.server.proc.pid == hpid else (s2, e.server)
holder_srv.kill9()
e.sink.release(drop=True)
t.ok(wait_for(lambda: sql("SELECT status FROM digests WHERE id = %d" % did) == [["sent"]], 20),
     "the other serverd takes the digest over and sends it")
resent = [m for m in mails_to("oncall@") if m["subject"] == "[custos] 10 problems on 1 agent"]
t.eq(len(resent), 1, "one digest mail arrives")
raw = e.sink.raw(resent[0]) if resent else b""
t.ok(b"\r\nX-Custos-Resent: yes\r\n" in raw and
     ("Message-ID: <custos.digest.%d@" % did).encode() in raw,
     "marked as a resend, with the digest's own Message-ID")
logs = sql("SELECT DISTINCT (SELECT string_agg(COALESCE(t.ok::text, 'null') || ':'"
           " || COALESCE(t.error, ''), ',' ORDER BY t.id) FROM notification_attempts t"
           " WHERE t.notification_id = n.id) FROM notifications n WHERE n.digest_id = %d" % did)
t.eq(logs, [["null:interrupted,true:"]],
     "every member's attempt log: the interrupted attempt, then the resend")
t.ok(wait_for(lambda: sql("SELECT count(*) FROM notifications WHERE status NOT IN ('sent')"
                          " AND held_until IS NULL") == [["0"]], 15),
     "every row is sent in the end (but qp's, held by quiet hours)")
t.eq(sql("SELECT count(*) FROM digests WHERE status <> 'sent'"), [["0"]], "every digest is sent")
t.eq(e.sanitizer_reports(s2), [], "no sanitizer report")
t.done()
