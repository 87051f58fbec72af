"""sselib.py - a small Server-Sent Events client for the tests: a raw
socket, HTTP/1.1 chunked decoding, frames as dicts. Every read has a
socket timeout, so a frame that never comes fails the test instead of
hanging it."""
import json
import time
import socket


class SSE:
    def __init__(self, port, token=None, headers=None, path="/api/v1/stream", timeout=15):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        h = {"Host": "127.0.0.1", "Accept": "text/event-stream"}
        if token:
            h["Authorization"] = "Bearer " + token
        h.update(headers or {})
        req = "GET %s HTTP/1.1\r\n" % path + "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
        self.sock.sendall(req.encode())
        self.raw = b""
        self.body = b""
        head = self._until(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for ln in lines[1:]:
            if ":" in ln:
                k, v = ln.split(":", 1)
                self.headers[k.strip().lower()] = v.strip()
        self.chunked = self.headers.get("transfer-encoding", "") == "chunked"
        self.comments = []

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("stream closed")
        self.raw += data

    def _until(self, sep):
        while sep not in self.raw:
            self._fill()
        i = self.raw.index(sep)
        out, self.raw = self.raw[:i], self.raw[i + len(sep):]
        return out

    def _more_body(self):
        if not self.chunked:
            if not self.raw:
                self._fill()
            self.body += self.raw
            self.raw = b""
            return
        size = int(self._until(b"\r\n").split(b";")[0], 16)
        if size == 0:
            raise EOFError("stream ended")
        while len(self.raw) < size + 2:
            self._fill()
        self.body += self.raw[:size]
        self.raw = self.raw[size + 2:]

    def error_body(self):
        """The body of a non-200 answer, parsed as JSON."""
        n = int(self.headers.get("content-length", "0"))
        while len(self.raw) < n:
            self._fill()
        return json.loads(self.raw[:n]) if n else None

    def frame(self):
        """The next frame with data: {"event", "id", "data"} (comments are
        collected in self.comments). Heartbeats keep the socket from timing
        out, so only comments for 2 x the socket timeout fail the test
        instead of waiting forever."""
        give_up = time.monotonic() + 2 * (self.sock.gettimeout() or 15)
        while True:
            if time.monotonic() > give_up:
                raise AssertionError("no frame with data within %.0f s" %
                                     (2 * (self.sock.gettimeout() or 15)))
            while b"\n\n" not in self.body:
                self._more_body()
            i = self.body.index(b"\n\n")
            block, self.body = self.body[:i].decode(), self.body[i + 2:]
            f = {"event": "message", "id": None, "data": None}
            for ln in block.split("\n"):
                if ln.startswith(":"):
                    self.comments.append(ln[1:].strip())
                elif ln.startswith("id: "):
                    f["id"] = int(ln[4:])
                elif ln.startswith("event: "):
                    f["event"] = ln[7:]
                elif ln.startswith("data: "):
                    f["data"] = json.loads(ln[6:])
            if f["data"] is not None:
                return f

    def until(self, pred, limit=200):
        """Frames until pred(frame) is true; returns (that frame, all seen)."""
        seen = []
        for _ in range(limit):
            f = self.frame()
            seen.append(f)
            if pred(f):
                return f, seen
        raise AssertionError("no matching frame in %d" % limit)

    def comment(self):
        """Reads until a comment line arrives; returns it."""
        n = len(self.comments)
        while len(self.comments) == n:
            while b"\n\n" not in self.body:
                self._more_body()
            i = self.body.index(b"\n\n")
            block, self.body = self.body[:i].decode(), self.body[i + 2:]
            for ln in block.split("\n"):
                if ln.startswith(":"):
                    self.comments.append(ln[1:].strip())
        return self.comments[-1]

    def close(self):
        self.sock.close()
