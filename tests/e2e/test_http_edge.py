#!/usr/bin/python3
"""test_http_edge.py - the HTTP edge under hostile load (serverd/http/edge.h).

Three servers on one cluster, each with small limits so the suite is quick:
  pool   max_connections 24, 6 of them reserved: slow unauthenticated
         clients flood it, and an agent's post and an admin's request still
         get through; streams capped per token (a viewer cannot take the
         admin's slot) and a closed stream's slot back at once, not at its
         heartbeat (30 s here).
  proxy  request_timeout_s 2, 127.0.0.1 a trusted proxy with
         max_connections_per_ip 2: a client sending one header line every
         0.5 s is cut at the deadline (408); the cap applies to the address
         X-Forwarded-For names, never to a spoofed entry left of it.
  tls    TLS 1.1 refused by the server, 1.2 accepted, HSTS on every answer.
Control characters: names refused (422), outputs/versions/facts escaped.
"""
import http.client
import os
import resource
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SERVERD, Env, Server, Tap, free_port, wait_for  # noqa: E402
from sselib import SSE  # noqa: E402

warnings.simplefilter("ignore", DeprecationWarning)   # ssl.TLSVersion.TLSv1_1, on purpose
t = Tap()
env = Env(conf={"max_connections": "24", "reserved_connections": "6",
                "max_connections_per_ip": "0", "request_timeout_s": "60",
                "stream_max": "4", "stream_max_per_token": "2", "stream_heartbeat_s": "30"})
A = env.admin
port = env.server.port
V = env.api("POST", "/api/v1/tokens", A, {"name": "viewer", "role": "viewer"})[1]["token"]
aid, atok = env.make_agent("web01")
cid = env.make_check(aid, "sshd", max_attempts=1)

# ---- streams: per token, and freed when the client goes ----------------------------------
v1, v2 = SSE(port, V), SSE(port, V)
t.eq((v1.status, v2.status), (200, 200), "a viewer opens two streams (stream_max_per_token = 2)")
v3 = SSE(port, V)
t.eq(v3.status, 429, "a third from the same token is refused (429)")
t.ok("stream_max_per_token" in (v3.error_body() or {}).get("error", ""), "saying why", v3.error_body())
v3.close()
a1 = SSE(port, A)
t.eq(a1.status, 200, "the admin still gets a stream: the viewer could not take every slot")
v1.close()


def viewer_again():
    x = SSE(port, V)
    if x.status == 200:
        return x
    x.close()
    return None


# the heartbeat is 30 s: only noticing the closed socket frees the slot this fast
v4 = wait_for(viewer_again, 5, 0.1)
t.ok(v4 is not None, "a closed stream's slot comes back at once, not at its heartbeat")
for s in (v2, a1, v4):
    if s:
        s.close()

# ---- the pool: slow unauthenticated clients cannot keep agents and admins out ------------
slow = []
for i in range(40):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n")   # never finished
    slow.append(s)
    time.sleep(0.005)


def alive(s):
    """Nothing to read yet: serverd only ever writes to a slow client when
    it cuts it (a 408, or just the end of the stream)."""
    s.setblocking(False)
    try:
        s.recv(1, socket.MSG_PEEK)
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        s.setblocking(True)


t.ok(wait_for(lambda: sum(alive(s) for s in slow) <= 24 - 6, 10),
     "40 slow clients hold at most max_connections - reserved_connections",
     sum(alive(s) for s in slow))
t.ok(alive(slow[-1]), "the newest slow client is kept, the oldest were closed to make room")
st, body, _ = env.api("POST", "/api/v1/check_history", atok,
                      [{"check_id": cid, "status": 0, "output": "fine"}], fresh=True)
t.ok(st == 201, "an agent's post on a new connection still succeeds", (st, body))
st, body, _ = env.api("GET", "/api/v1/agents", A, fresh=True)
t.eq(st, 200, "an admin's request on a new connection still succeeds")
keep = []
for i in range(8):   # known clients may hold the reserve
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/api/v1/agents", headers={"Authorization": "Bearer " + A})
    r = c.getresponse()
    r.read()
    keep.append((c, r.status))
