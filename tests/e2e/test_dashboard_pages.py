"""End-to-end: every page of the dashboard, in headless Chromium, light,
dark and a phone's width (390 px), as admin and as viewer: no page ever
shows "null", "undefined", "NaN" or "[object" in its text, none scrolls
sideways on the phone, and hostile strings stay text. Then what the issue
found wrong: the header before login, counts that disagree with the rows,
a DOWN agent's checks counted as OK, a SOFT to HARD change read as
"CRITICAL -> CRITICAL", facts drawn as "[object HTMLElement]"; and the chart:
a time axis in local time and a value on hover, read from the DOM."""
import datetime
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BUILDDIR, SRCDIR, Env, Tap  # noqa: E402
from chromelib import BAD_TEXT, Browser, By, Keys, StaleElementReferenceException, WebDriverWait  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402


t = Tap()
env = Env(conf={"www_dir": os.path.join(SRCDIR, "serverd", "www")})
A = env.admin
V = env.api("POST", "/api/v1/tokens", A, {"name": "viewer", "role": "viewer"})[1]["token"]
O = env.api("POST", "/api/v1/tokens", A, {"name": "operator", "role": "operator"})[1]["token"]
base = "http://127.0.0.1:%d" % env.server.port
HOSTILE = '<img src=x onerror="window.__xss=1">'

aid, atok = env.make_agent("web01", interval_s=86400)   # stays up however slow the run
st, _, _ = env.api("PUT", "/api/v1/agent/self/checkout", atok, {
    "started_at": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"), "duration_ms": 12,
    "results": 3, "version": "0.1.0", "facts": {
        "hostname": "web01", "os": "Debian GNU/Linux 12 (bookworm)", "kernel": "Linux 6.1.0",
        "cpu_count": 4, "memory_bytes": 8 * 1024 ** 3, "interfaces": {
            "eth0": ["10.0.0.5/24", "fe80::1/64"], "lo": ["127.0.0.1/8"]},
        "note": HOSTILE}})
t.eq(st, 200, "web01 checks out with facts")
sshd = env.make_check(aid, "sshd", max_attempts=2)
disk = env.make_check(aid, "disk", max_attempts=1, warning="~:85", critical="~:95")
load = env.make_check(aid, "load " + HOSTILE, max_attempts=1, warning="4", critical="8")
mem = env.make_check(aid, "mem", max_attempts=1)
now = time.time()
env.post_results(atok, [{"check_id": load, "status": 0, "output": "load ok", "value": 1.0 + (i % 8) / 10,
                         "observed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60 * (40 - i)))}
                        for i in range(40)])
env.post_results(atok, [{"check_id": disk, "status": 1, "output": "91% used " + HOSTILE, "value": 91}])
env.post_results(atok, [{"check_id": sshd, "status": 2, "output": "sshd is gone"}])   # SOFT 1/2
env.post_results(atok, [{"check_id": sshd, "status": 2, "output": "sshd is gone"}])   # HARD
st, _, _ = env.api("POST", "/api/v1/checks/%d/ack" % sshd, O, {"comment": "on it " + HOSTILE})
t.eq(st, 201, "the operator acknowledges sshd (its ACK mark names who, on every page)")
# db01: an agent that went DOWN with an OK check and a CRITICAL one
bid, btok = env.make_agent("db01")
pg = env.make_check(bid, "postgres", max_attempts=1)
pgdisk = env.make_check(bid, "pgdisk", max_attempts=1)
env.post_results(btok, [{"check_id": pg, "status": 0, "output": "pg ok"},
                        {"check_id": pgdisk, "status": 2, "output": "pg disk full"}])
env.cluster.psql("UPDATE agents SET state = 'down', next_checkout_by = now() - interval '1 hour' "
                 "WHERE id = %d" % bid)
# downtimes: one now, one scheduled
iso = lambda s: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + s))  # noqa: E731
env.api("POST", "/api/v1/downtimes", A, {"check_id": disk, "start": iso(-60), "end": iso(3600),
                                         "comment": "disk swap " + HOSTILE})
env.api("POST", "/api/v1/downtimes", A, {"agent_id": aid, "start": iso(86400), "end": iso(90000),
                                         "comment": "kernel upgrade"})

b = Browser(t, env, prefix='pages-')
drv, wait, base = b.drv, b.wait, b.base
css, shot, click, text_of, wait_true, wait_css = b.css, b.shot, b.click, b.text_of, b.wait_true, b.wait_css


login = b.login


mode = b.mode


BAD = BAD_TEXT
PAGES = [("overview", "/"), ("hosts", "/?view=hosts"), ("downtimes", "/?view=downtimes"),
         ("events", "/?view=events"), ("notifications", "/?view=notifications"),
         ("check", "/checks/%d" % sshd), ("check", "/checks/%d" % disk), ("check", "/checks/%d" % load),
         ("check", "/checks/%d" % pgdisk), ("agent", "/agents/%d" % aid), ("agent", "/agents/%d" % bid),
         ("wall", "/?wall=1")]

