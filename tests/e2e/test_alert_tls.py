#!/usr/bin/python3
"""test_alert_tls.py - email through a relay that requires STARTTLS and
AUTH (aiosmtpd with a self-signed certificate made by openssl): the
certificate is refused while smtp_verify_cert is on, a wrong password is
refused, and after a SIGHUP with the right settings the waiting message is
delivered once, over TLS, authenticated. smtp_starttls = require against a
relay without STARTTLS never sends in clear."""
import os
import signal
import subprocess
import time

from alertlib import AlertEnv, SmtpSink
from harness import Tap, wait_for

t = Tap()
e = AlertEnv(starttls=True, auth="custos:s3cret",
             conf={"smtp_verify_cert": "true", "smtp_password": "wrong"})
A = e.admin


def row(check_id):
    ns = e.notifications(check_id=check_id, channel="email")
    return ns[0] if ns else {}


def set_conf(**kv):
    lines = []
    with open(e.server.conf_path) as f:
        for line in f:
            k = line.partition(" = ")[0]
            if k not in kv:
                lines.append(line)
    for k, v in kv.items():
        lines.append("%s = %s\n" % (k, v))
    with open(e.server.conf_path, "w") as f:
        f.writelines(lines)
    e.server.proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)


c = e.check("sshd", max_attempts=1)
e.post(c, 2, "gone")
t.ok(wait_for(lambda: row(c).get("last_error"), 8), "an attempt was made (and its outcome recorded)")
err = row(c).get("last_error") or ""
t.ok("certif" in err.lower(), "self-signed certificate refused while smtp_verify_cert is on", err)
t.eq(e.sink.messages(), [], "nothing delivered")

set_conf(smtp_verify_cert="false")
t.ok(wait_for(lambda: "certif" not in (row(c).get("last_error") or "certif"), 5),
     "SIGHUP: retried at once with the new settings", row(c))
err = row(c).get("last_error") or ""
t.ok(row(c).get("status") in ("pending", "sending"), "wrong password: not delivered, still pending", row(c))
t.ok("535" in err or "auth" in err.lower(), "the wrong password is the reason", err)
t.eq(e.sink.messages(), [], "nothing delivered with the wrong password")

set_conf(smtp_password="s3cret")
m = e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/sshd is CRITICAL", 20)
t.ok(m, "right password: delivered", row(c))
if m:
    t.eq((m[0]["tls"], m[0]["auth"]), (True, True), "over STARTTLS, authenticated")
time.sleep(1)
t.eq(len(e.sink.messages()), 1, "exactly once")
t.eq(row(c).get("status"), "sent", "row sent")

# require: a relay without STARTTLS is not used
plain = SmtpSink(e.probe_tmp, name="plain").start()
set_conf(smtp_port=str(plain.port), smtp_user="", smtp_password="", smtp_starttls="require")
d = e.check("disk", max_attempts=1)
e.post(d, 2)
t.ok(wait_for(lambda: row(d).get("last_error"), 8), "an attempt against a relay without STARTTLS")
t.eq((row(d).get("status") in ("pending", "sending"), plain.messages()), (True, []),
     "smtp_starttls=require never sends in clear")
set_conf(smtp_starttls="try")
t.ok(wait_for(lambda: plain.messages(), 20), "smtp_starttls=try falls back to plain text")
plain.stop()

# smtp_ca_file: the relay's own (self-signed) certificate as the trust anchor,
# verification on: delivered over verified TLS; a CA file that does not sign
# it is refused
bad_ca = os.path.join(e.probe_tmp, "other-ca.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                bad_ca + ".key", "-out", bad_ca, "-days", "2", "-subj", "/CN=other"],
               check=True, capture_output=True)
set_conf(smtp_port=str(e.sink.port), smtp_user="custos", smtp_password="s3cret",
         smtp_starttls="require", smtp_verify_cert="true", smtp_ca_file=bad_ca)
f = e.check("ntp", max_attempts=1)
e.post(f, 2)
t.ok(wait_for(lambda: "certif" in (row(f).get("last_error") or "").lower(), 8),
     "smtp_ca_file that does not sign the relay's certificate: refused", row(f))
set_conf(smtp_ca_file=os.path.join(e.sink.dir, "sink-cert.pem"))
m = e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/ntp is CRITICAL", 20)
t.ok(m and m[0]["tls"], "smtp_ca_file with the relay's CA: delivered over verified TLS", row(f))
t.done()
