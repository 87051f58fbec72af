"""End-to-end: the check page's threshold editor, in headless Chromium.

A check with two days of stored results (COPYed straight into
check_history, one a minute). As admin: the editor shows the current
settings; a new warning and Try show "with warning 80: N pages in 7 days
instead of M" and the HARD problems, recoveries and flaps, the very numbers
POST /api/v1/checks/{id}/backtest answers for the same body, and mark the
proposed HARD changes on the chart; a bad range or max attempts shows the
API's 422 error next to its field and changes nothing; Save PATCHes the
check (read back through the API) and the page shows the new values. As
viewer: no editor. No page text shows null, undefined, NaN or [object, and
the editor does not scroll sideways at a phone's width."""
import datetime
import os
import random
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BUILDDIR, SRCDIR, Env, Tap  # noqa: E402
from chromelib import Browser, By, Keys, StaleElementReferenceException, WebDriverWait  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402


t = Tap()
env = Env(conf={"www_dir": os.path.join(SRCDIR, "serverd", "www")})
A = env.admin
V = env.api("POST", "/api/v1/tokens", A, {"name": "viewer", "role": "viewer"})[1]["token"]
base = "http://127.0.0.1:%d" % env.server.port
HOSTILE = '<img src=x onerror="window.__xss=1">'

aid, atok = env.make_agent("web01", interval_s=86400)   # stays up however slow the run
CUR = {"warning": "90", "critical": "95", "max_attempts": 3}
cid = env.make_check(aid, "cpu", **CUR)

# ---- the fixture: two days, one result a minute --------------------------------
N = 2 * 1440
rnd = random.Random(22)
now = int(datetime.datetime.now(datetime.timezone.utc).timestamp())
start = now - now % 60 - 120 - (N - 1) * 60
values = []
while len(values) < N:
    kind = rnd.random()
    if kind < 0.55:                                    # quiet
        values += [round(rnd.uniform(20, 70), 1) for _ in range(rnd.randint(20, 120))]
    elif kind < 0.85:                                  # busy: over 80, under 90
        values += [round(rnd.uniform(81, 89), 1) for _ in range(rnd.randint(2, 30))]
    else:                                              # hot: over 90
        values += [round(rnd.uniform(91, 99), 1) for _ in range(rnd.randint(2, 10))]
values = values[:N]


def stored(v):
    return 2 if v > 95 else 1 if v > 90 else 0


