#!/usr/bin/python3
"""test_ack_link.py - the acknowledgement link of a problem mail: the mail
carries it, GET shows a confirm page (check, person; hostile output escaped),
POST acknowledges as the person (the ACKNOWLEDGEMENT event's `by`), the link
works once (then 410), an expired one is 410, a bogus one 404, a check no
longer in trouble 409; only the token's hash is stored."""
import hashlib
import re

from alertlib import AlertEnv
from harness import Tap, wait_for

t = Tap()
e = AlertEnv()
A = e.admin
LINK = re.compile(r"^Acknowledge: (\S+)/ack/([A-Za-z0-9_-]{43})\r?$", re.M)
HOSTILE = "<script>alert(1)</script> & \"quoted\""


def mail_link(subject):
    m = e.wait_mail(lambda m: m["subject"] == subject)
    if not m:
        return None, None
    body = e.sink.body(m[-1])
    g = LINK.search(body)
    return (g.group(1), g.group(2)) if g else (None, body)


def page(method, token, **kw):
    st, body, h = e.api(method, "/ack/" + token, **kw)
    text = body.decode() if isinstance(body, bytes) else str(body)
    return st, text, h


def sql(q):
    return e.cluster.psql(q)


c = e.check("sshd")
e.post(c, 2, HOSTILE)
base, token = mail_link("[custos] PROBLEM web01/sshd is CRITICAL")
t.ok(token is not None, "the PROBLEM mail carries an Acknowledge: link", base)
if token is None:
    t.bail("no link in the mail")
t.eq(base, "http://127.0.0.1:%d" % e.server.port, "the link starts with public_url")
rows = sql("SELECT encode(token_hash, 'hex'), check_id, contact_id, used_at IS NULL,"
           " extract(epoch FROM expires_at - created_at)::int FROM ack_links")
t.eq(len(rows), 1, "one link row")
t.eq(rows[0][0], hashlib.sha256(token.encode()).hexdigest(), "only the token's SHA-256 is stored")
t.eq(rows[0][1:4], [str(c), str(e.contact_id), "t"], "the row: check, person, unused")
t.eq(rows[0][4], "86400", "the link expires 24 h after it was made")

# ---- the confirm page ------------------------------------------------------------
st, text, h = page("GET", token)
t.eq(st, 200, "GET /ack/<token> -> 200")
t.ok(h.get("content-type", "").startswith("text/html"), "an HTML page", h.get("content-type"))
t.ok("web01/sshd" in text and "oncall" in text and "CRITICAL" in text,
     "it names the check, its state and the person", text)
t.ok("<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;" in text,
     "a hostile output is escaped", text)
t.ok('<form method="post" action="/ack/%s">' % token in text, "a form POSTs to the link", text)
csp = h.get("content-security-policy", "")
t.ok("default-src 'none'" in csp and "form-action 'self'" in csp, "CSP: no script, forms only here", csp)
t.eq(h.get("referrer-policy"), "no-referrer", "the token is never handed on as a referrer")
st, chk, _ = e.api("GET", "/api/v1/checks/%d" % c, A)
t.eq(chk["state"]["acknowledged"], False, "GET acknowledges nothing (a link preview is harmless)")

# ---- the acknowledgement ----------------------------------------------------------
st, text, _ = page("POST", token, raw=b"", headers={"Content-Type": "application/x-www-form-urlencoded"})
t.eq(st, 200, "POST /ack/<token> -> 200")
t.ok("Acknowledged" in text and "oncall" in text, "the page says acknowledged, by whom", text)
st, chk, _ = e.api("GET", "/api/v1/checks/%d" % c, A)
t.eq(chk["state"]["acknowledged"], True, "the check is acknowledged")
acks = e.events(c, "ACKNOWLEDGEMENT")
t.eq(len(acks), 1, "one ACKNOWLEDGEMENT event")
if acks:
    t.eq(acks[0]["detail"].get("by"), "oncall", "its `by` is the person of the link")
    t.eq(acks[0]["detail"].get("comment"), "acknowledged from the mail link", "its comment says how")
t.ok(e.wait_mail(lambda m: m["subject"] == "[custos] ACKNOWLEDGED web01/sshd is CRITICAL"),
     "the ACKNOWLEDGED mail goes out as for any acknowledgement")
rows = sql("SELECT used_at IS NOT NULL, used_from FROM ack_links")
t.eq(rows, [["t", "127.0.0.1"]], "the link is marked used, with the address")

# ---- once only ----------------------------------------------------------------------
for method in ("GET", "POST"):
    st, text, _ = page(method, token, raw=b"" if method == "POST" else None)
    t.eq(st, 410, "%s of a used link -> 410" % method)
t.eq(len(e.events(c, "ACKNOWLEDGEMENT")), 1, "no second acknowledgement")

# ---- no link in an ACKNOWLEDGED or RECOVERY mail -------------------------------------
m = e.wait_mail(lambda m: m["subject"] == "[custos] ACKNOWLEDGED web01/sshd is CRITICAL")
t.ok(m and "Acknowledge:" not in e.sink.body(m[0]), "an ACKNOWLEDGED mail has no link")

# ---- expired ---------------------------------------------------------------------------
c2 = e.check("disk")
e.post(c2, 1, "disk 91%")
_, tok2 = mail_link("[custos] PROBLEM web01/disk is WARNING")
t.ok(tok2, "a second problem, a second link")
sql("UPDATE ack_links SET expires_at = now() - interval '1 second'"
    " WHERE token_hash = sha256(convert_to('%s', 'UTF8'))" % tok2)
for method in ("GET", "POST"):
    st, text, _ = page(method, tok2, raw=b"" if method == "POST" else None)
    t.ok(st == 410 and "expired" in text, "%s of an expired link -> 410" % method, (st, text))
st, chk, _ = e.api("GET", "/api/v1/checks/%d" % c2, A)
t.eq(chk["state"]["acknowledged"], False, "an expired link acknowledges nothing")

# ---- no longer a problem ------------------------------------------------------------------
c3 = e.check("ntp")
e.post(c3, 2, "ntp off")
_, tok3 = mail_link("[custos] PROBLEM web01/ntp is CRITICAL")
e.post(c3, 0, "ntp fine")
t.ok(e.wait_mail(lambda m: m["subject"].startswith("[custos] RECOVERY web01/ntp")), "recovered")
for method in ("GET", "POST"):
    st, text, _ = page(method, tok3, raw=b"" if method == "POST" else None)
    t.ok(st == 409 and "no problem to acknowledge" in text, "%s on a recovered check -> 409" % method,
         (st, text))
rows = sql("SELECT used_at IS NULL FROM ack_links WHERE token_hash = sha256(convert_to('%s', 'UTF8'))"
           % tok3)
t.eq(rows, [["t"]], "the refused POST leaves the link unused")

# ---- bogus ------------------------------------------------------------------------------
for bogus in ("A" * 43, "short", "A" * 42 + "!", "A" * 44):
    for method in ("GET", "POST"):
        st, text, _ = page(method, bogus, raw=b"" if method == "POST" else None)
        t.eq(st, 404, "%s /ack/%s -> 404" % (method, bogus[:12]))

t.eq(e.sanitizer_reports(), [], "no sanitizer report")
t.done()
