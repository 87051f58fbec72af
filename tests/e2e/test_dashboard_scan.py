#!/usr/bin/python3
"""test_dashboard_scan.py - every view of the dashboard and every list and
show command of the command line, against one populated server, read for
what no page or output may ever show: "null", "undefined", "NaN",
"[object" or "Invalid Date" (issues: pages showing `null` and
`[object HTMLElement]`).

The server holds one of everything an operator meets: agents up, DOWN
(with its AGENT DOWN event) and new; checks OK, WARNING, CRITICAL,
UNKNOWN, SOFT, PENDING and disabled; a problem acknowledged (with a
comment and an expiry); downtimes active, scheduled, weekly and ended; a
parent's HARD problem and a child SUPPRESSED by it; users (one with no
zone, mail or quiet hours), a rotation with an override, a policy, a
template, tokens (one never used), contacts; notifications sent, one
failing (a webhook nobody answers) and a digest (group_min 2, the window
ended by SIGHUP, never waited out).

In headless Chromium (chromelib.py), logged in as an admin: the login
form, every route of serverd/www/app.js (the overview, grouped and
filtered, with its OK checks' line opened; the wall; hosts; downtimes;
events; notifications; every check's page with the "why" of each of its
events opened and, on one, the threshold editor's backtest; every agent's
page; an unknown check and agent), each dialog (acknowledge, downtime for
a check, an agent, a host row, the selected problems; the keys' help) and
the page a mail's acknowledgement link opens; then a viewer, logged in by
name and password, on the overview, hosts, downtimes, a check and an agent.
Every view app.js routes to must have been drawn. On each, the visible text
(document.body.innerText), the document's title and every element's
title, aria-label, placeholder, alt, href and datetime, and every input's,
select's and option's value.

Then the command line: every command of cli/main.c's table that reads
(list and show, and the others that change nothing: status, problems,
history, events, why, backtest, oncall, export, diff, help), each show and
history for every object there is; the table itself is read so that a
read command added later and not run here fails the suite."""
import concurrent.futures
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alertlib import AlertEnv  # noqa: E402
from harness import BUILDDIR, SRCDIR, Tap, wait_for  # noqa: E402
from chromelib import BAD_TEXT as BAD, Browser, Keys  # noqa: E402  (skips the suite where Chromium is missing)

# BAD: what no page and no output may show ("null" as a word, case-sensitive)
CLI = os.path.join(BUILDDIR, "custos")

t = Tap()
e = AlertEnv(conf={"www_dir": os.path.join(SRCDIR, "serverd", "www"),
                   "group_window_s": "600", "group_min": "2"}, agent_interval=86400)
A = e.admin
base = "http://127.0.0.1:%d" % e.server.port
now = time.time()
iso = lambda s: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + s))  # noqa: E731


def api(method, path, body=None, want=(200, 201, 204), tok=None):
    st, j, _ = e.api(method, path, tok or A, body)
    if st not in want:
        t.bail("%s %s: %s %s" % (method, path, st, j))
    return j


def cli(*args, tok=None):
    p = subprocess.run([CLI] + list(args), capture_output=True, text=True, timeout=60,
                       env={"HOME": e.tmp, "PATH": os.environ.get("PATH", ""),
                            "CUSTOS_URL": base, "CUSTOS_TOKEN": tok or A})
    return p.returncode, p.stdout, p.stderr


# ---- the server's contents -------------------------------------------------------------
V = api("POST", "/api/v1/tokens", {"name": "viewer", "role": "viewer"})["token"]
api("POST", "/api/v1/tokens", {"name": "never-used", "role": "operator"})
aid, atok = e.agent_id, e.agent_token                     # web01
api("PATCH", "/api/v1/agents/%d" % aid, {"labels": {"role": "web"}})
st, _, _ = e.api("PUT", "/api/v1/agent/self/checkout", atok, {
    "started_at": iso(0), "duration_ms": 12, "results": 3, "version": "0.1.0", "facts": {
        "hostname": "web01", "os": "Debian GNU/Linux 12", "cpu_count": 4, "memory_bytes": 8 << 30,
        "interfaces": {"eth0": ["10.0.0.5/24"]}, "swap": None, "disks": [{"path": "/", "size": 1 << 30}]}})
