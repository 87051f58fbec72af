"""agentlib.py - shared by bench/agent-memory and bench/agent-cpu: a private
PostgreSQL + serverd (through tests/e2e/harness.py), an agent with the
standard check set, and /proc readings summed over a process tree."""
import os
import subprocess
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
# the benchmark tools (zabbix-agent, monit, monitoring-plugins, ...) are
# installed here when a benchmark runs, not by the demo
subprocess.run([os.path.join(TOP, "scripts", "install-deps"), "--bench"], check=True,
               stdout=sys.stderr)


def bin_dir():
    """CUSTOS_BIN, or an optimised non-sanitized build from scripts/release-build."""
    d = os.environ.get("CUSTOS_BIN")
    if d:
        return d
    out = subprocess.run([os.path.join(TOP, "scripts", "release-build")],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("release-build failed:\n" + out.stderr)
    return out.stdout.strip().splitlines()[-1]


BIN = bin_dir()
os.environ["CUSTOS_BUILDDIR"] = BIN
os.environ["CUSTOS_SRCDIR"] = TOP
sys.path.insert(0, os.path.join(TOP, "tests", "e2e"))
import harness  # noqa: E402


def main_iface():
    with open("/proc/net/dev") as f:
        for line in f.readlines()[2:]:
            name = line.split(":")[0].strip()
            if name != "lo":
                return name
    return "lo"


# the standard set of docs/design.md: load, cpu, memory, swap, disk /, five
# process checks, net
PROCS = ["custos-serverd", "postgres", "cron", "sshd", "init"]


def standard_checks(env, aid):
    env.make_check(aid, "load", "load", {"period": 1}, warning="5", critical="10")
    env.make_check(aid, "cpu", "cpu", {}, warning="80", critical="95")
    env.make_check(aid, "memory", "memory", {}, warning="80", critical="90")
    env.make_check(aid, "swap", "swap", {}, warning="50", critical="80")
    env.make_check(aid, "disk /", "disk", {"path": "/"}, warning="80", critical="90")
    for p in PROCS:
        env.make_check(aid, "proc " + p, "process", {"name": p})
    env.make_check(aid, "net", "net", {"iface": main_iface(), "metric": "rx_bytes_per_s"})


def agent_conf(env, token, name, **extra):
    d = os.path.join(env.tmp, name)
    os.makedirs(os.path.join(d, "state"), exist_ok=True)
    tok = os.path.join(d, "token")
    with open(tok, "w") as f:
        f.write(token)
    os.chmod(tok, 0o600)
    conf = os.path.join(d, "agentd.conf")
    s = {"server": "http://127.0.0.1:%d" % env.server.port, "token_file": tok,
         "state_dir": os.path.join(d, "state"), "jitter_s": "0", "log_level": "warning"}
    s.update({k: str(v) for k, v in extra.items()})
    with open(conf, "w") as f:
        for k, v in s.items():
            f.write("%s = %s\n" % (k, v))
    return conf


def tree(root):
    """root and all its descendants."""
    kids = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                s = f.read()
            ppid = int(s[s.rindex(")") + 2:].split()[1])
            kids.setdefault(ppid, []).append(int(p))
        except (OSError, ValueError):
            pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def memory(root):
    """(VmRSS, RssAnon, Pss) in KiB, summed over the tree; and process count."""
    rss = anon = pss = 0
    pids = tree(root)
    for p in pids:
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
                    elif line.startswith("RssAnon:"):
                        anon += int(line.split()[1])
            with open("/proc/%d/smaps_rollup" % p) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss, anon, pss, len(pids)


def cpu_ns(pid):
    """CPU time of one process in ns (schedstat: exact, not clock ticks)."""
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0])
