"""End-to-end: browser sessions (/api/v1/session) - cookie flags, the
cookie standing for its token's role, the JSON-only rule for writes, idle
expiry and the absolute lifetime, a duplicated cookie refused, failed
logins logged, logout, wrong tokens, revocation; accepted by a second
serverd; under TLS the __Host- cookie."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Server, Tap, wait_for  # noqa: E402

t = Tap()
env = Env(conf={"session_idle_s": "600", "session_max_s": "3600"})
A = env.admin
V = env.api("POST", "/api/v1/tokens", A, {"name": "viewer", "role": "viewer"})[1]["token"]
aid, atok = env.make_agent("web01")
cid = env.make_check(aid, "load", max_attempts=1)
env.post_results(atok, [{"check_id": cid, "status": 2, "output": "high"}])
b = Server(env.tmp, env.cluster, name="serverd-b").start()


def login(token, server=None):
    s = server or env.server
    return s.request("POST", "/api/v1/session", body={"token": token}, fresh=True)


def cookie_of(h):
    return h["set-cookie"].split(";")[0]


st, body, h = login(V)
t.eq(st, 204, "a viewer token logs in: 204")
sc = h.get("set-cookie", "")
parts = [p.strip() for p in sc.split(";")]
t.ok(parts[0].startswith("custos_session=") and len(parts[0]) == len("custos_session=") + 64,
     "Set-Cookie custos_session=<64 hex>", sc)
t.ok("HttpOnly" in parts and "SameSite=Strict" in parts and "Path=/" in parts,
     "HttpOnly; SameSite=Strict; Path=/", sc)
t.ok("Secure" not in parts, "no Secure without TLS", sc)
t.eq(h.get("cache-control"), "no-store", "the answer is not cached")
VC = {"Cookie": cookie_of(h)}

st, who, _ = env.api("GET", "/api/v1/session", headers=VC)
t.eq((st, who.get("name"), who.get("role")), (200, "viewer", "viewer"), "GET session: who I am")
st, s, _ = env.api("GET", "/api/v1/status", headers=VC)
t.eq(st, 200, "the cookie reads /status")
st, s, _ = b.request("GET", "/api/v1/status", headers=VC)
t.eq(st, 200, "another serverd accepts the same cookie (sessions live in PostgreSQL)")
st, e, _ = env.api("POST", "/api/v1/checks/%d/ack" % cid, body={"comment": "x"}, headers=VC)
t.eq(st, 403, "a viewer's cookie cannot write")
st, e, _ = env.api("GET", "/api/v1/tokens", headers=VC)
t.eq(st, 403, "nor list tokens")
st, e, _ = env.api("GET", "/api/v1/agent/self", headers=VC)
t.eq(st, 403, "nor use the agent protocol")
nrows = env.cluster.psql("SELECT count(*) FROM sessions")[0][0]
t.eq(nrows, "1", "one session row")
h_stored = env.cluster.psql("SELECT encode(id_hash, 'hex') FROM sessions")[0][0]
t.ok(h_stored != VC["Cookie"].split("=")[1], "only the cookie's hash is stored")

# wrong tokens
for tok, why in [("0" * 64, "an unknown token"), (atok, "an agent's token")]:
    st, e, h = login(tok)
    t.ok(st == 401 and "set-cookie" not in h, "%s opens no session" % why, (st, e))
# logged at warning (there is no notice level) with the client's address
fails = [x for x in env.server.log().splitlines() if "failed login" in x]
t.ok(len(fails) == 2 and all(" warning: " in x and "from 127.0.0.1" in x for x in fails) and
     "unknown token" in fails[0] and "agent's token" in fails[1] and
     not any(atok in x for x in fails), "each failed login logged as a warning, with the address",
     fails)
st, e, _ = env.server.request("POST", "/api/v1/session", body={"tok": V}, fresh=True)
t.eq(st, 422, "an unknown member: 422")
st, e, _ = env.server.request("POST", "/api/v1/session", raw=b"token=abc",
                              headers={"Content-Type": "application/x-www-form-urlencoded"},
                              fresh=True)
t.eq(st, 400, "a form post is not JSON: 400")
st, e, _ = env.server.request("POST", "/api/v1/session", raw=('{"token": "%s"}' % V).encode(),
                              headers={"Content-Type": "text/plain"}, fresh=True)
t.eq(st, 415, "nor JSON sent as text/plain (a cross-site form can): 415")
t.eq(env.cluster.psql("SELECT count(*) FROM sessions")[0][0], "1", "refused logins stored nothing")
st, e, _ = env.api("GET", "/api/v1/status", headers={"Cookie": "custos_session=" + "ab" * 32})
t.eq(st, 401, "an unknown session: 401")

# admin: writes need Content-Type: application/json
st, body, h = login(A)
AC = {"Cookie": cookie_of(h)}
st, e, _ = env.api("POST", "/api/v1/checks/%d/ack" % cid, raw=b"comment=x",
                   headers=dict(AC, **{"Content-Type": "application/x-www-form-urlencoded"}))
t.ok(st == 403 and "application/json" in e["error"], "a form-encoded write with a cookie: 403", e)
st, e, _ = env.api("POST", "/api/v1/checks/%d/ack" % cid, raw=b'{"comment": "x"}',
                   headers=dict(AC, **{"Content-Type": "text/plain"}))
t.eq(st, 403, "a text/plain write with a cookie: 403")
st, e, _ = env.api("DELETE", "/api/v1/checks/%d/ack" % cid, headers=AC)
t.eq(st, 403, "a DELETE with a cookie and no JSON content type: 403")
st, c, _ = env.api("GET", "/api/v1/checks/%d" % cid, A)
t.eq(c["state"]["acknowledged"], False, "the refused writes changed nothing")
st, e, _ = env.api("POST", "/api/v1/checks/%d/ack" % cid, body={"comment": "on it"}, headers=AC)
t.ok(st in (200, 201, 204), "the same write as JSON with the admin cookie works", (st, e))
st, c, _ = env.api("GET", "/api/v1/checks/%d" % cid, A)
t.eq(c["state"]["acknowledged"], True, "acknowledged")

# idle expiry (the clock is moved in the database, not waited for)
env.cluster.psql("UPDATE sessions SET last_seen_at = now() - interval '601 seconds'")
st, e, _ = env.api("GET", "/api/v1/status", headers=VC)
t.eq(st, 401, "a session idle longer than session_idle_s is refused")
st, body, h = login(V)
t.eq(env.cluster.psql("SELECT count(*) FROM sessions")[0][0], "1",
     "the next login deleted the expired sessions")
VC = {"Cookie": cookie_of(h)}
env.cluster.psql("UPDATE sessions SET last_seen_at = now() - interval '590 seconds'")
st, e, _ = env.api("GET", "/api/v1/status", headers=VC)
t.eq(st, 200, "a session used within session_idle_s still works")
st, e, _ = env.api("GET", "/api/v1/status", headers=VC)
t.eq(st, 200, "and its use refreshed it")

# the absolute lifetime: session_max_s (3600 here) after its login a
# session ends, however recently it was used
env.cluster.psql("UPDATE sessions SET created_at = now() - interval '3500 seconds'")
st, e, _ = env.api("GET", "/api/v1/status", headers=VC)
t.eq(st, 200, "a session in use and younger than session_max_s works")
env.cluster.psql("UPDATE sessions SET created_at = now() - interval '3601 seconds'")
st, e, _ = env.api("GET", "/api/v1/status", headers=VC)
t.eq(st, 401, "one older than session_max_s is refused though used a moment ago")
st, body, h = login(V)
t.eq(env.cluster.psql("SELECT count(*) FROM sessions")[0][0], "1",
     "the next login deleted it")
VC = {"Cookie": cookie_of(h)}

# the cookie twice (a planted one beside the real one): refused, whichever
# comes first, whether in one Cookie header or in two
other = "custos_session=" + "cd" * 32
import socket  # noqa: E402


def raw_status(cookie_headers):
    with socket.create_connection(("127.0.0.1", env.server.port), timeout=10) as sk:
        sk.sendall(("GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                    "".join("Cookie: %s\r\n" % c for c in cookie_headers) +
                    "Connection: close\r\n\r\n").encode())
        data = b""
        while True:
            d = sk.recv(65536)
            if not d:
                break
            data += d
    return int(data.split(b" ", 2)[1])


for hdrs, why in [
        (["%s; %s" % (VC["Cookie"], other)], "the real one first"),
        (["%s; %s" % (other, VC["Cookie"])], "the real one second"),
        (["%s; %s" % (VC["Cookie"], VC["Cookie"])], "the real one twice"),
        ([VC["Cookie"], other], "in two Cookie headers")]:
    t.eq(raw_status(hdrs), 401, "the session cookie sent twice (%s): 401" % why)
t.ok("sent the session cookie twice" in env.server.log(), "and logged")
t.eq(raw_status(["theme=dark; %s; lang=en" % VC["Cookie"]]), 200,
     "once, among other cookies: 200")
t.eq(raw_status(["theme=dark", VC["Cookie"]]), 200, "once, in a second Cookie header: 200")

# logout
st, e, h = env.api("DELETE", "/api/v1/session", headers=VC)
t.eq(st, 204, "logout: 204")
t.ok("Max-Age=0" in h.get("set-cookie", ""), "the cookie is cleared", h.get("set-cookie"))
st, e, _ = env.api("GET", "/api/v1/status", headers=VC)
t.eq(st, 401, "the logged-out cookie is refused")
st, e, _ = b.request("GET", "/api/v1/status", headers=VC)
t.eq(st, 401, "on the other serverd too")

# revoking the token ends its sessions
st, body, h = login(V)
VC = {"Cookie": cookie_of(h)}
st, lst, _ = env.api("GET", "/api/v1/tokens", A)
vid = [i["id"] for i in lst["items"] if i["name"] == "viewer"][0]
env.api("DELETE", "/api/v1/tokens/%d" % vid, A)
st, e, _ = env.api("GET", "/api/v1/status", headers=VC)
t.eq(st, 401, "revoking the token ends its sessions at once")
st, e, _ = b.request("GET", "/api/v1/status", headers=VC)
t.eq(st, 401, "on every serverd")

# /status answers from memory while nothing changed; a change through
# another serverd reaches it through NOTIFY custos_stream
st, s1, _ = b.request("GET", "/api/v1/status", A)
st, s2, _ = b.request("GET", "/api/v1/status", A)
t.ok(s1["counts"] == s2["counts"] and s2["server_time"] >= s1["server_time"],
     "B answers /status twice alike, with a fresh server_time")
env.post_results(atok, [{"check_id": cid, "status": 0, "output": "fine"}])
t.ok(wait_for(lambda: b.request("GET", "/api/v1/status", A)[1]["counts"]["OK"] ==
              s1["counts"]["OK"] + 1, 5), "a recovery through A shows in B's /status")
st, s3, _ = env.api("GET", "/api/v1/status", A)
t.eq(s3["counts"]["OK"], s1["counts"]["OK"] + 1, "and in A's at once")

# behind a proxy that ends TLS (public_url https://): the __Host- cookie too
px = Server(env.tmp, env.cluster, name="serverd-proxied",
            conf={"public_url": "https://custos.example.test"}).start()
st, _, h = px.request("POST", "/api/v1/session", body={"token": A}, fresh=True)
sc = h.get("set-cookie", "")
t.ok(st == 204 and sc.startswith("__Host-custos_session=") and "; Secure" in sc,
     "public_url https:// behind a proxy: __Host-custos_session, Secure", sc)
st, _, _ = px.request("GET", "/api/v1/session", headers={"Cookie": sc.split(";")[0]}, fresh=True)
t.eq(st, 200, "and read back")
t.eq(px.stop(), 0, "that serverd exits cleanly")

# TLS: the cookie is Secure
tls = Server(env.tmp, env.cluster, name="serverd-tls", conf={
    "tls_cert": os.path.join(env.tmp, "c.pem"), "tls_key": os.path.join(env.tmp, "k.pem")})
import subprocess  # noqa: E402
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=127.0.0.1", "-keyout", os.path.join(env.tmp, "k.pem"),
                "-out", os.path.join(env.tmp, "c.pem")], capture_output=True, check=True)
tls.start(wait=False)
import http.client  # noqa: E402
import json  # noqa: E402
import ssl  # noqa: E402
from harness import wait_for  # noqa: E402


def tls_login():
    try:
        c = http.client.HTTPSConnection("127.0.0.1", tls.port, timeout=10,
                                        context=ssl._create_unverified_context())
        c.request("POST", "/api/v1/session", body=json.dumps({"token": A}),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        return r.status, r.getheader("Set-Cookie")
    except OSError:
        return None


res = wait_for(tls_login, 30)
t.ok(res and res[0] == 204 and "; Secure" in res[1], "under TLS the cookie is Secure", res)
parts = [p.strip() for p in (res[1] if res else "").split(";")]
t.ok(parts[0].startswith("__Host-custos_session=") and "Path=/" in parts and
     not any(p.lower().startswith("domain") for p in parts),
     "named __Host-custos_session, Path=/, no Domain (a browser keeps it only so)", res)


def tls_get(path, cookie):
    c = http.client.HTTPSConnection("127.0.0.1", tls.port, timeout=10,
                                    context=ssl._create_unverified_context())
    c.request("GET", path, headers={"Cookie": cookie})
    r = c.getresponse()
    r.read()
    c.close()
    return r.status


host_cookie = parts[0]
t.eq(tls_get("/api/v1/session", host_cookie), 200, "the __Host- cookie opens the session")
t.eq(tls_get("/api/v1/session", host_cookie.replace("__Host-", "")), 401,
     "the same value under the plain name is not read under TLS")
t.eq(tls_get("/api/v1/session", "%s; %s" % (host_cookie, host_cookie)), 401,
     "the __Host- cookie twice: 401")
t.done()