t.eq(st, 200, "web01 checks out with facts (one of them null, one a list of objects)")
ops = api("POST", "/api/v1/contacts", {"name": "ops", "email": "ops@example.test"})["id"]
hook = api("POST", "/api/v1/contacts", {"name": "hook", "webhook_url": "http://127.0.0.1:9/nobody"})["id"]
C = e.contact_id                                          # oncall: mail and Pushover
chk = {}
for name, kw in (("ok", {}), ("warn", {"warning": "~:85", "critical": "~:95", "contacts": [C]}),
                 ("crit", {"contacts": [C]}), ("unk", {"contacts": [C, hook]}),
                 ("soft", {"max_attempts": 3}), ("pend", {}), ("off", {"enabled": False}),
                 ("flip", {"contacts": [C]}), ("swap", {"labels": {"tier": "1"}})):
    chk[name] = e.check(name, max_attempts=kw.pop("max_attempts", 1), **kw)
results = [{"check_id": chk["ok"], "status": 0, "output": "fine", "value": 1.5,
            "observed_at": iso(-60 * (30 - i))} for i in range(30)]
results += [{"check_id": chk["warn"], "status": 1, "output": "91% used", "value": 91},
            {"check_id": chk["crit"], "status": 2, "output": "sshd is gone"},
            {"check_id": chk["unk"], "status": 3, "output": "no answer"},
            {"check_id": chk["soft"], "status": 2, "output": "soft trouble"},
            {"check_id": chk["flip"], "status": 2, "output": "down"},
            {"check_id": chk["swap"], "status": 0, "output": "swap ok", "value": 0}]
st, body, _ = e.post_results(atok, results)
t.ok(st == 201, "results: OK, WARNING, CRITICAL, UNKNOWN, SOFT", body)
e.post(chk["flip"], 0, "back")                            # a RECOVERY
api("POST", "/api/v1/checks/%d/ack" % chk["crit"], {"comment": "on it", "expires_at": iso(7200)})
api("POST", "/api/v1/checks/%d/ack" % chk["unk"], {}, want=(201, 400, 422))   # no comment, if taken
# the agent that went DOWN (the ticker sees its checkout late), and a new one
db, dbtok = e.make_agent("db01", interval_s=60)
st, _, _ = e.api("PUT", "/api/v1/agent/self/checkout", dbtok, {"started_at": iso(0), "duration_ms": 1,
                                                               "results": 1, "version": "0.1.0"})
pg = e.make_check(db, "postgres", max_attempts=1)
e.post_results(dbtok, [{"check_id": pg, "status": 0, "output": "pg ok"}])
e.cluster.psql("UPDATE agents SET next_checkout_by = now() - interval '1 hour' WHERE id = %d" % db)
t.ok(wait_for(lambda: api("GET", "/api/v1/agents/%d" % db).get("state") == "down", 15),
     "db01 goes DOWN (its checkout is an hour late)")
e.make_agent("new01")
# a parent and a child it suppresses
gw, gwtok = e.make_agent("gw01", interval_s=86400)
up = e.make_check(gw, "uplink", max_attempts=1)
app, apptok = e.make_agent("app01", interval_s=86400)
job = e.make_check(app, "job", max_attempts=1, parents=["gw01/uplink"], contacts=[ops])
e.post_results(gwtok, [{"check_id": up, "status": 2, "output": "no route"}])
e.post_results(apptok, [{"check_id": job, "status": 2, "output": "cannot reach the shop"}])
t.eq(api("GET", "/api/v1/checks/%d" % job).get("suppressed_by"), "gw01/uplink",
     "app01/job is suppressed by gw01/uplink")
# downtimes: active, scheduled, weekly, ended
api("POST", "/api/v1/downtimes", {"check_id": chk["warn"], "start": iso(-60), "end": iso(3600),
                                  "comment": "disk swap"})
api("POST", "/api/v1/downtimes", {"agent_id": db, "start": iso(86400), "end": iso(90000)})
api("POST", "/api/v1/downtimes", {"check_id": chk["swap"], "recurring": "sun 03:00-04:00",
                                  "tz": "Europe/Berlin", "comment": "weekly maintenance"})
