"""relaylib.py - a TCP relay in front of serverd, so that a test can hold
open a window of the client's own: it sees each request line before the
request goes on, and each piece of each answer before the client gets it,
and may wait there (the client waits with it). One request a connection
(serverd is asked for Connection: close), so every request passes the
hooks; a stream's answer goes on for as long as its client stays.

    r = Relay(env.server.port, before=fn(line), answer=fn(line, data))
    r.url   # what the client is pointed at instead of serverd"""
import socket
import threading


class Relay:
    def __init__(self, port, before=None, answer=None):
        self.up, self.before, self.answer = port, before, answer
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            c, _ = self.ls.accept()
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    @staticmethod
    def _close(*socks):
        for x in socks:
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            x.close()

    def _pump(self, a, b, line=None):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                if line is not None and self.answer:
                    self.answer(line, d)
                b.sendall(d)
        except OSError:
            pass
        for x in (a, b):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _serve(self, c):
        head = b""
        while b"\r\n\r\n" not in head:
            try:
                d = c.recv(65536)
            except OSError:
                d = b""
            if not d:
                c.close()
                return
            head += d
        h, rest = head.split(b"\r\n\r\n", 1)
        lines = [x for x in h.split(b"\r\n") if not x.lower().startswith(b"connection:")]
        line = lines[0].decode("latin-1")
        if self.before:
            self.before(line)
        u = socket.create_connection(("127.0.0.1", self.up))
        u.sendall(b"\r\n".join(lines) + b"\r\nConnection: close\r\n\r\n" + rest)
        threading.Thread(target=self._pump, args=(c, u), daemon=True).start()
        self._pump(u, c, line)
        self._close(c, u)