# before login: the login form alone, no header
drv.get(base + "/")
wait.until(lambda d: css("#login-form"))
t.ok(not css("#bar")[0].is_displayed() and not css("#filter")[0].is_displayed() and
     not css("#logout")[0].is_displayed(), "the login page shows no header (filter, views, Log out)")

for role, tok in (("admin", A), ("operator", O), ("viewer", V)):
    login(tok)
    bad, wide = [], []
    for m in ("light", "dark", "phone"):
        mode(m)
        for view, path in PAGES:
            drv.get(base + path)
            try:
                wait.until(lambda d: css("#main[data-ready=%s]" % view))
            except Exception:  # noqa: BLE001
                bad.append("%s %s: never ready" % (m, path))
                shot("pages-notready-%s-%s-%s" % (role, m, view))
                continue
            text = drv.execute_script("return document.body.innerText")
            for hit in BAD.finditer(text):
                bad.append("%s %s: ...%s..." % (m, path, text[max(0, hit.start() - 40):hit.end() + 20]))
            if m == "phone" and drv.execute_script(
                    "return document.documentElement.scrollWidth > document.documentElement.clientWidth"):
                wide.append(path)
                shot("pages-wide-%s-%s" % (role, view))
            if drv.execute_script("return window.__xss"):
                bad.append("%s %s: a hostile string ran" % (m, path))
        shot("pages-%s-%s" % (role, m))
    t.eq(bad, [], "%s: no page shows null, undefined, NaN or [object, light, dark and phone; "
                  "no hostile string runs" % role)
    t.eq(wide, [], "%s: no page scrolls sideways at 390 px" % role)
    mode("light")

# the overview: counts equal the rows on screen; a DOWN agent's checks are
# marked and counted as UNKNOWN, not OK
drv.get(base + "/")
wait.until(lambda d: css("#main[data-ready=overview]"))


def counts_match():
    out = {}
    for k in ("CRITICAL", "WARNING", "UNKNOWN"):
        n = int(css('#counts a[data-count="%s"] b' % k)[0].text.replace(",", ""))
        rows = len(css('#problems tbody tr[data-status="%s"]' % k))
        out[k] = (n, rows)
    return out


c = counts_match()
t.ok(all(n == r for n, r in c.values()), "every count in the header equals its rows on screen", c)
t.eq(c["UNKNOWN"][0], 2, "db01's two checks count as UNKNOWN (its agent is DOWN)")
row = css('#problems tr[data-check-id="%d"]' % pg)
t.ok(row and "AGENT DOWN" in row[0].text and "last OK" in row[0].text,
     "db01's OK check is listed, marked AGENT DOWN (last OK)", row and row[0].text)
t.ok("AGENT DOWN" in css('#problems tr[data-check-id="%d"]' % pgdisk)[0].text, "so is its CRITICAL one")
okl = css("#okline")[0].text
t.ok(okl.startswith("1 checks OK") or okl.startswith("1 check"), "the OK line leaves the DOWN agent's OK check out", okl)
# a live change keeps counts and rows together
env.post_results(atok, [{"check_id": mem, "status": 2, "output": "mem 99", "value": 99}])
wait_true(lambda: css('#problems tr[data-check-id="%d"]' % mem), "a new CRITICAL appears live")
wait_true(lambda: all(n == r for n, r in counts_match().values()), "and the counts follow it at once")
# filters live in the URL
wait.until(lambda d: css('#counts a[data-count="CRITICAL"]')[0].click() or True)
wait_true(lambda: "state=CRITICAL" in drv.current_url, "a count's click filters, kept in the URL")
ROWSTATES = "return [...document.querySelectorAll('#problems tbody tr')].map((r) => r.dataset.status)"
wait_true(lambda: set(drv.execute_script(ROWSTATES)) == {"CRITICAL"}, "only CRITICAL rows are shown")
drv.get(drv.current_url)
wait.until(lambda d: css("#main[data-ready=overview]"))
t.ok(set(drv.execute_script(ROWSTATES)) == {"CRITICAL"} and
     css('#counts a[data-count="CRITICAL"].on'), "the bookmarked URL opens the same view")

# hosts: every agent, its worst state and counts, since when; sortable
drv.get(base + "/?view=hosts")
wait.until(lambda d: css("#main[data-ready=hosts]"))
HOSTS = ("return [...document.querySelectorAll('#hosts-table tbody tr')].map((r) => "
         "[...r.cells].map((c) => c.innerText))")
rows = {r[0]: r for r in drv.execute_script(HOSTS)}
t.ok(rows.get("web01", [])[1:7] == ["UP", "CRITICAL", "2", "1", "0", "1"],
     "web01: up, worst CRITICAL, 2 critical, 1 warning, 0 unknown, 1 OK", rows.get("web01"))
t.ok(rows.get("db01", [])[1:3] == ["DOWN", "UNKNOWN"] and rows["db01"][7].startswith("down for"),
     "db01: DOWN, its checks UNKNOWN, down for ...", rows.get("db01"))