t.eq([st for _, st in keep], [200] * 8, "eight kept-alive admin connections are all served")
for c, _ in keep:
    c.close()
for s in slow:
    s.close()
t.ok(env.server.proc.poll() is None, "serverd is still running")
st, m, _ = env.api("GET", "/metrics", A)
room = [ln for ln in (m if isinstance(m, str) else m.decode() if isinstance(m, bytes) else "").split("\n")
        if ln.startswith('custos_http_connections_closed_total{reason="room"}')]
t.ok(room and int(room[0].split()[-1]) >= 40 - 18, "/metrics counts the connections closed to make room",
     room)

# ---- control characters: names refused, what hosts send escaped ---------------------------
for what, path, body in (
        ("agent", "/api/v1/agents", {"name": "web\x1b[31m02"}),
        ("check", "/api/v1/checks", {"agent_id": aid, "name": "disk\u0085", "type": "load",
                                     "params": {"period": 1}}),
        ("contact", "/api/v1/contacts", {"name": "ops\x07", "email": "ops@example.org"}),
        ("token", "/api/v1/tokens", {"name": "ro\x7f", "role": "viewer"})):
    st, b, _ = env.api("POST", path, A, body)
    t.eq((st, b.get("field") if isinstance(b, dict) else b), (422, "name"),
         "a control character in a%s %s name: 422" % ("n" if what[0] == "a" else "", what))
st, b, _ = env.api("PATCH", "/api/v1/agents/%d" % aid, A, {"name": "web\r01"})
t.eq(st, 422, "... also when renaming")
out = subprocess.run([SERVERD, "-c", env.server.conf_path, "--create-token", "ops\x1b[2J",
                      "--role", "viewer"], capture_output=True, text=True)
t.ok(out.returncode == 2 and "control character" in out.stderr,
     "custos-serverd --create-token refuses one too", out.stderr)
st, b, _ = env.api("POST", "/api/v1/check_history", atok,
                   [{"check_id": cid, "status": 1, "output": "disk\tfull\n\x1b[2J\rok\u009b",
                     "perfdata": "x=1\x1b"}])
t.eq(st, 201, "an output with control characters is accepted")
st, c, _ = env.api("GET", "/api/v1/checks/%d" % cid, A)
t.eq((c.get("state") or {}).get("output"), "disk\tfull\n\\u001b[2J\\u000dok\\u009b",
     "stored escaped as \\u00XX, newline and tab kept")
t.eq((c.get("state") or {}).get("perfdata"), "x=1\\u001b", "perfdata escaped too")
st, b, _ = env.api("PUT", "/api/v1/agent/self/checkout", atok,
                   {"version": "1.0\x1b[0m", "facts": {"os\x07": "deb\u009bian", "n": [1, "\x1b"]}})
t.eq(st, 200, "a checkout with control characters is accepted")
st, b, _ = env.api("GET", "/api/v1/agents/%d" % aid, A)
t.eq((b.get("version"), b.get("facts")),
     ("1.0\\u001b[0m", {"os\\u0007": "deb\\u009bian", "n": [1, "\\u001b"]}),
     "version and facts (keys too) stored escaped")

# ---- the deadline and the proxy's forwarded addresses ------------------------------------
px = Server(env.tmp, env.cluster, name="proxy", conf={
    "request_timeout_s": "2", "trusted_proxies": "127.0.0.1, 10.9.0.0/16",
    "max_connections_per_ip": "2", "stream_heartbeat_s": "30"}).start()
s = socket.create_connection(("127.0.0.1", px.port), timeout=10)
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
sent, cut, answer = 0, False, b""
for i in range(20):                         # 10 s of headers, one every 0.5 s
    try:
        s.sendall(b"X-Line-%d: 1\r\n" % i)
        sent += 1
    except OSError:
        cut = True
        break
    time.sleep(0.5)
    s.setblocking(False)
    try:
        data = s.recv(4096)
        answer += data
        if data == b"":
            cut = True
    except BlockingIOError:
        pass
    except OSError:
        cut = True
    s.setblocking(True)
    if cut:
        break
