"""End-to-end: scripts/demo's serverd configuration serves the dashboard.
The demo's serverd.conf is read out of the script itself (its here-document,
$top being this source tree), so a demo whose www_dir points nowhere fails
here: GET / and the dashboard's files answer 200, and the link in a PROBLEM
mail (public_url/checks/ID) opens the check's page (in headless Chromium,
after the login form)."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SRCDIR, Tap  # noqa: E402
from alertlib import AlertEnv  # noqa: E402

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

env = AlertEnv(conf={"www_dir": www})
A = env.admin
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
mails = env.wait_mail(lambda m: "PROBLEM" in (m.get("subject") or ""))
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
    from chromelib import Browser  # noqa: E402
    b = Browser(t, env, prefix="demo-")
    b.get(path)
    b.wait_css("#token", "the mail's link in a browser: the login form first")
    b.css("#token")[0].send_keys(A + "\n")
    b.wait_true(lambda: b.css("#main[data-ready=check]") and b.text_of("#check-title").endswith("/disk"),
                "after the login, the link's check page: .../disk")
    t.ok(b.bad_hits() == [] and "CRITICAL" in b.text_of("#check-state"),
         "showing its CRITICAL state, no null or undefined", b.bad_hits())
t.done()