t.eq(list(rows)[0], "db01", "worst first by default")
wait.until(lambda d: css('#hosts-table th[data-sort="name"] button')[0].click() or True)
wait_true(lambda: [r[0] for r in drv.execute_script(HOSTS)] == ["db01", "web01"] and "hsort=name" in drv.current_url,
          "a click on Agent sorts by name, kept in the URL")
wait.until(lambda d: css('#hosts-table th[data-sort="name"] button')[0].click() or True)
wait_true(lambda: [r[0] for r in drv.execute_script(HOSTS)] == ["web01", "db01"], "a second click reverses it")

# events: a SOFT to HARD change says so
drv.get(base + "/?view=events")
wait.until(lambda d: css("#main[data-ready=events]"))
changes = [e.text for e in css("#events td.change")]
t.ok(not any(re.fullmatch(r"(\w+) → \1", x) for x in changes), "no change reads 'CRITICAL → CRITICAL'", changes)
t.ok(any("soft" in x and "hard" in x for x in changes), "the SOFT to HARD change names both", changes)

# the agent page's facts are text, wrapped
drv.get(base + "/agents/%d" % aid)
wait.until(lambda d: css("#main[data-ready=agent]"))
facts = css("#agent-facts")[0].text
t.ok("eth0: 10.0.0.5/24, fe80::1/64" in facts and "8.0 GiB" in facts and HOSTILE in facts,
     "facts: interfaces, memory in GiB, a hostile string as text", facts)

# the chart: local-time axis, a value on hover
drv.get(base + "/checks/%d" % load)
wait.until(lambda d: css("#main[data-ready=check]"))
wait_true(lambda: css('#counts a[data-count="CRITICAL"] b') and
          int(css('#counts a[data-count="CRITICAL"] b')[0].text) == c["CRITICAL"][0] + 1,
          "a check page, opened by its address, shows the header's counts too")
css('#chart-ranges button[data-range="1h"]')[0].click()
wait_true(lambda: css("svg.chart")[0].get_attribute("data-by") == "minute", "1 h: by minute")
ticks = [(e.get_attribute("data-t"), e.text) for e in css("svg.chart g.xtick")]
tz = drv.execute_script("return new Date().getTimezoneOffset()")


def local_hm(iso_t):
    d = datetime.datetime.strptime(iso_t[:19], "%Y-%m-%dT%H:%M:%S") - datetime.timedelta(minutes=tz)
    return d.strftime("%H:%M")


t.ok(len(ticks) >= 3, "the time axis has ticks", ticks)
t.ok(all(txt == local_hm(ts) or not re.match(r"\d\d:\d\d$", txt) for ts, txt in ticks) and
     any(re.match(r"\d\d:\d\d$", txt) for _, txt in ticks), "its labels are local HH:MM", ticks)
ylabels = [e.text for e in css("svg.chart g.yaxis text")]
t.ok(ylabels and float(ylabels[-1]) <= 3 and float(ylabels[0]) >= 0.5,
     "the y-scale is the data's (1.0-1.7), not the thresholds'", ylabels)
t.eq(css("svg.chart .thr"), [], "thresholds 4 and 8 lie outside it: not drawn")
svg = css("svg.chart")[0]
ActionChains(drv).move_to_element_with_offset(svg, 100, 0).perform()
wait_true(lambda: css("#chart-tip") and css("#chart-tip")[0].is_displayed(), "hovering shows a tooltip")
tip = css("#chart-tip")[0]
_, summ, _ = env.api("GET", "/api/v1/checks/%d/summary?by=minute" % load, A)
avgs = [i["avg"] for i in summ["items"] if i["avg"] is not None]
t.ok(float(tip.get_attribute("data-avg")) in avgs and "avg " in tip.text,
     "with a bucket's value from the summary API", (tip.text, tip.get_attribute("data-avg")))
shot("pages-chart-hover")
# drag to zoom
r = svg.rect
ActionChains(drv).move_to_element_with_offset(svg, -int(r["width"] / 4), 0).click_and_hold() \
    .move_by_offset(int(r["width"] / 4), 0).release().perform()
wait_true(lambda: css("#chart-unzoom") and css("#chart-unzoom")[0].is_displayed(),
          "a drag across the chart zooms (and offers to reset)")
t.ok(css("#check-avail .av")[0].text.endswith("24 h"), "availability 24 h / 7 d / 30 d is shown",
     css("#check-avail")[0].text)
drv.get(base + "/?view=notifications&status=failed&channel=email")
wait.until(lambda d: css("#main[data-ready=notifications]"))
t.ok(css("#nf-status")[0].get_attribute("value") == "failed" and
     css("#nf-channel")[0].get_attribute("value") == "email", "the notifications' filters come from the URL")
res = drv.execute_script("return performance.getEntriesByType('resource').map((e) => e.name)")
t.ok(any("/api/v1/notifications?limit=200&status=failed&channel=email" in r for r in res),
     "and go to the API", [r for r in res if "notifications" in r])
t.done()