s.close()
t.ok(cut and sent < 20, "a client sending one header line every 0.5 s is cut at the deadline",
     (sent, answer))
t.ok(answer.startswith(b"HTTP/1.1 408"), "and told 408 first", answer[:80])
t.ok(px.healthy(), "the server answers others meanwhile")


def px_closed(reason):
    st, m, _ = px.request("GET", "/metrics", A, fresh=True)
    m = m.decode() if isinstance(m, bytes) else m if isinstance(m, str) else ""
    for ln in m.split("\n"):
        if ln.startswith('custos_http_connections_closed_total{reason="%s"}' % reason):
            return int(ln.split()[-1])
    return None


# a kept-alive connection left idle after its answer (a browser's, say) is
# closed at the same deadline, without a 408 and counted as "idle", not as
# a deadline cut: that is what the warning in the log counts
deadline0, idle0 = px_closed("deadline"), px_closed("idle")
s = socket.create_connection(("127.0.0.1", px.port), timeout=15)
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
got = b""
while b"\r\n\r\n" not in got:
    got += s.recv(4096)
t.ok(got.startswith(b"HTTP/1.1 200"), "a request on a kept-alive connection is answered", got[:40])
rest = got.split(b"\r\n\r\n", 1)[1]
try:
    while True:                      # blocks until serverd closes it (the deadline, 2 s)
        data = s.recv(4096)
        if not data:
            break
        rest += data
except OSError:
    pass
s.close()
t.ok(b"408" not in rest, "left idle, it is closed without a 408", rest[:80])
t.eq((px_closed("deadline") - deadline0, px_closed("idle") - idle0 >= 1), (0, True),
     "and counted as idle (/metrics reason=\"idle\"), not as a deadline cut (which is logged)")

held = [SSE(px.port, A, {"X-Forwarded-For": "203.0.113.5"}) for i in range(2)]
t.eq([h.status for h in held], [200, 200], "two streams for forwarded client 203.0.113.5")
st, body, hd = px.request("GET", "/api/v1/agents", A, headers={"X-Forwarded-For": "203.0.113.5"},
                          fresh=True)
t.eq(st, 429, "a third request from 203.0.113.5 is over max_connections_per_ip: 429")
t.ok(hd.get("retry-after"), "with Retry-After")
st, _, _ = px.request("GET", "/api/v1/agents", A,
                      headers={"X-Forwarded-For": "203.0.113.5, 10.9.1.1"}, fresh=True)
t.eq(st, 429, "through a second trusted proxy it is still 203.0.113.5")
st, _, _ = px.request("GET", "/api/v1/agents", A, headers={"X-Forwarded-For": "203.0.113.6"},
                      fresh=True)
t.eq(st, 200, "another forwarded client is served")
st, _, _ = px.request("GET", "/api/v1/agents", A,
                      headers={"X-Forwarded-For": "203.0.113.5, 203.0.113.7"}, fresh=True)
t.eq(st, 200, "a spoofed entry left of the proxy's own is not believed")
for h in held:
    h.close()
t.ok(wait_for(lambda: px.request("GET", "/api/v1/agents", A,
                                 headers={"X-Forwarded-For": "203.0.113.5"}, fresh=True)[0] == 200, 5),
     "once its streams close, 203.0.113.5 is served again")
px.stop()

# ---- bad settings: refused with the reason, before anything is served ------------------------
def conf_refused(extra, rlimit=None):
    path = os.path.join(env.tmp, "bad.conf")
    with open(path, "w") as f:
        f.write("database = %s\nlisten = 127.0.0.1:%d\n" % (env.cluster.conninfo, free_port()))
        for k, v in extra.items():
            f.write("%s = %s\n" % (k, v))

    def limit():
        if rlimit:
            resource.setrlimit(resource.RLIMIT_NOFILE, (rlimit, rlimit))
    out = subprocess.run([SERVERD, "-c", path], capture_output=True, text=True, timeout=60,
                         preexec_fn=limit)
    return out.returncode, out.stderr


