"""End-to-end: the network checks (http, tcp) against real local servers,
through custos-agentd --test (exit status = Nagios code)."""
import http.server
import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import AGENTD, Tap  # noqa: E402

t = Tap()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/slow":
            time.sleep(2)
        code = {"/missing": 404, "/moved": 301}.get(self.path, 200)
        body = b"hello custos\n"
        self.send_response(code)
        if code == 301:
            self.send_header("Location", "/")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
port = srv.server_address[1]
threading.Thread(target=srv.serve_forever, daemon=True).start()
base = "http://127.0.0.1:%d" % port


def agent(*args):
    r = subprocess.run([AGENTD, "--test"] + list(args), capture_output=True, text=True,
                       timeout=30)
    return r.returncode, r.stdout.strip()


rc, out = agent("http", "url=%s/" % base)
t.eq(rc, 0, "http 200: OK")
t.ok(out.startswith("HTTP OK") and "|" in out, "http output with perfdata", out)
m = re.search(r"=([0-9.]+)ms", out)
t.ok(m is not None and float(m.group(1)) >= 0, "http value is the response time in ms", out)
rc, out = agent("http", "url=%s/" % base, "contains=hello custos")
t.eq(rc, 0, "body contains the text: OK")
rc, out = agent("http", "url=%s/" % base, "contains=goodbye")
t.eq(rc, 2, "body lacks the text: CRITICAL")
rc, out = agent("http", "url=%s/missing" % base)
t.eq(rc, 2, "404 where 200 is expected: CRITICAL")
t.ok("404" in out, "output names the status", out)
rc, out = agent("http", "url=%s/missing" % base, "expect_status=404")
t.eq(rc, 0, "404 expected: OK")
rc, out = agent("http", "url=%s/moved" % base, "expect_status=301")
t.eq(rc, 0, "redirects are not followed: 301 seen")
rc, out = agent("http", "url=%s/slow" % base, "timeout_ms=300")
t.eq(rc, 2, "timeout: CRITICAL")
rc, out = agent("http", "url=%s/" % base, "warning=~:0", "critical=~:100000")
t.eq(rc, 1, "response time above the warning range: WARNING")
rc, out = agent("http", "url=ftp://127.0.0.1/")
t.ok(rc != 0, "a non-HTTP URL is refused", out)

# tcp: a listening socket, then a closed port
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(5)
tport = ls.getsockname()[1]
rc, out = agent("tcp", "host=127.0.0.1", "port=%d" % tport)
t.eq(rc, 0, "tcp connect: OK")
ls.close()
rc, out = agent("tcp", "host=127.0.0.1", "port=%d" % tport)
t.eq(rc, 2, "tcp refused: CRITICAL")
rc, out = agent("tcp", "host=127.0.0.1", "port=70000")
t.ok(rc not in (0, 1, 2), "a bad port is not a check result", out)
srv.shutdown()
t.done()
