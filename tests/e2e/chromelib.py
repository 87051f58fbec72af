"""chromelib.py - the dashboard suites' one headless Chromium: Debian's
chromium and chromium-driver, driven by python3-selenium, against a real
serverd (harness.Env). A suite that imports it is skipped (harness.need)
where they are missing, and fails where CI says they must be there.

    b = Browser(t, env)            # t: harness.Tap; env: harness.Env
    b.login(token)                 # the login form, then the overview ready
    b.get("/checks/7"); b.css("#check-state"); b.wait_true(fn, "desc")

Waits are for conditions in the page (WebDriverWait), never for time; a
failed wait saves a screenshot into tests/e2e/screenshots/ (build tree)."""
import atexit
import importlib.util
import os
import re
import time

import harness
from harness import BUILDDIR

harness.need(os.path.exists("/usr/bin/chromium") and os.path.exists("/usr/bin/chromedriver")
             and importlib.util.find_spec("selenium") is not None,
             "Chromium, chromedriver or python3-selenium", "scripts/install-deps --test")

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

SHOTS = os.path.join(BUILDDIR, "tests", "e2e", "screenshots")
# what no page may ever show (issue: "null" on every unacknowledged check page;
# "[object HTMLElement]"; a date that did not parse)
BAD_TEXT = re.compile(r"\bnull\b|\bundefined\b|\bNaN\b|\[object|Invalid Date")
RETRY = (StaleElementReferenceException, IndexError)
# how often a wait looks again: selenium's default, half a second, was most
# of the dashboard suites' time (a page is seldom ready at the first look,
# and every page of every mode and role paid up to 0.5 s for it)
POLL_S = 0.05


def options(width=1280, height=900):
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=%d,%d" % (width, height), "--lang=en-US"):
        opts.add_argument(a)
    return opts


def chrome(width=1280, height=900):
    """A bare driver (quit at exit), for a bench or a second browser"""
    drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options(width, height))
    atexit.register(drv.quit)
    return drv


class Browser:
    def __init__(self, t, env, timeout=20, prefix=""):
        self.t, self.env, self.prefix = t, env, prefix
        self.base = "http://127.0.0.1:%d" % env.server.port
        self.drv = chrome()
        self.wait = WebDriverWait(self.drv, timeout, poll_frequency=POLL_S,
                                  ignored_exceptions=RETRY)
        os.makedirs(SHOTS, exist_ok=True)

    # ---- finding and reading ------------------------------------------------
    def css(self, sel):
        return self.drv.find_elements(By.CSS_SELECTOR, sel)

    def click(self, sel):
        """Clicks the first element matching sel. A live update may replace
        the element between finding and clicking it: then it is found again."""
        self.wait.until(lambda d: self.css(sel)[0].click() or True)

    def text_of(self, sel):
        """The text of the first element matching sel, found again when a
        live update replaced it between finding and reading"""
        last = None
        for _ in range(100):
            try:
                return self.css(sel)[0].text
            except RETRY as e:
                last = e
                time.sleep(0.02)
        raise last

    def js(self, script, *args):
        return self.drv.execute_script(script, *args)

    def get(self, path):
        self.drv.get(self.base + path)

    # ---- waiting, as a test ----------------------------------------------------
    def shot(self, name):
        self.drv.save_screenshot(os.path.join(SHOTS, self.prefix + name + ".png"))

    def wait_true(self, fn, desc, timeout=None):
        try:
            w = self.wait if timeout is None else WebDriverWait(
                self.drv, timeout, poll_frequency=POLL_S, ignored_exceptions=RETRY)
            w.until(lambda d: fn())
            return self.t.ok(True, desc)
        except Exception as e:  # noqa: BLE001
            self.shot("failed-" + re.sub(r"\W+", "_", desc)[:40])
            try:
                page = self.drv.page_source[-1500:]
            except Exception:  # noqa: BLE001
                page = ""
            return self.t.ok(False, desc, "%s\n%s" % (e.__class__.__name__, page))

    def wait_css(self, sel, desc, timeout=None):
        return self.wait_true(lambda: self.css(sel), desc, timeout)

    # ---- the page's own states ------------------------------------------------
    def login(self, token, ready="overview"):
        """A fresh login with token (no cookie left over), then the
        overview (or ready: the view named in #main's data-ready) drawn"""
        self.drv.delete_all_cookies()
        self.get("/")
        self.wait.until(lambda d: self.css("#token"))
        f = self.css("#token")[0]
        f.clear()
        f.send_keys(token + Keys.ENTER)
        if ready:
            self.wait.until(lambda d: self.css("#main[data-ready=%s]" % ready))

    def mode(self, name):
        """light, dark or phone (light at a phone's width)"""
        self.drv.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [
            {"name": "prefers-color-scheme", "value": "dark" if name == "dark" else "light"}]})
        if name == "phone":
            self.drv.set_window_size(390, 844)
        else:
            self.drv.set_window_size(1280, 900)

    def bad_hits(self):
        """each place the page's text shows what no page may (BAD_TEXT),
        with a little of its context"""
        text = self.js("return document.body.innerText")
        return [text[max(0, m.start() - 40):m.end() + 20] for m in BAD_TEXT.finditer(text)]

    def clean_text(self, desc):
        """a test: the page shows no null, undefined, NaN, [object or Invalid Date"""
        return self.t.eq(self.bad_hits(), [], desc)
