"""End-to-end: the dashboard live, in headless Chromium. Eight tabs at once
all stay live (one stream for the browser, held by a SharedWorker); closed
tabs leave no warning in serverd's log; 50 problems selected and
acknowledged at once; the wall (?wall=1) survives a serverd restart without
a click; downtimes are scheduled and cancelled from their page; the events
page filters by kind and agent and pages back through history."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BUILDDIR, SRCDIR, Env, Tap  # noqa: E402
from sselib import SSE  # noqa: E402
from chromelib import Browser, By, Keys, StaleElementReferenceException, WebDriverWait  # noqa: E402


t = Tap()
env = Env(conf={"www_dir": os.path.join(SRCDIR, "serverd", "www"), "stream_heartbeat_s": "1"})
A = env.admin
base = "http://127.0.0.1:%d" % env.server.port
aid, atok = env.make_agent("web01")
first = env.make_check(aid, "first", max_attempts=1)
env.post_results(atok, [{"check_id": first, "status": 0, "output": "ok"}])

b = Browser(t, env, timeout=30, prefix='live-')
drv, wait, base = b.drv, b.wait, b.base
css, shot, click, text_of, wait_true, wait_css = b.css, b.shot, b.click, b.text_of, b.wait_true, b.wait_css


def log_warnings():
    with open(env.server.log_path, errors="replace") as f:
        # by the line's level: a debug line may quote libmicrohttpd's own
        # words ("Error: The socket is no longer available"), which is no warning
        return [x for x in f if re.search(r"\] (warning|error): http:", x)]


# 1. eight tabs at once, all live
drv.get(base + "/")
wait.until(lambda d: css("#token"))
css("#token")[0].send_keys(A + Keys.ENTER)
wait.until(lambda d: css("#main[data-ready=overview]"))
handles = [drv.current_window_handle]
for i in range(7):
    drv.switch_to.new_window("tab")
    drv.get(base + "/")
    handles.append(drv.current_window_handle)
up = []
for hd in handles:
    drv.switch_to.window(hd)
    try:
        wait.until(lambda d: css("#main[data-ready=overview]") and
                   css("#live")[0].get_attribute("data-state") == "up")
        up.append(hd)
    except Exception:  # noqa: BLE001
        pass
t.eq(len(up), 8, "eight tabs open at once: every one loads and is live")
env.post_results(atok, [{"check_id": first, "status": 2, "output": "first is down"}])
seen = 0
for hd in handles:
    drv.switch_to.window(hd)
    try:
        wait.until(lambda d: css('#problems tr[data-check-id="%d"]' % first))
        seen += 1
    except Exception:  # noqa: BLE001
        pass
t.eq(seen, 8, "a state change appears in all eight")
streams = [x for x in drv.execute_script(
    "return performance.getEntriesByType('resource').map((e) => e.name)") if "/api/v1/stream" in x]
t.eq(streams, [], "no tab opened a stream of its own (the SharedWorker holds it)")

# closing seven tabs (and, later, the stream going away) logs no warning
before = log_warnings()
for hd in handles[1:]:
    drv.switch_to.window(hd)
    drv.close()
drv.switch_to.window(handles[0])
env.post_results(atok, [{"check_id": first, "status": 1, "output": "first is better"}])
wait_true(lambda: css('#problems tr[data-check-id="%d"][data-status="WARNING"]' % first),
          "the last tab stays live after the others closed")
drv.get(base + "/?view=events")   # a page left: pagehide closes its stream cleanly
wait.until(lambda d: css("#main[data-ready=events]"))
drv.get(base + "/")
wait.until(lambda d: css("#main[data-ready=overview]"))
# a heartbeat is where a half-open stream would fail: wait past one. The
# heartbeat is every second here (stream_heartbeat_s), and two of a stream
# opened now mean every stream has had one since the tabs went
# (this stream stays open until the log is read: its own end is no tab's)
hb = SSE(env.server.port, A)
while hb.comments.count("heartbeat") < 2:
    hb.comment()
t.eq(log_warnings()[len(before):], [], "closed tabs and pages left log no warning in serverd")
hb.close()

# 2. select 50 problems and acknowledge them
ids = [env.make_check(aid, "bulk%02d" % i, max_attempts=1) for i in range(50)]
env.post_results(atok, [{"check_id": c, "status": 2, "output": "bulk down"} for c in ids])
drv.get(base + "/?q=bulk")
wait_true(lambda: len(css("#problems tbody tr")) == 50, "the filter 'bulk' (from the URL) shows the 50 problems")
click("#pick-all")
wait_true(lambda: css("#bulk-n") and css("#bulk-n")[0].text == "50 selected", "select all: 50 selected")
click("#bulk-ack")
wait.until(lambda d: css("#ack-comment"))
css("#ack-comment")[0].send_keys("mass outage, bob is on it")
click("#dlg-ok")


def acked():
    _, j, _ = env.api("GET", "/api/v1/checks?limit=1000", A)
    return sum(1 for c in j["items"] if c["id"] in ids and c["state"]["acknowledged"])


wait_true(lambda: acked() == 50, "all 50 are acknowledged in the API")
wait_true(lambda: len(css("#problems tbody tr .mark-ack")) == 50, "and all 50 rows carry the ACK mark")
shot("live-bulk-acked")

# 3. the wall survives a serverd restart without a click
drv.get(base + "/?wall=1")
wait.until(lambda d: css("#main[data-ready=wall]"))
t.ok(not css("#filter")[0].is_displayed() and not css("#problems input[type=checkbox]") and
     not css("#problems button"), "the wall: no filter, no checkboxes, no buttons")
big = drv.execute_script("return parseFloat(getComputedStyle(document.querySelector('main')).fontSize)")
t.ok(big >= 20, "large type", big)
env.server.stop()
wait_true(lambda: css("#live")[0].get_attribute("data-state") == "down", "serverd stopped: the wall says so")
env.server.start()
wall = env.make_check(aid, "after-restart", max_attempts=1)
env.post_results(atok, [{"check_id": wall, "status": 2, "output": "posted right after the restart"}])
wait_true(lambda: css('#problems tr[data-check-id="%d"]' % wall),
          "a problem posted right after the restart appears on the wall, no click", 40)
shot("live-wall")

# 4. downtimes: schedule from the page, see it, cancel it
drv.get(base + "/?view=downtimes")
wait.until(lambda d: css("#main[data-ready=downtimes]"))
css("#dtn-target")[0].send_keys("web01/first")
css("#dtn-comment")[0].send_keys("disk swap")
click("#dtn-ok")
wait_true(lambda: css("#dt-current tr[data-downtime-id]"), "a scheduled downtime is listed")
_, dts, _ = env.api("GET", "/api/v1/downtimes?active=true", A)
t.ok(len(dts["items"]) == 1 and dts["items"][0]["check_id"] == first and
     dts["items"][0]["comment"] == "disk swap", "stored for web01/first", dts)
row = css("#dt-current tr[data-downtime-id]")[0]
t.ok("web01/first" in row.text and "active" in row.text, "the row names the check and says active", row.text)
click("#dt-current button.dt-cancel")
wait_true(lambda: not css("#dt-current tr[data-downtime-id]"), "End now removes it from the list")
_, dts, _ = env.api("GET", "/api/v1/downtimes?active=true", A)
t.eq(dts["items"], [], "and from the API")

# 4b. a weekly window from the page: its definition is listed ("every ...",
# the next occurrence, no bad text) and Delete removes it
drv.execute_script("const s = document.getElementById('dtn-for'); s.value = 'weekly';"
                   " s.dispatchEvent(new Event('change'));")
css("#dtn-target")[0].send_keys("web01")
css("#dtn-weekly")[0].send_keys("sun 02:00-04:00")
css("#dtn-tz")[0].clear()
css("#dtn-tz")[0].send_keys("Europe/Berlin")
css("#dtn-comment")[0].send_keys("patch window")
click("#dtn-ok")
wait_true(lambda: css('#dt-current tr[data-kind="weekly"]'), "a weekly window is listed")
_, dts, _ = env.api("GET", "/api/v1/downtimes", A)
defs = [d for d in dts["items"] if d.get("recurring")]
t.ok(len(defs) == 1 and defs[0]["recurring"] == "sun 02:00-04:00" and
     defs[0]["tz"] == "Europe/Berlin" and defs[0]["agent_id"] == aid, "stored as a weekly window", defs)
row = css('#dt-current tr[data-kind="weekly"]')[0]
t.ok("every sun 02:00-04:00 (Europe/Berlin)" in row.text and "weekly" in row.text,
     "its row says every sun 02:00-04:00 in its zone", row.text)
b.clean_text("the downtimes page with a weekly window shows no bad text")
drv.execute_script("const s = document.getElementById('dtn-for'); s.value = 'weekly';"
                   " s.dispatchEvent(new Event('change'));")
css("#dtn-target")[0].send_keys("web01")
css("#dtn-weekly")[0].send_keys("someday 02:00")
click("#dtn-ok")
wait_true(lambda: "is not" in text_of("#dtn-error"), "a bad window: the server's reason under the form")
click('#dt-current tr[data-kind="weekly"] button.dt-cancel')
wait_true(lambda: not css('#dt-current tr[data-kind="weekly"]'), "Delete removes the weekly window")
_, dts, _ = env.api("GET", "/api/v1/downtimes", A)
t.eq([d for d in dts["items"] if d.get("recurring")], [], "and from the API")

# 5. events: filters and paging back
drv.get(base + "/?view=events&kind=ACKNOWLEDGEMENT")
wait.until(lambda d: css("#main[data-ready=events]"))
kinds = set(b.js("return [...document.querySelectorAll('#events tbody td:nth-child(2)')]"
                 ".map((e) => e.innerText)"))
t.eq(kinds, {"ACKNOWLEDGEMENT"}, "kind=ACKNOWLEDGEMENT (from the URL) lists only those")
t.ok("by " in css("#events tbody tr")[0].text and "mass outage" in css("#events tbody tr")[0].text,
     "with the author and the comment", css("#events tbody tr")[0].text)
drv.get(base + "/?view=events")
wait.until(lambda d: css("#main[data-ready=events]"))
n1 = len(css("#events tbody tr"))
t.eq(n1, 100, "the events page shows the newest 100")
click("#events-older")
wait_true(lambda: len(css("#events tbody tr")) > 100, "'Older events' pages back")
ids_shown = [int(x) for x in b.js("return [...document.querySelectorAll('#events tbody tr')]"
                                  ".map((r) => r.dataset.eventId)")]
t.ok(ids_shown == sorted(ids_shown, reverse=True) and len(set(ids_shown)) == len(ids_shown),
     "newest first, none twice")
drv.get(base + "/?view=events&check=after-restart")
wait.until(lambda d: css("#main[data-ready=events]"))
texts = b.js("return [...document.querySelectorAll('#events tbody tr')].map((r) => r.innerText)")
t.ok(texts and all("after-restart" in x for x in texts), "check=after-restart lists only its events",
     texts)
t.done()