def rfc(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


rows = [(rfc(start + i * 60), stored(v), v) for i, v in enumerate(values)]
for d in sorted({r[0][:10] for r in rows}):
    env.cluster.psql("SELECT history_partition_ensure('%s')" % d)
lines = ["\\copy check_history (check_id, agent_id, status, value, observed_at, output)"
         " FROM STDIN"]
lines += ["%d\t%d\t%d\t%r\t%s\tcpu %s%%" % (cid, aid, st, v, at, v) for at, st, v in rows]
out = subprocess.run(env.cluster.psql_cmd("-v", "ON_ERROR_STOP=1"),
                     input="\n".join(lines + ["\\."]) + "\n", capture_output=True, text=True)
t.ok(out.returncode == 0, "two days of results are COPYed in", out.stderr)


def backtest(body):
    return env.api("POST", "/api/v1/checks/%d/backtest" % cid, A, body)


# ---- the browser -----------------------------------------------------------------
b = Browser(t, env, prefix='bt-')
drv, wait, base = b.drv, b.wait, b.base
css, shot, click, text_of, wait_true, wait_css = b.css, b.shot, b.click, b.text_of, b.wait_true, b.wait_css


login = b.login


def open_check():
    drv.get(base + "/checks/%d" % cid)
    wait.until(lambda d: css("#main[data-ready=check]"))


def field(id_, text):
    el = css("#" + id_)[0]
    el.clear()
    el.send_keys(text)


clean_text = b.clean_text


def sentence():
    e = css("#bt-sentence")
    return e[0].text if e else ""


# ---- admin: the editor -------------------------------------------------------------
login(A)
open_check()
wait_true(lambda: css("#thr-editor")[0].is_displayed() and css("#thr-max")[0].get_attribute("value") == "3",
          "admin: the editor is shown, filled in")
t.eq([css("#thr-warning")[0].get_attribute("value"), css("#thr-critical")[0].get_attribute("value")],
     ["90", "95"], "with the current warning and critical")
t.ok("warning 90 · critical 95 · max attempts 3" in css("#check-thresholds")[0].text,
     "the state lists the current thresholds", css("#check-thresholds")[0].text)

# Try: warning 80 over 7 days
field("thr-warning", "80")
Select(css("#thr-since")[0]).select_by_value("7d")
css("#thr-try")[0].click()
wait_true(lambda: sentence().startswith("with warning 80:"), "Try shows the sentence")
st, want, _ = backtest({"warning": "80", "critical": "95", "max_attempts": 3, "since": "7d"})
t.eq(st, 200, "the API answers the same body")
p, c = want["proposed"], want["current"]
t.ok(p["notifications"] > c["notifications"] > 0, "the fixture pages more with warning 80",
     (p["notifications"], c["notifications"]))
t.eq(sentence(), "with warning 80: %s pages in 7 days instead of %s" %
     ("{:,}".format(p["notifications"]), "{:,}".format(c["notifications"])),
     "the sentence: the API's pages, proposed and current")
cells = {(tr.get_attribute("data-key"), td.get_attribute("data-side")): td.text
         for tr in css("#bt-table tbody tr") for td in tr.find_elements(By.CSS_SELECTOR, "td")}
for k in ("hard_problems", "recoveries", "flaps", "notifications"):
    t.eq((cells.get((k, "proposed")), cells.get((k, "current"))),
         ("{:,}".format(p[k]), "{:,}".format(c[k])), "%s: the API's, both sides" % k)
t.ok(css("#bt-window")[0].text.startswith("{:,} results replayed".format(want["results"])),
     "the number of results replayed", css("#bt-window")[0].text)
t.eq(want["results"], N, "(all %d of them)" % N)
took = drv.execute_script("return performance.getEntriesByType('resource')"
                          ".filter((e) => e.name.endsWith('/backtest')).map((e) => e.duration)")
t.diag("Try over 7 d (%d results): the backtest request took %s ms in the browser" %
       (N, ", ".join("%.0f" % x for x in took)))
wait_true(lambda: css("#chart-ranges button[data-range='7d'][aria-pressed='true']") and
          css("svg.chart .btmark"), "the chart switches to 7 d and marks the proposed HARD changes")
marks = css("svg.chart .btmark")
in_chart = [ch for ch in want["changes"] if ch["at"] >= rows[0][0]]
t.ok(0 < len(marks) <= len(in_chart), "one mark per HARD change in the chart's window",
     (len(marks), len(in_chart)))
t.ok(len(css("svg.chart .bt-prob")) >= 1, "problems are marked as such")
shot("backtest-try")
clean_text("after Try, no null, undefined, NaN or [object on the page")

# 24 h: fewer results, the sentence says so
Select(css("#thr-since")[0]).select_by_value("24h")
css("#thr-try")[0].click()
wait_true(lambda: " in 24 hours instead of " in sentence(), "a 24 h window says 24 hours")
st, want24, _ = backtest({"warning": "80", "critical": "95", "max_attempts": 3, "since": "24h"})
t.ok(sentence().endswith("in 24 hours instead of %s" % "{:,}".format(want24["current"]["notifications"])) and
     want24["results"] < N, "with the API's 24 h numbers", (sentence(), want24["results"]))

# a bad range: the 422's error next to the field, nothing changed
field("thr-warning", "abc" + HOSTILE)
css("#thr-try")[0].click()
st, err, _ = backtest({"warning": "abc" + HOSTILE, "critical": "95", "max_attempts": 3, "since": "24h"})
t.eq((st, err.get("field")), (422, "warning"), "the API refuses the range, naming warning")
wait_true(lambda: css("#thr-warning-error")[0].text == err["error"], "its error shows next to Warning")
t.eq(css("#bt-sentence"), [], "and no stale sentence stays")
t.ok(not drv.execute_script("return window.__xss"), "a hostile range stays text")
field("thr-warning", "80")
field("thr-max", "0")
css("#thr-try")[0].click()
st, err, _ = backtest({"warning": "80", "critical": "95", "max_attempts": 0, "since": "24h"})
t.eq((st, err.get("field")), (422, "max_attempts"), "the API refuses max_attempts 0")
wait_true(lambda: css("#thr-max-error")[0].text == err["error"], "its error shows next to Max attempts")
t.eq(css("#thr-warning-error")[0].text, "", "the earlier error is gone")
css("#thr-save")[0].click()
wait_true(lambda: css("#thr-max-error")[0].text == err["error"], "Save shows the same refusal")
st, chk, _ = env.api("GET", "/api/v1/checks/%d" % cid, A)
t.eq((chk["warning"], chk["critical"], chk["max_attempts"]), ("90", "95", 3), "a refused Save changes nothing")

# phone width: the editor and its answer wrap
field("thr-max", "2")
drv.set_window_size(390, 844)
css("#thr-try")[0].click()
wait_true(lambda: sentence().startswith("with warning 80, max attempts 2:"), "Try with two changes names both")
t.ok(not drv.execute_script("return document.documentElement.scrollWidth > "
                            "document.documentElement.clientWidth"), "no sideways scroll at 390 px")
shot("backtest-phone")
drv.set_window_size(1280, 900)

# a live update of the check redraws its state, not the fields being edited
field("thr-warning", "77")
env.post_results(atok, [{"check_id": cid, "status": 0, "output": "live one", "value": 42}])
wait_true(lambda: css("#check-output")[0].text == "live one", "a new result arrives live")
t.eq(css("#thr-warning")[0].get_attribute("value"), "77", "and what is typed in the editor stays")
field("thr-warning", "80")

# Save
css("#thr-save")[0].click()
wait_true(lambda: css("#thr-saved"), "Save answers")
st, chk, _ = env.api("GET", "/api/v1/checks/%d" % cid, A)
t.eq((chk["warning"], chk["critical"], chk["max_attempts"]), ("80", "95", 2), "the check is changed (API)")
t.ok("warning 80 · critical 95 · max attempts 2" in css("#check-thresholds")[0].text and
     "warning 80 · critical 95 · max attempts 2" in css("#thr-saved")[0].text,
     "the page shows the new values", css("#check-thresholds")[0].text)
t.eq(css("#thr-warning")[0].get_attribute("value"), "80", "the editor keeps them")
# an empty range is no range
field("thr-critical", "")
css("#thr-save")[0].click()
wait_true(lambda: "critical none" in css("#check-thresholds")[0].text, "an empty Critical saves no range")
t.eq(env.api("GET", "/api/v1/checks/%d" % cid, A)[1]["critical"], None, "(null in the API)")
open_check()
wait_true(lambda: css("#thr-warning")[0].get_attribute("value") == "80" and
          css("#thr-critical")[0].get_attribute("value") == "", "a reload shows the saved values")
clean_text("admin: no null, undefined, NaN or [object on the check page")

# ---- viewer: no editor -------------------------------------------------------------
login(V)
open_check()
wait_true(lambda: "warning 80" in css("#check-thresholds")[0].text, "viewer: the thresholds are shown")
t.ok(not css("#thr-editor")[0].is_displayed() and css("#thr-try") == [] and css("#thr-save") == [],
     "but no editor, no Try, no Save")
clean_text("viewer: no null, undefined, NaN or [object on the check page")
t.done()
