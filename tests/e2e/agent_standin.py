"""agent_standin.py - a stand-in for the server's agent routes, as far as
custos-agentd --wrap and --once use them: it records every request and
answers heartbeat reports per check name with 201 (200 for an id it has
seen), 404, 422, 503 or not at all ("hang"); GET checks gives an empty list,
the checkout 200. Used by tests/e2e/test_wrap.py and bench/wrap."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HB = "/api/v1/agent/self/heartbeats/"


class StandIn:
    """The server's agent routes, as far as --wrap and --once use them."""

    def __init__(self, token):
        self.reqs = []          # (method, path, auth, body)
        self.modes = {}         # check name -> 201 | 404 | 422 | 503 | "hang"
        self.seen = set()       # report ids stored
        self.mu = threading.Lock()
        standin = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"   # keep-alive, as the real server
            disable_nagle_algorithm = True  # headers and body are two writes

            def log_message(self, *a):
                pass

            def answer(self, st, body, extra=None):
                data = json.dumps(body).encode()
                self.send_response(st)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def handle_any(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                with standin.mu:
                    standin.reqs.append((self.command, self.path,
                                         self.headers.get("Authorization"), body))
                if self.headers.get("Authorization") != "Bearer " + token:
                    return self.answer(401, {"error": "unknown token"})
                if self.path.startswith(HB) and self.command == "POST":
                    name = self.path[len(HB):]
                    mode = standin.modes.get(name, 201)
                    if mode == "hang":
                        time.sleep(30)
                        return
                    if mode == 201:
                        with standin.mu:
                            dup = body["id"] in standin.seen
                            standin.seen.add(body["id"])
                        return self.answer(200 if dup else 201, {"duplicate": dup})
                    return self.answer(mode, {"error": {404: "no such heartbeat check",
                                                        422: "output: too long",
                                                        503: "database unavailable"}[mode]})
                if self.path == "/api/v1/agent/self/checks":
                    return self.answer(200, {"checks": []}, {"ETag": '"1"'})
                if self.path == "/api/v1/agent/self/checkout":
                    return self.answer(200, {"interval_s": 60})
                if self.path == "/api/v1/agent/self":
                    return self.answer(200, {"name": "standin", "interval_s": 60})
                return self.answer(404, {"error": "no route"})

            do_GET = do_POST = do_PUT = handle_any

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda *a: None   # a hung client gone: not news
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def reports(self, name):
        with self.mu:
            return [b for (m, p, a, b) in self.reqs if m == "POST" and p == HB + name]


