#!/usr/bin/python3
"""test_alert_sighup.py - a SIGHUP in the middle of an SMTP session is safe:
a sender holds its configuration snapshot from its lease to its outcome, so
reloads during the session never free what the session reads (smtp_from,
the AUTH password, the timeouts). The sink holds the mail after its data
while the configuration is changed and re-read several times; released, the
mail is delivered as the old snapshot said, the next one as the new one says.
A reload with settings a channel refuses (pushover_url not http(s), an
smtp_from without an address) is refused and the running one kept.
Under scripts/check serverd runs with ASan+UBSan (TSan with --tsan): a
use-after-free or a race shows in its log, and its exit status at SIGTERM."""
import re
import signal

from alertlib import AlertEnv
from harness import Tap, wait_for

t = Tap()
e = AlertEnv(auth="custos:s3cret", conf={"smtp_from": "custos-0@example.test"})


def set_conf(**kv):
    lines = []
    with open(e.server.conf_path) as f:
        for line in f:
            if line.partition(" = ")[0] not in kv:
                lines.append(line)
    lines += ["%s = %s\n" % (k, v) for k, v in kv.items()]
    with open(e.server.conf_path, "w") as f:
        f.writelines(lines)


def reloads():
    with open(e.server.log_path, errors="replace") as f:
        return len(re.findall(r"reload: configuration re-read", f.read()))


e.sink.hold()
c = e.check("sshd", max_attempts=1)
e.post(c, 2, "gone")
t.ok(wait_for(lambda: e.sink.held() >= 1, 10), "a mail is held in its SMTP session (after AUTH and data)")
for i in range(1, 6):
    set_conf(smtp_from="custos-%d@example.test" % i, smtp_password="s3cret")
    e.server.proc.send_signal(signal.SIGHUP)
    t.ok(wait_for(lambda: reloads() >= i, 10), "SIGHUP %d re-read during the session" % i)
e.sink.release()
m = e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/sshd is CRITICAL", 10)
t.ok(m, "released: the mail is delivered")
t.eq(m[0]["mail_from"] if m else None, "custos-0@example.test", "... as the snapshot it started with said")
t.ok(m and m[0]["auth"], "authenticated")
d = e.check("disk", max_attempts=1)
e.post(d, 2)
m = e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/disk is CRITICAL", 10)
t.eq(m[0]["mail_from"] if m else None, "custos-5@example.test", "the next mail uses the new configuration")


# a channel refuses settings it could never send with (notify/channel.h,
# check_conf): the reload is refused and the running configuration kept
def refused(what):
    with open(e.server.log_path, errors="replace") as f:
        return len(re.findall(r"reload: .*%s.*keeping the running configuration" % what, f.read()))


set_conf(pushover_url="ftp://pushover.example.test/1/messages.json", smtp_from="custos-6@example.test")
e.server.proc.send_signal(signal.SIGHUP)
t.ok(wait_for(lambda: refused("pushover_url") >= 1, 10), "a pushover_url that is not http(s) is refused")
set_conf(pushover_url=e.po.url, smtp_from="nobody")
e.server.proc.send_signal(signal.SIGHUP)
t.ok(wait_for(lambda: refused("smtp_from") >= 1, 10), "an smtp_from without an address is refused")
x = e.check("swap", max_attempts=1)
e.post(x, 2)
m = e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/swap is CRITICAL", 10)
t.eq(m[0]["mail_from"] if m else None, "custos-5@example.test", "the running configuration is kept")
rc = e.server.stop()
log = open(e.server.log_path, errors="replace").read()
t.eq(rc, 0, "serverd exits 0 at SIGTERM (sanitizers found nothing at exit)")
bad = [x for x in ("AddressSanitizer", "LeakSanitizer", "ThreadSanitizer", "runtime error:")
       if x in log]
t.eq(bad, [], "no sanitizer report in serverd's log")
t.done()