ended = api("POST", "/api/v1/downtimes", {"check_id": chk["ok"], "start": iso(-120), "end": iso(600)})
api("DELETE", "/api/v1/downtimes/%d" % ended["id"])
# people, a rotation, a policy, a template
api("POST", "/api/v1/users", {"name": "bob", "role": "viewer", "email": "bob@example.test",
                              "password": "bob-password-1"})
for args in (("users", "create", "alice", "--role", "operator", "--email", "alice@example.test",
              "--tz", "Europe/Berlin", "--quiet-hours", "mon-fri 22:00-07:00"),
             ("users", "create", "carol"),
             ("rotations", "create", "primary", "--members", "alice,bob", "--shift", "week",
              "--handoff", "09:00", "--handoff-day", "mon", "--tz", "Europe/Berlin"),
             ("rotations", "override", "primary", "bob", "--for", "2h"),
             ("policies", "create", "network", "--match", "agent=gw01",
              "--step", "after_s=0,notify=rotation:primary", "--step", "after_s=900,notify=carol"),
             ("policies", "create", "catchall", "--step", "after_s=0,notify=ops", "--continue", "yes")):
    rc, out, err = cli(*args)
    t.ok(rc == 0, "custos " + " ".join(args[:3]), err or out)
api("POST", "/api/v1/templates", {"name": "base", "selector": "role=web",
                                  "checks": [{"name": "ntp", "type": "load", "params": {"period": 1}}]})
# a digest: group_min 2, so a storm of problems to oncall holds all but two;
# SIGHUP ends the window
storm = [e.check("storm%d" % i, contacts=[C]) for i in range(4)]
e.post_results(atok, [{"check_id": c, "status": 2, "output": "storm"} for c in storm])
# every row not sent at once waits in a digest: flip's RECOVERY too, when
# its PROBLEM was in the digest when it came (it joins that one); none is
# on its way (claimed, 'sending') outside one when the window is ended
open_rows = lambda: [n for n in e.notifications()  # noqa: E731
                     if n["status"] in ("pending", "sending") and n.get("channel") != "webhook"]
t.ok(wait_for(lambda: open_rows() and all(n.get("digest_id") and n["status"] == "pending"
                                          for n in open_rows()), 10),
     "a storm: every notification not sent at once waits in a digest", open_rows())
e.server.proc.send_signal(signal.SIGHUP)
t.ok(e.wait_mail(lambda m: re.match(r"\[custos\] \d+ problems", m.get("subject") or "")),
     "the digest is mailed", e.sink.subjects())
t.ok(wait_for(lambda: not [n for n in e.notifications() if n["status"] in ("pending", "sending")
                           and n.get("channel") != "webhook"], 10),
     "every notification but the webhook's is sent",
     [(n["id"], n["kind"], n.get("check"), n.get("contact"), n["channel"], n["status"], n.get("digest_id"))
      for n in e.notifications() if n["status"] in ("pending", "sending")])
t.diag("set up in %.1f s" % (time.time() - now))

checks = api("GET", "/api/v1/checks?limit=1000")["items"]
agents = api("GET", "/api/v1/agents?limit=1000")["items"]
aname = dict((a["id"], a["name"]) for a in agents)
events = api("GET", "/api/v1/events?limit=1000")["items"]

# ---- the dashboard -----------------------------------------------------------------------
b = Browser(t, e, prefix="scan-")
SCAN = r"""
const bad = new RegExp(arguments[0]), out = [];
const put = (where, s) => { if (s && bad.test(s)) out.push(where + ": " + s.slice(0, 160)); };
put("document.title", document.title);
for (const el of document.querySelectorAll("*")) {
  const tag = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "");
  for (const a of ["title", "aria-label", "placeholder", "alt", "href", "datetime"]) put(tag + "[" + a + "]", el.getAttribute(a));
  if (["INPUT", "SELECT", "TEXTAREA", "OPTION"].includes(el.tagName)) put(tag + ".value", el.value);
}
const text = document.body.innerText;
let m;
const re = new RegExp(arguments[0], "g");
while ((m = re.exec(text))) out.push("text: …" + text.slice(Math.max(0, m.index - 50), m.index + 30).replace(/\s+/g, " ") + "…");
return out;
"""
hits = []
seen = []
drawn = set()   # the views drawn (#main's data-ready)


