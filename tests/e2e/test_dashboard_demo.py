"""End-to-end: scripts/demo's serverd configuration serves the dashboard.
The demo's serverd.conf is read out of the script itself (its here-document,
$top being this source tree), so a demo whose www_dir points nowhere fails
here: GET / and the dashboard's files answer 200, and the link in a PROBLEM
mail (public_url/checks/ID) opens the check's page (in headless Chromium,
after the login form).

The demo shows every part a user has: scripts/demo-tour, which the demo
runs, is run here against this serverd with this build's custos: a rotation
of two people and who is on call, quiet hours on one of them, a weekly
maintenance window, export then apply (nothing to do) and diff (nothing to
change); run again, it makes nothing twice. The PROBLEM mail carries an
acknowledgement link that acknowledges the check, and the demo's closing
message says where each of these is to be seen.

The tour's outage, as the user sees it: the policy "network" of two steps
listed (custos policies, and the API); the gateway failing and the jobs
behind it shown "suppressed by gateway/uplink" (custos problems, the API's
status, and - after `demo-tour ... down` - the dashboard's problems list
"SUPPRESSED by gateway/uplink" in headless Chromium); custos why with its
decision line on the gateway's problem (notified, then escalated to carol
after the policy's 5 s: the tour waits for that row) and on a job's
(suppressed); and, when the gateway recovers, the jobs' one digest mail
"[custos] 3 problems on 1 agent" in the SMTP sink. Grouping and the
senders are set as in the demo's serverd.conf (the harness turns grouping
off). Every wait is for a condition: the mail in the sink, the row in the
record, the text in the page."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BUILDDIR, SRCDIR, Tap  # noqa: E402
from alertlib import AlertEnv  # noqa: E402
from chromelib import Browser  # noqa: E402  (skips the suite where Chromium is missing)

t = Tap()
with open(os.path.join(SRCDIR, "scripts", "demo")) as f:
    demo = f.read()
m = re.search(r'cat > "\$run/serverd.conf" <<CONF\n(.*?)\nCONF\n', demo, re.S)
t.ok(m, "scripts/demo writes a serverd.conf")
conf = {}
for line in (m.group(1) if m else "").splitlines():
    line = line.strip()
    if line and not line.startswith("#") and "=" in line:
        k, v = line.split("=", 1)
        conf[k.strip()] = v.strip()
t.ok("www_dir" in conf, "the demo's serverd.conf sets www_dir", sorted(conf))
www = conf.get("www_dir", "").replace("$top", SRCDIR)
t.ok(os.path.isfile(os.path.join(www, "index.html")), "its www_dir holds index.html", www)
t.ok(conf.get("public_url", "").startswith("http://127.0.0.1:$PORT"),
     "its public_url is the address the demo listens on", conf.get("public_url"))
t.ok(re.search(r"make -C \"\$bin\" .*\bcustos\b", demo), "the demo builds the custos command line")
t.ok(re.search(r"dashboard:\s+\$url/", demo), "the demo prints the dashboard's address")
t.ok(re.search(r"CUSTOS_URL=\$url", demo) and "CUSTOS_TOKEN" in demo,
     "and the lines that point the command line at it")
t.ok(re.search(r'"\$top/scripts/demo-tour" "\$run" "\$host"', demo),
     "the demo runs scripts/demo-tour with its run directory and agent")
for what, pat in (("the mail's acknowledgement link", r"/ack/"),
                  ("the mail sink's directory", r"\$run/mail/"),
                  ("the dashboard's downtimes page", r"\$url/\?view=downtimes"),
                  ("how to see the outage again", r'scripts/demo-tour \$run \$host down')):
    t.ok(re.search(pat, demo), "the demo's message names %s" % what, pat)

# grouping and senders as in the demo's serverd.conf (the harness turns
# grouping off and has two senders)
for k in ("group_window_s", "group_min", "sender_threads"):
    t.ok(k in conf, "the demo's serverd.conf sets %s" % k, sorted(conf))
env = AlertEnv(conf=dict({"www_dir": www},
                         **dict((k, conf[k]) for k in ("group_window_s", "group_min",
                                                       "sender_threads") if k in conf)))
A = env.admin

# scripts/demo-tour, as the demo runs it, with this build's custos
aid, _ = env.make_agent("demo-host")
env.make_check(aid, "swap", "swap", params={}, warning="50", critical="80")
# the demo's contact, whom the tour's jobs tell
st, ops, _ = env.api("POST", "/api/v1/contacts", A, {"name": "ops", "email": "ops@example.test"})
t.ok(st == 201, "the demo's contact ops", ops)
tour_env = dict(os.environ, CUSTOS_URL="http://127.0.0.1:%d" % env.server.port, CUSTOS_TOKEN=A,
                PATH=BUILDDIR + os.pathsep + os.environ.get("PATH", ""))
tour_dir = os.path.join(env.tmp, "tour")
os.makedirs(tour_dir, exist_ok=True)


def tour(*mode):
    p = subprocess.run([os.path.join(SRCDIR, "scripts", "demo-tour"), tour_dir, "demo-host"]
                       + list(mode), env=tour_env, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


b = None
rc, out, err = tour()
t.ok(rc == 0, "scripts/demo-tour runs", err or out)
t.diag("scripts/demo-tour printed:\n" + out)
lines = dict((ln.split(":", 1)[0].strip(), ln.split(":", 1)[1].strip()) for ln in out.splitlines()
             if ":" in ln and re.match(r"  \S", ln))
t.ok(re.match(r"(alice|bob) is on call for primary until \S+, then (alice|bob)$",
              lines.get("on call", "")), "it shows who is on call (custos oncall)", out)
st, rot, _ = env.api("GET", "/api/v1/rotations/primary", A)
t.ok(st == 200 and rot.get("members") == ["alice", "bob"] and rot.get("shift") == "week",
     "a weekly rotation of two people", rot)
st, users, _ = env.api("GET", "/api/v1/users", A)
alice = next((u for u in users.get("items", []) if u["name"] == "alice"), {})
t.ok(alice.get("quiet_hours") and alice.get("tz") == "Europe/Berlin",
     "quiet hours on alice, in her zone", alice)
st, dts, _ = env.api("GET", "/api/v1/downtimes", A)
weekly = [d for d in dts.get("items", []) if d.get("recurring")]
t.ok(len(weekly) == 1 and weekly[0]["recurring"] == "sun 03:00-04:00"
     and weekly[0].get("tz") == "Europe/Berlin", "a weekly maintenance window", dts)
t.ok("swap" in lines.get("maintenance", ""), "and it says which check it holds", out)
t.ok(os.path.isfile(os.path.join(tour_dir, "config", "checks.yaml")),
     "the configuration is exported as YAML", os.listdir(tour_dir))
apply_line = re.search(r"custos apply -f \S+:\s+(.*)", out)
diff_line = re.search(r"custos diff -f \S+:\s+(.*)", out)
t.ok(apply_line and re.match(r"0 to create, 0 to update, 0 to delete, \d+ unchanged.*nothing to do",
                             apply_line.group(1)), "applying the export back: nothing to do", out)
t.ok(diff_line and diff_line.group(1).startswith("0 to create, 0 to update, 0 to delete"),
     "and diff: nothing to change", out)
t.ok(len(out.splitlines()) <= 40, "its output is short (%d lines)" % len(out.splitlines()), out)

# the policy of two steps
t.ok("network" in lines.get("policy", "") and
     re.search(r"^ +\d+ +network +2 ", out, re.M), "it lists the policy \"network\" of 2 steps"
     " (custos policies)", out)
st, pol, _ = env.api("GET", "/api/v1/policies/network", A)
steps = pol.get("steps") or [{}, {}]
t.ok(st == 200 and pol.get("match") == "agent=gateway" and len(steps) == 2
     and steps[0].get("notify") == ["rotation:primary"]
     and steps[1].get("after_s") == 5 and steps[1].get("notify") == ["carol"],
     "the policy: whoever is on call in primary, then carol after 5 s", pol)
# the dependency, and the jobs suppressed while the gateway was down
st, ag, _ = env.api("GET", "/api/v1/agents/%d" % aid, A)
t.eq(ag.get("parents"), ["gateway/uplink"], "every check of demo-host depends on gateway/uplink")
t.ok(re.search(r"^ +CRITICAL +gateway/uplink +\d", out, re.M),
     "custos problems showed the gateway CRITICAL", out)
sup = re.findall(r"^ +CRITICAL +demo-host/(sync-\w+) .*suppressed by gateway/uplink", out, re.M)
t.eq(sorted(sup), ["sync-orders", "sync-prices", "sync-stock"],
     "and its 3 jobs \"suppressed by gateway/uplink\"")
t.ok("SUPPRESSED by gateway/uplink" in out and "demo-tour %s demo-host down" % tour_dir in out,
     "it says where the dashboard marks them, and how to see it", out)
# custos why: a decision line for a notified event and for a suppressed one
why_lines = [ln.strip() for ln in out.splitlines()]
t.ok(any(re.match(r"PROBLEM gateway/uplink CRITICAL at \S+: notified — .*policy network", ln)
         for ln in why_lines), "custos why on the gateway's problem: notified by the policy", out)
t.ok(any(re.match(r"carol email \[\w+, policy network step 1\]: .*escalated", ln)
         for ln in why_lines), "and escalated to carol (step 1)", out)
t.ok(any(re.match(r"PROBLEM demo-host/sync-orders CRITICAL at \S+: not notified — "
                  r".*parent gateway/uplink is CRITICAL", ln) for ln in why_lines),
     "custos why on a job's problem: not notified, its parent is CRITICAL", out)
# the digest: the jobs still failing when the gateway recovered, in one mail to ops
digest = lambda m: m.get("subject") == "[custos] 3 problems on 1 agent"  # noqa: E731
t.ok(env.wait_mail(digest), "the jobs' digest mail \"[custos] 3 problems on 1 agent\" lands",
     env.sink.subjects())
dm = [m for m in env.sink.messages() if digest(m)]
t.ok(len(dm) == 1 and dm[0].get("rcpt_tos") == ["ops@example.test"], "one, to ops",
     [(m.get("subject"), m.get("rcpt_tos")) for m in dm])
body = env.sink.body(dm[0]) if dm else ""
t.ok(all("demo-host/" + j in body for j in ("sync-orders", "sync-stock", "sync-prices")),
     "it lists the 3 jobs", body)
t.ok(not [m for m in env.sink.messages() if "PROBLEM demo-host/sync-" in (m.get("subject") or "")],
     "no job was mailed on its own", env.sink.subjects())
t.ok("3 problems on 1 agent" in lines.get("digest", "") + out, "and the tour names that mail", out)
n_users = len(users.get("items", []))
rc, out2, err = tour()
st, users, _ = env.api("GET", "/api/v1/users", A)
st, dts, _ = env.api("GET", "/api/v1/downtimes", A)
t.ok(rc == 0 and len(users["items"]) == n_users and
     len([d for d in dts["items"] if d.get("recurring")]) == 1 and "is on call" in out2,
     "run again, it makes nothing twice and shows the same", err or out2)
for path, ctype in (("/", "text/html"), ("/ui/app.js", "text/javascript"),
                    ("/ui/style.css", "text/css"), ("/ui/favicon.svg", "image/svg+xml")):
    st, body, hdrs = env.server.request("GET", path, fresh=True)
    t.ok(st == 200 and hdrs.get("content-type", "").startswith(ctype),
         "GET %s: 200 %s" % (path, ctype), (st, hdrs.get("content-type"), str(body)[:200]))
# and every module the page loads (index.html names them all)
with open(os.path.join(www, "index.html")) as f:
    mods = sorted(set(re.findall(r'"(/ui/[\w-]+\.js)"', f.read())))
bad = []
for path in mods:
    st, _, hdrs = env.server.request("GET", path, fresh=True)
    if st != 200 or not hdrs.get("content-type", "").startswith("text/javascript"):
        bad.append((path, st))
t.ok(len(mods) >= 10 and bad == [], "the %d modules index.html loads: 200 text/javascript" % len(mods), bad)

# a PROBLEM mail's link opens the check page
c = env.check("disk", max_attempts=1)
env.post(c, 2, "disk full")
mails = env.wait_mail(lambda m: "PROBLEM web01/disk" in (m.get("subject") or ""))
t.ok(mails, "a PROBLEM mail is sent")
body = env.sink.body(mails[0]) if mails else ""
links = re.findall(r"https?://\S+", body)
want = env.server.request("GET", "/", fresh=True)[1]
link = next((x for x in links if "/checks/" in x), None)
t.ok(link and link.endswith("/checks/%d" % c), "the mail links to public_url/checks/ID", links)
if link:
    path = "/" + link.split("/", 3)[3]
    st, page, hdrs = env.server.request("GET", path, fresh=True)
    t.ok(st == 200 and hdrs.get("content-type", "").startswith("text/html") and page == want,
         "the link answers the dashboard's page", (st, str(page)[:200]))
    t.ok("default-src 'self'" in hdrs.get("content-security-policy", ""),
         "with its Content-Security-Policy")
    # in a browser: the link, the login form, then that check's page
    b = Browser(t, env, prefix="demo-")
    b.get(path)
    b.wait_css("#token", "the mail's link in a browser: the login form first")
    b.css("#token")[0].send_keys(A + "\n")
    b.wait_true(lambda: b.css("#main[data-ready=check]") and b.text_of("#check-title").endswith("/disk"),
                "after the login, the link's check page: .../disk")
    t.ok(b.bad_hits() == [] and "CRITICAL" in b.text_of("#check-state"),
         "showing its CRITICAL state, no null or undefined", b.bad_hits())
ack = next((x for x in links if "/ack/" in x), None)
t.ok(ack, "the PROBLEM mail carries an acknowledgement link", body)
if ack:
    apath = "/" + ack.split("/", 3)[3]
    st, page, _ = env.server.request("GET", apath, fresh=True)
    t.ok(st == 200 and b"disk" in (page if isinstance(page, bytes) else page.encode()),
         "the link answers a confirm page naming the check", (st, str(page)[:300]))
    st, page, _ = env.server.request("POST", apath, fresh=True)
    _, chk, _ = env.api("GET", "/api/v1/checks/%d" % c, A)
    t.ok(st == 200 and chk["state"]["acknowledged"], "posting it acknowledges the check",
         (st, chk.get("state")))

# the outage again, left in place: the jobs SUPPRESSED on the dashboard
rc, out, err = tour("down")
t.ok(rc == 0 and re.search(r"demo-host/sync-orders .*suppressed by gateway/uplink", out),
     "demo-tour ... down: the jobs suppressed by gateway/uplink (custos problems)", err or out)
st, status, _ = env.api("GET", "/api/v1/status", A)
probs = dict(("%s/%s" % (p.get("agent_name"), p.get("name")), p) for p in status.get("problems", []))
t.ok(all(probs.get("demo-host/" + j, {}).get("suppressed_by") == "gateway/uplink"
         for j in ("sync-orders", "sync-stock", "sync-prices"))
     and probs.get("gateway/uplink", {}).get("suppressed_by", "x") is None,
     "the API's status: the 3 jobs suppressed_by gateway/uplink", sorted(probs))
job = probs.get("demo-host/sync-orders", {}).get("id")
if b is None:
    b = Browser(t, env, prefix="demo-")
    b.login(A)
b.get("/")
row = '#problems tr[data-check-id="%s"]' % job
b.wait_true(lambda: "SUPPRESSED by gateway/uplink" in b.text_of(row + " .marks"),
            "the dashboard's problems list marks a job \"SUPPRESSED by gateway/uplink\"")
rc, out, err = tour("up")
st, c, _ = env.api("GET", "/api/v1/checks/%s" % job, A)
t.ok(rc == 0 and c.get("suppressed_by") is None and c["state"]["status"] == "OK",
     "demo-tour ... up: all recovered, nothing suppressed", (err or out, c.get("state")))
t.done()