rc, err = conf_refused({"trusted_proxies": "10.0.0.0/33"})
t.ok(rc != 0 and "trusted_proxies" in err and "10.0.0.0/33" in err, "a bad trusted_proxies entry is refused", err[-300:])
rc, err = conf_refused({"trusted_proxies": "proxy.example.com"})
t.ok(rc != 0 and "not an IPv4 address" in err, "a host name in trusted_proxies is refused", err[-300:])
rc, err = conf_refused({"max_connections": "100", "reserved_connections": "100"})
t.ok(rc != 0 and "reserved_connections" in err, "reserved_connections must be below max_connections",
     err[-300:])
rc, err = conf_refused({"max_connections": "5000"}, rlimit=1024)
t.ok(rc != 0 and "max_connections = 5000" in err and "1024" in err and "LimitNOFILE" in err,
     "max_connections beyond the open-files limit: refused, naming both", err[-300:])

# ---- TLS: 1.2 and later only, HSTS ---------------------------------------------------------
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=127.0.0.1", "-keyout", os.path.join(env.tmp, "k.pem"),
                "-out", os.path.join(env.tmp, "c.pem")], capture_output=True, check=True)
tls = Server(env.tmp, env.cluster, name="tls", conf={
    "tls_cert": os.path.join(env.tmp, "c.pem"), "tls_key": os.path.join(env.tmp, "k.pem")})
tls.start(wait=False)


def tls_get(lo, hi):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")   # let the client offer TLS 1.1 at all
    ctx.minimum_version, ctx.maximum_version = lo, hi
    c = http.client.HTTPSConnection("127.0.0.1", tls.port, timeout=10, context=ctx)
    try:
        c.request("GET", "/healthz")
        r = c.getresponse()
        r.read()
        return r.status, r.getheader("Strict-Transport-Security"), c.sock.version()
    finally:
        c.close()


def up():
    try:
        return tls_get(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3)
    except OSError:
        return None


res = wait_for(up, 30)
t.ok(res and res[0] == 200, "TLS 1.2+ is served", res)
t.ok(res and "max-age=" in (res[1] or ""), "with Strict-Transport-Security", res)
res = tls_get(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)
t.eq((res[0], res[2]), (200, "TLSv1.2"), "TLS 1.2 is accepted")


def control_tls11():
    """The same client against a local server that allows TLS 1.1: proves
    the client really offers 1.1, so a failure against serverd is serverd's
    refusal."""
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(os.path.join(env.tmp, "c.pem"), os.path.join(env.tmp, "k.pem"))
    sctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    sctx.minimum_version = ssl.TLSVersion.TLSv1_1
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    ls.settimeout(10)

    def serve():
        try:
            c, _ = ls.accept()
            x = sctx.wrap_socket(c, server_side=True)
            x.recv(1)
            x.close()
        except OSError:
            pass
    th = threading.Thread(target=serve, daemon=True)
    th.start()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        x = ctx.wrap_socket(socket.create_connection(ls.getsockname(), timeout=10))
        v = x.version()
        x.send(b"x")
        x.close()
        return v
    except OSError as e:
        return str(e)
    finally:
        th.join(10)
        ls.close()


ctl = control_tls11()
t.eq(ctl, "TLSv1.1", "control: this client negotiates TLS 1.1 with a server that allows it")
try:
    res = tls_get(ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_1)
    why = "negotiated %s" % (res,)
    refused = False
except (ssl.SSLError, OSError, http.client.HTTPException) as e:
    why = str(e)
    refused = True
t.ok(refused, "TLS 1.1 is refused by serverd", why)
st, _, h = env.api("GET", "/healthz")
t.ok("strict-transport-security" not in h, "no HSTS over plain HTTP")
tls.stop()
t.done()