def scan(where):
    """what the page shows now, read for BAD: each hit noted with where"""
    seen.append("%.1f %s" % (time.time() - now, where))
    for x in b.js(SCAN, BAD.pattern):
        hits.append("%s: %s" % (where, x))


def ready(view, path):
    try:
        b.wait.until(lambda d: b.css("#main[data-ready=%s]" % view))
        return True
    except Exception:  # noqa: BLE001
        hits.append("%s: never ready as %s" % (path, view))
        b.shot("notready-" + re.sub(r"\W+", "_", path))
        return False


def visit(path, view, load=False):
    """path, drawn: by the page's own navigation (a link's click) unless
    load (the address typed: the whole page loaded)"""
    if load:
        b.get(path)
    else:
        b.js("return import('/ui/dom.js').then((m) => { m.nav(arguments[0]); })", path)
    if ready(view, path):
        drawn.add(view)
        scan(path)
        return True
    return False


def click(sel):
    """a click on sel, wherever the page is scrolled to"""
    b.wait.until(lambda d: b.js("const x = document.querySelector(arguments[0]); "
                                "if (x) x.click(); return !!x", sel))


def dialog(open_sel, where, extra=None):
    """opens the dialog a click on open_sel opens, reads it, cancels it"""
    if not b.css(open_sel):
        hits.append("%s: no %s to click" % (where, open_sel))
        return
    click(open_sel)
    if not b.wait_true(lambda: b.js("return document.querySelector('#dlg').open"), where + ": the dialog opens"):
        return
    if extra:
        extra()
    scan(where)
    click("#dlg-cancel")
    b.wait.until(lambda d: not b.js("return document.querySelector('#dlg').open"))


def custom_window():
    sel = b.css("#dt-for")[0]
    b.js("arguments[0].value = 'custom'; arguments[0].dispatchEvent(new Event('change'))", sel)


# the login form, and a wrong token's message
b.get("/")
b.wait.until(lambda d: b.css("#token"))
scan("login form")
b.css("#token")[0].send_keys("not-a-token" + Keys.ENTER)
b.wait_true(lambda: b.text_of("#login-error"), "a wrong token is answered")
scan("login form, wrong token")
b.login(A)
scan("/ (after the login)")

# the overview and its variants; its dialogs
visit("/", "overview", load=True)
b.wait.until(lambda d: b.css('#problems tr[data-check-id="%d"]' % job))
click("#okline")
b.wait_true(lambda: len(b.css("#oklist tr")) >= 1, "the OK checks' line opens")
scan("/ with the OK checks")
click("#pick-all")
dialog("#bulk-ack", "/ acknowledge the selected")
dialog("#bulk-dt", "/ downtime for the selected", custom_window)
dialog('#problems tr[data-check-id="%d"] .act-ack' % chk["warn"], "/ a row's Ack")
dialog('#problems tr[data-check-id="%d"] .act-dt' % chk["warn"], "/ a row's Downtime")
b.drv.find_element("css selector", "body").send_keys("?")
if b.wait_true(lambda: b.js("return document.querySelector('#help').open"), "? opens the keys' help"):
    scan("/ the keys' help")
    b.js("document.querySelector('#help').close()")
for path in ("/?group=agent", "/?group=label:role", "/?ack=no&dt=no", "/?state=DOWN",
             "/?q=nothing-matches-this"):
    visit(path, "overview")
visit("/?wall=1", "wall", load=True)
visit("/?view=hosts", "hosts")
dialog('.act-host-dt', "hosts: a row's Mute")
visit("/?view=downtimes", "downtimes")
b.js("const s = document.querySelector('#dtn-for'); s.value = 'custom'; s.dispatchEvent(new Event('change'))")
scan("downtimes: the form's custom window")
b.js("const s = document.querySelector('#dtn-for'); s.value = 'weekly'; s.dispatchEvent(new Event('change'))")
scan("downtimes: the form's weekly window")
visit("/?view=events", "events")
visit("/?view=events&kind=PROBLEM&agent=web01&from=2020-01-01T00:00", "events")
visit("/?view=notifications", "notifications")
visit("/?view=notifications&status=failed", "notifications")

