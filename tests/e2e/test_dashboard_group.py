"""End-to-end: the overview grouped by agent or by a label, in headless
Chromium. ?group=label:role puts each problem under a header
"role=web · 3 CRITICAL, 1 WARNING" by its effective label (the check's own
over its agent's), the groups worst first then by name, the checks without
the label under "(no role)"; ?group=agent groups by agent; the header's
counts equal the rows under it; the Group control and the URL agree."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SRCDIR, Env, Tap  # noqa: E402
from chromelib import BAD_TEXT, Browser, By, Keys, StaleElementReferenceException, WebDriverWait  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402


t = Tap()
env = Env(conf={"www_dir": os.path.join(SRCDIR, "serverd", "www")})
A = env.admin
base = "http://127.0.0.1:%d" % env.server.port

# interval_s: the agents stay up however slow the run
w1, w1tok = env.make_agent("web01", interval_s=86400, labels={"role": "web"})
w2, w2tok = env.make_agent("web02", interval_s=86400, labels={"role": "web"})
d1, d1tok = env.make_agent("db01", interval_s=86400, labels={"role": "db"})
b1, b1tok = env.make_agent("bare", interval_s=86400)
c_w1a = env.make_check(w1, "nginx", max_attempts=1)
c_w1b = env.make_check(w1, "disk", max_attempts=1)
c_w2 = env.make_check(w2, "nginx", max_attempts=1)
c_d1 = env.make_check(d1, "pg", max_attempts=1)
c_d1web = env.make_check(d1, "proxy", max_attempts=1, labels={"role": "web"})   # its own label wins
c_b1 = env.make_check(b1, "ntp", max_attempts=1)
c_ok = env.make_check(w1, "load", max_attempts=1)
for tok, res in ((w1tok, [(c_w1a, 2), (c_w1b, 1), (c_ok, 0)]), (w2tok, [(c_w2, 2)]),
                 (d1tok, [(c_d1, 1), (c_d1web, 2)]), (b1tok, [(c_b1, 2)])):
    env.post_results(tok, [{"check_id": c, "status": s, "output": "out %d" % s} for c, s in res])

b = Browser(t, env, prefix='group-')
drv, wait, base = b.drv, b.wait, b.base
css, shot, click, text_of, wait_true, wait_css = b.css, b.shot, b.click, b.text_of, b.wait_true, b.wait_css
BAD = BAD_TEXT


# [[header text, [check ids under it]], ...] in the order on screen
LAYOUT = """const out = [];
for (const tr of document.querySelectorAll('#problems tbody tr')) {
  if (tr.classList.contains('group')) out.push([tr.textContent, []]);
  else if (out.length) out[out.length - 1][1].push(Number(tr.dataset.checkId));
  else out.push([null, [Number(tr.dataset.checkId)]]);
}
return out;"""


def layout():
    return [(h, sorted(ids)) for h, ids in drv.execute_script(LAYOUT)]


def settled():
    # the agents are loaded (labels of agents known) once the agents box is drawn
    return css("#main[data-ready=overview]") and css("#agents") and "…" not in css("#agents")[0].text


drv.get(base + "/")
wait.until(lambda d: css("#token"))
css("#token")[0].send_keys(A + Keys.ENTER)
wait.until(lambda d: css("#main[data-ready=overview]"))

WANT_LABEL = [("role=web · 3 CRITICAL, 1 WARNING", sorted([c_w1a, c_w1b, c_w2, c_d1web])),
              ("(no role) · 1 CRITICAL", [c_b1]),
              ("role=db · 1 WARNING", [c_d1])]
drv.get(base + "/?group=label:role")
wait_true(lambda: settled() and layout() == WANT_LABEL, "?group=label:role: three groups, worst first, "
          "the right counts and rows (a check's own label over its agent's), \"(no role)\" for the rest")
t.eq(layout(), WANT_LABEL, "the label grouping as on screen")
t.eq(Select(css("#f-group")[0]).first_selected_option.get_attribute("value"), "label:role",
     "the Group control shows the URL's grouping")
opts_v = [o.get_attribute("value") for o in css("#f-group option")]
t.ok(opts_v[:2] == ["", "agent"] and "label:role" in opts_v, "the Group control offers the label keys present", opts_v)
for h, ids in layout():
    m = re.findall(r"(\d+) (CRITICAL|WARNING|UNKNOWN)", h)
    t.eq(sum(int(n) for n, _ in m), len(ids), "the header %r counts the rows under it" % h)
t.ok(not BAD.search(css("#main")[0].text), "no null/undefined/NaN/[object in the grouped page")
t.ok(c_ok not in [i for _, ids in layout() for i in ids], "an OK check is not listed")

WANT_AGENT = [("bare · 1 CRITICAL", [c_b1]),
              ("db01 · 1 CRITICAL, 1 WARNING", sorted([c_d1, c_d1web])),
              ("web01 · 1 CRITICAL, 1 WARNING", sorted([c_w1a, c_w1b])),
              ("web02 · 1 CRITICAL", [c_w2])]
drv.get(base + "/?group=agent")
wait_true(lambda: settled() and layout() == WANT_AGENT, "?group=agent: one group per agent, by name among equals")
t.eq(layout(), WANT_AGENT, "the agent grouping as on screen")
t.ok(not BAD.search(css("#main")[0].text), "no null/undefined/NaN/[object grouped by agent")

# the control: back to none and to label:role again, kept in the URL
Select(css("#f-group")[0]).select_by_value("")
wait_true(lambda: not css("#problems tr.group") and len(css("#problems tbody tr")) == 6,
          "Group none: today's flat list of 6 problems")
t.ok("group=" not in drv.current_url, "no grouping leaves no ?group in the URL", drv.current_url)
Select(css("#f-group")[0]).select_by_value("label:role")
wait_true(lambda: layout() == WANT_LABEL, "choosing label role groups again")
t.ok("group=label%3Arole" in drv.current_url or "group=label:role" in drv.current_url,
     "the grouping is kept in the URL", drv.current_url)

# a filter narrows the groups: their counts follow the rows shown
drv.get(base + "/?group=label:role&state=WARNING")
wait_true(lambda: settled() and layout() == [("role=db · 1 WARNING", [c_d1]), ("role=web · 1 WARNING", [c_w1b])],
          "with ?state=WARNING the groups count only the WARNING rows shown (equals by name)")

# bare's check turns WARNING: the "(no role)" group is as bad as role=db now
env.post_results(b1tok, [{"check_id": c_b1, "status": 1, "output": "ntp drift"}])
drv.get(base + "/?group=label:role")
wait_true(lambda: settled() and ("(no role) · 1 WARNING", [c_b1]) in layout(), "a WARNING-only \"(no role)\" group")
t.eq(layout()[1:], [("role=db · 1 WARNING", [c_d1]), ("(no role) · 1 WARNING", [c_b1])],
     "among equally bad groups \"(no role)\" comes last")
t.done()
