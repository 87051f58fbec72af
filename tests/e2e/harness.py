"""harness.py - the end-to-end test harness: real parts, TAP output.

Each test script gets its own private PostgreSQL cluster (scripts/pgctl, in
a temporary directory, stopped by PID at exit), starts real custos-serverd
processes against it and talks HTTP to them. Output is TAP, so automake's
tap-driver and scripts/check count every assertion.

Use:
    from harness import *
    t = Tap()
    env = Env()                  # cluster + one serverd + admin token
    st, body, hdrs = env.api("GET", "/api/v1/agents", env.admin)
    t.eq(st, 200, "list agents")
    t.done()

Run with /usr/bin/python3 (Debian's, which has python3-aiosmtpd).
"""
import atexit
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SRCDIR = os.environ.get("CUSTOS_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILDDIR = os.environ.get("CUSTOS_BUILDDIR") or SRCDIR
SERVERD = os.path.join(BUILDDIR, "custos-serverd")
AGENTD = os.path.join(BUILDDIR, "custos-agentd")
PGCTL = os.path.join(SRCDIR, "scripts", "pgctl")
# every suite's cluster is a copy of one initdb (scripts/pgctl): made by the
# first suite, in the build tree (make clean removes it)
os.environ.setdefault("PGCTL_TEMPLATE", os.path.abspath(os.path.join(BUILDDIR, "tests", "e2e", "pg-template")))


class Tap:
    """Minimal TAP producer: every assertion is one test point."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        sys.stdout.reconfigure(line_buffering=True)

    def ok(self, cond, desc, diag=None):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, desc))
        if not cond:
            self.failed += 1
            if diag is not None:
                for line in str(diag).splitlines()[:40]:
                    print("# " + line)
        return cond

    def eq(self, got, want, desc):
        return self.ok(got == want, desc, "got:  %r\nwant: %r" % (got, want))

    def diag(self, msg):
        for line in str(msg).splitlines():
            print("# " + line)

    def done(self):
        # every serverd still running ends here, by SIGTERM: a sanitizer's
        # or valgrind's report (a leak included) makes its exit status
        # non-zero, and that is a failure of the suite, not a line in a
        # log nobody reads
        for srv in list(SERVERS):
            if srv.proc is not None and srv.proc.poll() is None:
                rc = srv.stop()
                self.ok(rc == 0, "%s exits cleanly at the end (no sanitizer or valgrind report)"
                        % srv.name, "exit status %r\n%s" % (rc, srv.reports() or srv.log_tail()))
        print("1..%d" % self.n)
        sys.exit(0)

    def bail(self, why):
        print("Bail out! %s" % why)
        sys.exit(1)


def need(found, what, hint):
    """Skips the whole suite (TAP "1..0 # SKIP") when found is false: what
    names the missing dependency, hint how to install it. Call it before the
    first test point. scripts/check fails a suite of tests/e2e/ or
    tests/unit/ that skipped when it runs in CI (CI or
    CUSTOS_REQUIRE_SUITES set), where install-deps put everything in place."""
    if not found:
        print("1..0 # SKIP %s not found (%s)" % (what, hint))
        sys.exit(0)


def have_postgresql():
    """The PostgreSQL server binaries, as scripts/pgctl looks for them."""
    pgbin = os.environ.get("PGBIN")
    if pgbin:
        return os.access(os.path.join(pgbin, "initdb"), os.X_OK)
    import glob
    return any(os.access(p, os.X_OK) for p in glob.glob("/usr/lib/postgresql/*/bin/initdb"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(fn, timeout=10.0, step=0.02):
    """Polls fn() until it returns a true value or timeout; returns the value."""
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > end:
            return v
        time.sleep(step)


# the clusters' mode: "fast" (fsync off: a test's cluster is thrown away)
# unless CUSTOS_PG_DURABLE=1 (the benches that measure a commit: fsync on,
# as an install runs)
PG_MODE = [] if os.environ.get("CUSTOS_PG_DURABLE") == "1" else ["fast"]


class Cluster:
    """A private PostgreSQL cluster in a temp dir."""

    def __init__(self, tmp):
        need(have_postgresql(), "PostgreSQL", "apt-get install postgresql-15")
        self.dir = os.path.join(tmp, "pg")
        # free_port() only finds a port that was free a moment ago: another
        # process (a parallel test, a benchmark) may take it first. Then
        # PostgreSQL cannot bind; start again, afresh, on another port.
        for attempt in range(5):
            self.port = free_port()
            out = subprocess.run([PGCTL, "start", self.dir, str(self.port)] + PG_MODE,
                                 capture_output=True, text=True)
            if out.returncode == 0 or "already in use" not in out.stderr or attempt == 4:
                break
            shutil.rmtree(self.dir, ignore_errors=True)
        if out.returncode != 0:
            raise RuntimeError("pgctl start failed: " + out.stderr)
        self.conninfo = out.stdout.strip()
        # at the end the cluster is deleted: no shutdown checkpoint to wait for
        atexit.register(self.stop, True)

    def stop(self, now=False):
        subprocess.run([PGCTL, "stop", self.dir] + (["now"] if now else []), capture_output=True)

    def start(self):
        out = subprocess.run([PGCTL, "start", self.dir, str(self.port)] + PG_MODE,
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("pgctl start failed: " + out.stderr)

    def psql_cmd(self, *args):
        """psql as the superuser on this cluster, quiet and unaligned, then args."""
        cmd = ["psql", "-X", "-q", "-t", "-A", self.conninfo] + list(args)
        return (["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []) + cmd

    def psql(self, sql):
        """Runs SQL as the superuser; returns stdout rows (tab-separated)."""
        out = subprocess.run(self.psql_cmd("-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql),
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("psql: " + out.stderr)
        return [line.split("\t") for line in out.stdout.splitlines() if line != ""]

    def psql_script(self, sql):
        """Runs a script in one session (stopping at its first error); returns
        its whole output, the notifications psql shows included."""
        return subprocess.run(self.psql_cmd("-v", "ON_ERROR_STOP=1"), input=sql,
                              capture_output=True, text=True).stdout

    def session(self):
        """A psql session of its own, fed through .stdin and read through
        .stdout (text, one line per row): for a test that holds a lock or a
        transaction open while it does something else."""
        return subprocess.Popen(self.psql_cmd(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True)


SERVERS = []   # every Server made: Tap.done() stops the ones still running


class Server:
    """One custos-serverd process with its own config file."""

    def __init__(self, tmp, cluster, name="serverd", conf=None, valgrind=False, env=None):
        self.tmp = tmp
        self.env = env   # more environment for serverd (CUSTOS_TEST_CLOCK_OFFSET_S)
        self.name = name
        self.port = free_port()
        self.url_host = "127.0.0.1"
        self.conf_path = os.path.join(tmp, name + ".conf")
        self.log_path = os.path.join(tmp, name + ".log")
        self.proc = None
        settings = {
            "listen": "127.0.0.1:%d" % self.port,
            "database": cluster.conninfo,
            "threads": "2",
            "log_level": "debug",
            "public_url": "http://127.0.0.1:%d" % self.port,
            # grouping into digests holds back the 4th notification to a
            # person within 30 s (the default): suites that post many
            # problems to one contact test other things; test_digest.py
            # and bench/digest-storm turn it on themselves
            "group_window_s": "0",
        }
        settings.update(conf or {})
        with open(self.conf_path, "w") as f:
            for k, v in settings.items():
                f.write("%s = %s\n" % (k, v))
        self.conn = None
        SERVERS.append(self)
        atexit.register(self.stop)

    def start(self, wait=True):
        self.logf = open(self.log_path, "ab")
        cmd = [SERVERD, "-c", self.conf_path]
        if os.environ.get("CUSTOS_VALGRIND"):
            cmd = ["valgrind", "--error-exitcode=99", "--leak-check=full",
                   "--errors-for-leak-kinds=definite", "-q"] + cmd
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=self.logf,
                                     env=dict(os.environ, **self.env) if self.env else None)
        if wait and not wait_for(self.healthy, 30):
            raise RuntimeError("serverd did not come up:\n" + self.log())
        return self

    def healthy(self):
        try:
            st, _, _ = self.request("GET", "/healthz", fresh=True)
            return st == 200
        except OSError:
            return False

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def reports(self):
        """The sanitizers' and valgrind's lines in this server's log ("": none)."""
        try:
            with open(self.log_path, "r", errors="replace") as f:
                lines = [x.rstrip() for x in f if re.search(
                    r"Sanitizer|runtime error|^==\d+==|^    #\d+ ", x)]
        except OSError:
            return ""
        return "\n".join(lines[:40])

    def log_tail(self, n=15):
        """The last n lines of this server's log: what it was doing when it
        died of a signal (a library's abort(), say) without a report."""
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return "\n".join(x.rstrip() for x in f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        if self.conn:
            self.conn.close()
            self.conn = None
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def request(self, method, path, token=None, body=None, headers=None,
                raw=None, fresh=False):
        """One HTTP request (keep-alive unless fresh). Returns
        (status, parsed JSON or None, headers dict lower-cased)."""
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        data = raw
        if body is not None and raw is None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        for attempt in range(2):
            conn = None
            try:
                if fresh or self.conn is None:
                    conn = http.client.HTTPConnection(self.url_host, self.port, timeout=30)
                    if not fresh:
                        self.conn = conn
                else:
                    conn = self.conn
                conn.request(method, path, body=data, headers=h)
                r = conn.getresponse()
                text = r.read()
                hdrs = {k.lower(): v for k, v in r.getheaders()}
                if fresh or hdrs.get("connection", "").lower() == "close":
                    conn.close()
                    if conn is self.conn:
                        self.conn = None
                try:
                    parsed = json.loads(text) if text else None
                except ValueError:
                    parsed = text
                return r.status, parsed, hdrs
            except (http.client.HTTPException, ConnectionError, BrokenPipeError):
                if conn is not None:
                    conn.close()
                if conn is self.conn:
                    self.conn = None
                if attempt == 1 or fresh:
                    raise
        raise RuntimeError("unreachable")

    def create_token(self, name, role="admin"):
        out = subprocess.run([SERVERD, "-c", self.conf_path, "--create-token", name,
                              "--role", role], capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("create-token failed: " + out.stderr)
        return out.stdout.strip()


class Env:
    """A cluster, a started serverd and an admin token: what most tests need."""

    def __init__(self, conf=None, start=True, env=None):
        self.tmp = tempfile.mkdtemp(prefix="custos-e2e-")
        os.chmod(self.tmp, 0o755)
        atexit.register(self.cleanup)
        self.cluster = Cluster(self.tmp)
        self.server = Server(self.tmp, self.cluster, conf=conf, env=env)
        if start:
            self.server.start()
            self.admin = self.server.create_token("admin")

    def cleanup(self):
        if os.environ.get("CUSTOS_KEEP_TMP"):
            return
        # servers and the cluster are stopped by their own atexit hooks,
        # registered later and so run earlier
        shutil.rmtree(self.tmp, ignore_errors=True)

    def api(self, method, path, token=None, body=None, **kw):
        return self.server.request(method, path, token, body, **kw)

    def make_agent(self, name, interval_s=60, **extra):
        body = {"name": name, "interval_s": interval_s}
        body.update(extra)
        st, a, _ = self.api("POST", "/api/v1/agents", self.admin, body)
        if st != 201:
            raise RuntimeError("create agent: %s %s" % (st, a))
        return a["id"], a["token"]

    def make_check(self, agent_id, name, type_="load", params=None, **extra):
        body = {"agent_id": agent_id, "name": name, "type": type_,
                "params": params if params is not None else {"period": 1}}
        body.update(extra)
        st, c, _ = self.api("POST", "/api/v1/checks", self.admin, body)
        if st != 201:
            raise RuntimeError("create check: %s %s" % (st, c))
        return c["id"]

    def post_results(self, token, results):
        return self.api("POST", "/api/v1/check_history", token, results)