# every check's page, each event's "why" opened; the editor's backtest once
for c in checks:
    path = "/checks/%d" % c["id"]
    if c["name"].startswith("storm") and c["name"] != "storm0":
        continue   # as storm0
    if not visit(path, "check", load=c["id"] == chk["warn"]):
        continue
    b.wait_true(lambda: b.css("#check-history table, #check-history p"), path + ": its results are drawn")
    for ev in b.js("return [...document.querySelectorAll('button.why-btn')].map((x) => x.dataset.why)"):
        click('button.why-btn[data-why="%s"]' % ev)
        b.wait.until(lambda d: b.css('tr.why-row[data-why-of="%s"]' % ev))
    b.wait_true(lambda: not [r for r in b.css("tr.why-row") if r.text.strip() == "…"],
                path + ": every event's why is drawn")
    scan(path + " with the why of %d events" % len(b.css("tr.why-row")))
    if c["id"] == chk["warn"]:
        b.css("#thr-warning")[0].clear()
        b.css("#thr-warning")[0].send_keys("~:80")
        click("#thr-try")
        b.wait_true(lambda: b.css("#bt-sentence"), path + ": the backtest answers")
        b.js("for (const d of document.querySelectorAll('details')) d.open = true")
        scan(path + " backtest")
        dialog("#act-ack", path + " Acknowledge")
        dialog("#act-dt", path + " Downtime", custom_window)
visit("/checks/999999", "check", load=True)
for a in agents:
    path = "/agents/%d" % a["id"]
    if visit(path, "agent"):
        b.js("for (const d of document.querySelectorAll('details')) d.open = true")
        scan(path + " (changes opened)")
        if a["id"] == aid:
            dialog("#act-agent-dt", path + " Downtime for the agent", custom_window)
visit("/agents/999999", "agent")

# the page a mail's acknowledgement link opens
links = [x for m in e.sink.messages() for x in re.findall(r"https?://\S+/ack/\S+", e.sink.body(m))]
if links:
    b.get("/" + links[0].split("/", 3)[3])
    b.wait_true(lambda: b.js("return document.readyState") == "complete", "the acknowledgement link's page")
    scan("the acknowledgement link's page")
else:
    t.diag("no mail carried an acknowledgement link (public_url unset?)")

# a viewer, logged in by name and password: the pages without their controls
b.drv.delete_all_cookies()
b.get("/")
b.wait.until(lambda d: b.css("#login-user"))
b.css("#login-user")[0].send_keys("bob")
b.css("#login-password")[0].send_keys("bob-password-1" + Keys.ENTER)
if ready("overview", "/ as bob"):
    scan("/ as bob (viewer)")
    for path, view in (("/?view=hosts", "hosts"), ("/?view=downtimes", "downtimes"),
                       ("/checks/%d" % chk["crit"], "check"), ("/agents/%d" % aid, "agent")):
        visit(path, view)

# every view app.js routes to was drawn
with open(os.path.join(SRCDIR, "serverd", "www", "app.js")) as f:
    app = f.read()
routes = set(re.findall(r'view === "(\w+)"', app)) | {"overview", "wall", "check", "agent"}
t.ok(len(routes) >= 8 and routes <= drawn, "every view app.js routes to was drawn",
     sorted(routes - drawn))
t.ok(len(seen) >= 25 + len(checks) + len(agents), "%d views and dialogs read" % len(seen), seen)
t.diag("\n".join(seen))
t.eq(hits, [], "no page shows null, undefined, NaN, [object or Invalid Date, in its text, "
               "titles, labels, links or inputs")
t.ok(not b.js("return window.__xss"), "nothing ran that should not")

t.diag("the dashboard read in %.1f s" % (time.time() - now))
# ---- the command line ---------------------------------------------------------------------
with open(os.path.join(SRCDIR, "cli", "main.c")) as f:
    src = f.read()
table = src[src.index("const struct cli_cmd cli_cmds[]"):]
table = table[:table.index("{ NULL, NULL")]
cmds = set((m.group(1), m.group(2) if m.group(2) != "NULL" else None)
           for m in re.finditer(r'\{\s*"([\w-]+)",\s*(NULL|"[\w-]+")', table))
