"""End-to-end: the dashboard in real headless Chromium (Debian's chromium +
chromium-driver, driven by python3-selenium) against a real serverd and
PostgreSQL. Waits are for conditions in the page (WebDriverWait), never for
time. Screenshots are kept in tests/e2e/screenshots/ (in the build tree)."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BUILDDIR, SRCDIR, Env, Tap  # noqa: E402
from chromelib import Browser, By, Keys, StaleElementReferenceException, WebDriverWait  # noqa: E402


t = Tap()
env = Env(conf={"www_dir": os.path.join(SRCDIR, "serverd", "www")})
A = env.admin
V = env.api("POST", "/api/v1/tokens", A, {"name": "viewer", "role": "viewer"})[1]["token"]
base = "http://127.0.0.1:%d" % env.server.port
aid, atok = env.make_agent("web01")
sshd = env.make_check(aid, "sshd", max_attempts=1, warning="80", critical="90")
disk = env.make_check(aid, "disk", max_attempts=1)
env.post_results(atok, [{"check_id": sshd, "status": 0, "output": "sshd ok", "value": 10},
                        {"check_id": disk, "status": 0, "output": "disk ok", "value": 40}])

b = Browser(t, env)
drv, wait, base = b.drv, b.wait, b.base
css, shot, click, text_of, wait_true, wait_css = b.css, b.shot, b.click, b.text_of, b.wait_true, b.wait_css


def login(token):
    wait.until(lambda d: css("#token"))
    f = css("#token")[0]
    f.clear()
    f.send_keys(token + Keys.ENTER)


# 1. no session: the login form; a wrong token is said so
drv.get(base + "/")
wait_css("#login-form", "no session: the login form")
shot("01-login")
t.eq(css("#token")[0].get_attribute("type"), "password", "one password field for the token")
login("0" * 64)
wait_true(lambda: css("#login-error")[0].text == "Unknown token.", "a wrong token: 'Unknown token.'")

# 2. a viewer logs in and sees a problem appear live
login(V)
wait_css("#problems", "a viewer logs in: the overview")
wait_true(lambda: "All is well" in css("#problems-empty")[0].text and
          css("#problems-empty")[0].is_displayed(), "no problems yet")
wait_true(lambda: css("#live")[0].get_attribute("data-state") == "up", "the live dot says connected")
t.eq(css("button.act-ack"), [], "a viewer gets no Ack buttons")
drv.execute_script("window.__same_page = 1")
env.post_results(atok, [{"check_id": sshd, "status": 2, "output": "sshd is gone\nsecond line", "value": 95}])
wait_css('#problems tr[data-check-id="%d"]' % sshd, "the problem appears without a reload")
row_text = text_of('#problems tr[data-check-id="%d"]' % sshd)
t.ok("CRITICAL" in row_text and "web01/sshd" in row_text and "sshd is gone" in row_text and
     "second line" not in row_text, "state word, agent/check, first output line", row_text)
t.ok("for " in row_text, "and since when", row_text)
t.eq(drv.execute_script("return window.__same_page"), 1, "the page was not reloaded")
wait_true(lambda: css('#counts a[data-count="CRITICAL"] b')[0].text == "1", "the summary counts 1 CRITICAL")
shot("02-viewer-problem")

# 3. a mail's link opens the check page, after the login form
drv.delete_all_cookies()
drv.get(base + "/checks/%d" % sshd)
wait_css("#login-form", "the mail link without a session: the login form first")
login(A)
wait_true(lambda: css("#check-title") and css("#check-title")[0].text == "web01/sshd",
          "then the check page itself")
t.ok("sshd is gone\nsecond line" in text_of("#check-output"), "with the whole output")
wait_css("svg.chart", "and a chart of its history")
t.eq(css("svg.chart")[0].get_attribute("data-by"), "hour", "the chart shows the last day by hour")
res = drv.execute_script("return performance.getEntriesByType('resource').map((e) => e.name)")
t.ok(any("/api/v1/checks/%d/summary?by=hour&since=" % sshd in r for r in res) and
     not any("/history?limit=1000" in r for r in res),
     "the chart reads the summary API, not raw history", [r for r in res if "/checks/" in r])
click('#chart-ranges button[data-range="1h"]')
wait_true(lambda: css("svg.chart")[0].get_attribute("data-by") == "minute",
          "the hour switch redraws the chart by minute")
st, summ, _ = env.api("GET", "/api/v1/checks/%d/summary?by=minute" % sshd, A)
t.eq(int(css("svg.chart")[0].get_attribute("data-points")),
     len([i for i in summ["items"] if i["avg"] is not None]),
     "one point per minute bucket the summary API has")
shot("03-check-page")

# 4. an admin acknowledges it from the page and sees the mark
click("#act-ack")
wait_css("#ack-comment", "the acknowledge dialog opens")
css("#ack-comment")[0].send_keys("alice is on it")
click("#dlg-ok")
wait_css("#mark-ack", "the ACK mark appears (from the stream)")
st, c, _ = env.api("GET", "/api/v1/checks/%d" % sshd, A)
t.eq(c["state"]["acknowledged"], True, "the check is acknowledged in the API")
wait_true(lambda: css("#ack-info") and "alice is on it" in css("#ack-info")[0].text,
          "the page says who acknowledged it, and why")
shot("04-acknowledged")

# 5. a downtime from the overview's row
env.post_results(atok, [{"check_id": disk, "status": 1, "output": "91% used", "value": 91}])
click("a.brand")
wait_css('#problems tr[data-check-id="%d"] button.act-dt' % disk, "the overview lists the new problem with actions")
wait_css('#problems tr[data-check-id="%d"] .mark-ack' % sshd, "the acknowledged row carries its mark")
# the rows read in one script: a live update re-draws the table between a
# find and a read otherwise (StaleElementReferenceException, fresh-clone
# run 10780)
wait_true(lambda: b.js("return [...document.querySelectorAll('#problems tbody tr')]"
                       ".map((r) => r.dataset.checkId)") == [str(sshd), str(disk)],
          "CRITICAL before WARNING")
click('#problems tr[data-check-id="%d"] button.act-dt' % disk)
wait_css("#dt-for", "the downtime dialog opens")
t.eq(css("#dt-for")[0].get_attribute("value"), "2", "'for 2 h' is the default")
css("#dt-comment")[0].send_keys("disk swap")
click("#dlg-ok")
wait_css('#problems tr[data-check-id="%d"] .mark-dt' % disk, "the row shows it is in downtime")
st, dts, _ = env.api("GET", "/api/v1/downtimes?check_id=%d" % disk, A)
t.ok(len(dts["items"]) == 1 and dts["items"][0]["comment"] == "disk swap", "one downtime stored", dts)
shot("05-downtime")

# 6. keyboard: j selects, ? opens help
drv.find_element(By.TAG_NAME, "body").send_keys("j")
wait_css("#problems tr.sel", "j selects a problem")
drv.find_element(By.TAG_NAME, "body").send_keys("/")
t.eq(drv.switch_to.active_element.get_attribute("id"), "filter", "/ focuses the filter")
drv.switch_to.active_element.send_keys("disk")
wait_true(lambda: len(css("#problems tbody tr")) == 1, "the filter narrows the problems as you type")
drv.switch_to.active_element.send_keys(Keys.CONTROL + "a")
drv.switch_to.active_element.send_keys(Keys.BACKSPACE)
wait_true(lambda: len(css("#problems tbody tr")) == 2, "clearing the filter shows every problem again")

# 7. dark scheme and a phone's width
drv.execute_cdp_cmd("Emulation.setEmulatedMedia",
                    {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
bg = drv.execute_script("return getComputedStyle(document.body).backgroundColor")
t.ok(bg in ("rgb(18, 20, 23)",), "prefers-color-scheme: dark gives the dark page", bg)
shot("06-dark")
drv.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
drv.set_window_size(360, 740)
wait_true(lambda: drv.execute_script(
    "return document.documentElement.scrollWidth <= document.documentElement.clientWidth"),
    "readable at 360 px: no sideways scrolling")
shot("07-phone")
drv.set_window_size(1280, 900)

# 8. the overview with 2,000 checks (100 problems)
env.cluster.psql(
    "INSERT INTO agents (name, token_hash, state) SELECT 'host' || i, "
    "sha256(('t' || i)::bytea), 'up' FROM generate_series(1, 100) i;"
    "INSERT INTO checks (agent_id, name, type, params) SELECT a.id, 'chk' || j, 'load', "
    "'{\"period\": 1}' FROM agents a, generate_series(1, 20) j WHERE a.name LIKE 'host%';"
    "UPDATE check_state s SET status = CASE WHEN c.name = 'chk1' THEN 2 ELSE 0 END, "
    "since = now() - interval '3 hours' FROM checks c JOIN agents a ON a.id = c.agent_id "
    "WHERE c.id = s.check_id AND a.name LIKE 'host%'")
drv.get(base + "/")
wait_true(lambda: len(css("#problems tbody tr")) == 102, "2,000 more checks: the 100 new problems are listed")
ok = text_of("#okline")
t.ok(ok.startswith("1,900 checks OK on 101 agents"), "the OK checks collapse into one line", ok)
n = drv.execute_script("return document.querySelectorAll('tr').length")
t.ok(n < 400, "the page holds no row per OK check (%d rows)" % n)
shot("08-overview-2000")
# The 2,000 checks' notifications may still be reaching the page as a
# stream reset, which draws the overview again: click the OK line as it is
# now, once, unless the list is already open (data-open; an open list stays
# open when the overview is drawn again); a stale element is found again
def expanded():
    if css("#oklist")[0].get_attribute("data-open") is None:
        css("#okline")[0].click()
    return len(css("#oklist tbody tr")) == 100


wait_true(expanded, "the OK line expands into a page of 100")
t.done()