cmds = set((n, v.strip('"') if v else "") for n, v in cmds)
CHANGES = {"create", "edit", "delete", "token", "revoke", "override"}
CHANGING = {"ack", "unack", "downtime", "apply"}
reads = sorted((n, v) for n, v in cmds if v not in CHANGES and n not in CHANGING)
t.ok(len(reads) >= 25, "%d read commands in the table" % len(reads), reads)

ran, bad_out = set(), []
cfg = os.path.join(e.tmp, "export")
users = api("GET", "/api/v1/users")["items"]
contacts = api("GET", "/api/v1/contacts")["items"]
downtimes = api("GET", "/api/v1/downtimes?limit=1000")["items"]
tokens = api("GET", "/api/v1/tokens")["items"]
names = {
    "agents": [a["name"] for a in agents],
    "checks": ["%s/%s" % (aname[c["agent_id"]], c["name"]) for c in checks
               if not re.match(r"storm[1-9]", c["name"])],   # as storm0
    "contacts": [c["name"] for c in contacts],
    "users": [u["name"] for u in users],
    "templates": ["base"], "policies": ["network", "catchall"], "rotations": ["primary"],
    "downtimes": [str(d["id"]) for d in downtimes],
    "tokens": [x["name"] for x in tokens],
}
runs = [(("status",), ()), (("problems",), ()), (("events",), ()), (("help",), ()),
        (("oncall",), ("primary",)), (("oncall",), ("primary", "--at", iso(8 * 86400))),
        (("export",), ()), (("export",), ("--dir", cfg)), (("diff",), ("-f", cfg)),
        (("checks",), ("web01",)), (("checks",), ("--selector", "role=web")),
        (("agents",), ("--selector", "role=web")), (("downtimes",), ("web01/warn",)),
        (("downtimes",), ("--active",))]
for kind in names:
    runs += [((kind,), ()), ((kind, "list"), ())]
    runs += [((kind, "show"), (n,)) for n in names[kind]]
runs += [(("history",), (n,)) for n in names["checks"]]
runs += [(("backtest",), (n, "--since", "30d")) for n in ("web01/ok", "web01/warn", "web01/pend")]
runs += [(("backtest",), ("web01/warn", "--warning", "~:80", "--since", "7d"))]
# why: one event of each kind and routing (notified, suppressed, merged into the digest ...)
kinds = {}
for ev in events:
    kinds.setdefault((ev["kind"], ev.get("check_id") in storm, ev.get("check_id") == job), ev["id"])
runs += [(("why",), (str(i),)) for i in sorted(kinds.values())]


def run(words_args):
    words, args = words_args
    return words, args, cli(*(words + args))


# export --dir first (diff reads it); the rest four at a time (each run is
# mostly waiting for its process to start and its answer)
rest = [r for r in runs if r[0] != ("export",) or not r[1]]
done = [run(r) for r in runs if r[0] == ("export",) and r[1]]
with concurrent.futures.ThreadPoolExecutor(4) as pool:
    done += list(pool.map(run, [r for r in rest if r[0] != ("diff",)]))
done += [run(r) for r in rest if r[0] == ("diff",)]
for words, args, (rc, out, err) in done:
    ran.add((words[0], words[1] if len(words) > 1 else ""))
    if words == ("diff",):
        t.ok(rc == 0 and re.search(r"^0 to create, 0 to update, 0 to delete", out, re.M),
             "the export, diffed: nothing to change (what it leaves out is the default)", out + err)
    if rc != 0:
        bad_out.append("custos %s: exit %d: %s" % (" ".join(words + args), rc, err.strip()[:200]))
    for m in BAD.finditer(out + err):
        s = out + err
        bad_out.append("custos %s: …%s…" % (" ".join(words + args),
                                              s[max(0, m.start() - 50):m.end() + 30].replace("\n", "⏎")))
t.diag("the command line read in %.1f s" % (time.time() - now))
t.eq(sorted(set(reads) - ran), [], "every read command of the table was run")
t.ok(len(runs) > 60, "%d commands run" % len(runs))
t.eq(bad_out, [], "no command's output shows null, undefined, NaN, [object or Invalid Date")
t.done()
