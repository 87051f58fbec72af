#!/usr/bin/python3
"""test_packages.py - the Debian packages: built once with scripts/package
(dpkg-buildpackage -b -us -uc), judged by lintian, inspected, then installed
for real with dpkg -i inside a throw-away root (an overlay of this host's
root: every write lands in a temporary directory) where the server's postinst
runs, custos-serverd starts from the package's files as the custos user
against a private PostgreSQL, the packaged agent posts a run to it, and
dpkg --purge cleans up. Skipped when debhelper is not installed
(scripts/install-deps --test installs it)."""
import glob
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time

from installlib import Tap, SRCDIR, tmpdir, run, have, verify_root, exposure
import harness

if not (have("dpkg-buildpackage") and os.path.exists("/usr/bin/dh")):
    print("1..0 # SKIP debhelper not installed (scripts/install-deps --test)")
    sys.exit(0)

t = Tap()
tmp = tmpdir("custos-deb-")
out = os.path.join(tmp, "deb")
t0 = time.monotonic()
rc, log = run([os.path.join(SRCDIR, "scripts", "package")],
              env={"CUSTOS_DEB_OUT": out, "LINTIAN": "no",
                   "DEB_BUILD_OPTIONS": "parallel=2 nocheck noautodbgsym"})
if not t.ok(rc == 0, "scripts/package (dpkg-buildpackage -b -us -uc)", log[-3000:]):
    t.bail("no packages")
t.diag("packages built in %.0f s" % (time.monotonic() - t0))

debs = {}
for path in glob.glob(os.path.join(out, "*.deb")):
    name = os.path.basename(path).split("_")[0]
    if not name.endswith("-dbgsym"):
        debs[name] = path
want = {"custos-server", "custos-agent", "custos-common"}
has_cli = bool(glob.glob(os.path.join(SRCDIR, "cli", "*.c")))
if has_cli:
    want.add("custos-cli")
t.eq(sorted(debs), sorted(want), "the binary packages built" +
     ("" if has_cli else " (no custos-cli: the tree has no CLI yet)"))

# lintian: no errors, no warnings (the remaining ones are overridden in
# debian/*.lintian-overrides, each with its reason)
if have("lintian"):
    changes = glob.glob(os.path.join(out, "*.changes"))
    rc, lint = run(["lintian", "--no-tag-display-limit"] + changes)
    errors = [l for l in lint.splitlines() if l.startswith("E:")]
    warnings = [l for l in lint.splitlines() if l.startswith("W:")]
    t.eq(errors, [], "lintian: no errors")
    t.eq(warnings, [], "lintian: no warnings")
    t.diag("lintian: %d info tags" % len([l for l in lint.splitlines() if l.startswith("I:")]))
else:
    t.ok(True, "# SKIP lintian not installed")


def contents(name):
    rc, text = run(["dpkg-deb", "-c", debs[name]])
    entries = {}
    for line in text.splitlines():
        f = line.split()
        entries[f[5].lstrip(".")] = f[0]
    return entries


def control(name, member):
    rc, text = run(["dpkg-deb", "-I", debs[name], member])
    return text if rc == 0 else ""


server, agent, common = contents("custos-server"), contents("custos-agent"), contents("custos-common")
for f in ["/usr/bin/custos-serverd", "/lib/systemd/system/custos-serverd.service",
          "/usr/share/custos/sql/001_init.sql", "/usr/share/man/man8/custos-serverd.8.gz"]:
    t.ok(f in server, "custos-server has %s" % f)
t.eq(server.get("/etc/custos/serverd.conf"), "-rw-r-----", "custos-server: serverd.conf is 0640")
for f in ["/usr/bin/custos-agentd", "/lib/systemd/system/custos-agentd.service",
          "/etc/cron.d/custos-agentd", "/usr/share/man/man8/custos-agentd.8.gz"]:
    t.ok(f in agent, "custos-agent has %s" % f)
t.ok("/etc/custos/plugins.d/" in agent and
     not [e for e in agent if e.startswith("/etc/custos/plugins.d/") and e != "/etc/custos/plugins.d/"],
     "custos-agent: /etc/custos/plugins.d, with nothing linked")
t.eq(agent.get("/var/lib/custos-agentd/"), "drwx------", "custos-agent: /var/lib/custos-agentd 0700")
t.ok("/usr/share/man/man5/custos.conf.5.gz" in common, "custos-common has custos.conf(5)")
for f in ["/usr/share/doc/custos-common/api.md", "/usr/share/doc/custos-common/operations.md",
          "/usr/share/doc/custos-common/configuration.md"]:
    t.ok(f in common or f + ".gz" in common, "custos-common has %s (or .gz)" % f)
t.ok("/etc/custos/serverd.conf" in control("custos-server", "conffiles").split(),
     "serverd.conf is a conffile")
t.ok(set(control("custos-agent", "conffiles").split()) >= {"/etc/custos/agentd.conf", "/etc/cron.d/custos-agentd"},
     "agentd.conf and the cron file are conffiles")
post = control("custos-server", "postinst")
t.ok("adduser --system" in post and "Next:" in post, "custos-server postinst: system user, next steps")
t.ok("deb-systemd-helper enable" not in post.replace("was-enabled", "") or "was-enabled" in post,
     "custos-server postinst enables the unit only when the admin had enabled it")
t.ok("deb-systemd-invoke start" not in post and "deb-systemd-invoke restart" not in post,
     "custos-server postinst starts nothing")

# ---- a real install in a throw-away root ------------------------------------
root = os.path.join(tmp, "root")
upper, work = os.path.join(tmp, "upper"), os.path.join(tmp, "work")
for d in (root, upper, work):
    os.makedirs(d)
mounts = []


def umount_all():
    for m in reversed(mounts):
        subprocess.run(["umount", "-l", m], capture_output=True)
    del mounts[:]


rc, msg = run(["mount", "-t", "overlay", "overlay", "-o",
               "lowerdir=/,upperdir=%s,workdir=%s" % (upper, work), root])
if rc != 0:
    t.ok(True, "# SKIP cannot mount an overlay root here: %s" % msg.strip())
    t.done()
mounts.append(root)
import atexit  # noqa: E402
atexit.register(umount_all)
for src, fstype in (("/dev", None), ("/proc", "proc")):
    target = root + src
    cmd = ["mount", "-t", "proc", "proc", target] if fstype else ["mount", "--bind", src, target]
    if run(cmd)[0] == 0:
        mounts.append(target)


def chroot(*args, **kw):
    return run(["chroot", root] + list(args), **kw)


# start from a root where custos was never installed
chroot("sh", "-c", "dpkg --purge custos-server custos-agent custos-cli custos-common; "
       "rm -rf /etc/custos /var/lib/custos /var/lib/custos-agentd; "
       "deluser --system custos; delgroup --system custos; "
       "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; "
       "rm -f /var/lib/man-db/auto-update")   # no man-db index rebuild: slow, beside the point
os.makedirs(root + "/tmp/custos-debs", exist_ok=True)
names = ["custos-common", "custos-server", "custos-agent"]
for n in names:
    subprocess.run(["cp", debs[n], root + "/tmp/custos-debs/"], check=True)
t0 = time.monotonic()
rc, log = chroot("dpkg", "-i", *["/tmp/custos-debs/" + os.path.basename(debs[n]) for n in names])
t.ok(rc == 0, "dpkg -i custos-common custos-server custos-agent (in a throw-away root)", log[-3000:])
t.diag("dpkg -i took %.0f s" % (time.monotonic() - t0))
t.ok("runuser -u postgres -- createuser custos" in log and "--create-token admin" in log,
     "the server's postinst tells the next two steps", log[-2000:])
rc, st = chroot("dpkg-query", "-W", "-f=${Package} ${Status}\n", *names)
t.eq(sorted(st.strip().splitlines()), sorted("%s install ok installed" % n for n in names),
     "dpkg: the three packages are installed")

pw = {}
with open(root + "/etc/passwd") as f:
    for line in f:
        fields = line.rstrip("\n").split(":")
        pw[fields[0]] = fields
t.ok("custos" in pw and int(pw["custos"][2]) < 1000 and pw["custos"][5] == "/var/lib/custos",
     "postinst made the system user custos, home /var/lib/custos", pw.get("custos"))
uid, gid = (int(pw["custos"][2]), int(pw["custos"][3])) if "custos" in pw else (-1, -1)
s = os.stat(root + "/var/lib/custos") if os.path.exists(root + "/var/lib/custos") else None
t.ok(s and s.st_uid == uid and stat.S_IMODE(s.st_mode) == 0o750, "/var/lib/custos: custos, 0750")
s = os.stat(root + "/etc/custos/serverd.conf")
t.ok(s.st_uid == 0 and s.st_gid == gid and stat.S_IMODE(s.st_mode) == 0o640,
     "/etc/custos/serverd.conf: root:custos 0640")
t.ok(not glob.glob(root + "/etc/systemd/system/*.wants/custos-*"), "no unit enabled by the install")
t.eq(os.listdir(root + "/etc/custos/plugins.d"), [], "/etc/custos/plugins.d is empty")

if have("systemd-analyze"):
    verify_root(t, root, ["custos-serverd.service", "custos-agentd.service"], "packages")
    exposure(t, root, "custos-serverd.service", 3.0, "packages")
    exposure(t, root, "custos-agentd.service", 6.0, "packages")

# custos-serverd from the package, as user custos, against a private PostgreSQL
cluster = harness.Cluster(tmp)
port = harness.free_port()
url = "http://127.0.0.1:%d" % port
with open(root + "/etc/custos/serverd.conf", "a") as f:
    f.write("listen = 127.0.0.1:%d\ndatabase = host=127.0.0.1 port=%d dbname=custos user=postgres\n"
            "public_url = %s\n" % (port, cluster.port, url))
as_custos = ["chroot", "--userspec=%d:%d" % (uid, gid), root, "/usr/bin/custos-serverd",
             "-c", "/etc/custos/serverd.conf"]
rc, log = run(as_custos + ["--migrate"])
t.ok(rc == 0, "custos-serverd --migrate (packaged binary, user custos)", log)
# serverd warns when its file holds a secret and others may read it (lib/confperm;
# checked once serverd's config loading calls conf_warn_secret_perms)
wired = any("conf_warn_secret_perms" in open(f).read()
            for f in glob.glob(os.path.join(SRCDIR, "serverd", "**", "*.c"), recursive=True))
with open(root + "/etc/custos/serverd.conf") as f:
    exposed = f.read() + "smtp_password = hunter2\n"
with open(root + "/etc/custos/exposed.conf", "w") as f:
    f.write(exposed)
os.chmod(root + "/etc/custos/exposed.conf", 0o644)
rc, log = run(["chroot", "--userspec=%d:%d" % (uid, gid), root, "/usr/bin/custos-serverd",
               "-c", "/etc/custos/exposed.conf", "--migrate"])
if wired:
    t.ok(rc == 0 and "readable by every user" in log and "hunter2" not in log,
         "serverd warns about a world-readable file holding smtp_password", log)
else:
    t.ok(True, "# SKIP serverd does not call conf_warn_secret_perms yet")
os.unlink(root + "/etc/custos/exposed.conf")
rc, token = run(as_custos + ["--create-token", "admin", "--role", "admin"])
token = token.strip()
t.ok(rc == 0 and re.fullmatch(r"[0-9a-f]{64}", token or ""), "--create-token prints a token", token)
logf = open(os.path.join(tmp, "serverd.log"), "wb")
proc = subprocess.Popen(as_custos, stdout=logf, stderr=logf)
srv = harness.Server.__new__(harness.Server)   # only its HTTP client
srv.url_host, srv.port, srv.conn = "127.0.0.1", port, None
up = harness.wait_for(lambda: proc.poll() is None and srv.healthy(), 30)
t.ok(up, "the packaged custos-serverd serves /healthz", open(os.path.join(tmp, "serverd.log")).read()[-2000:])

st, agent_obj, _ = srv.request("POST", "/api/v1/agents", token, {"name": "pkg-host", "interval_s": 60})
t.eq(st, 201, "POST /api/v1/agents")
st, check, _ = srv.request("POST", "/api/v1/checks", token,
                           {"agent_id": agent_obj["id"], "name": "load", "type": "load",
                            "params": {"period": 1}, "critical": "1000"})
t.eq(st, 201, "POST /api/v1/checks")
tok_path = root + "/etc/custos/agent.token"
with open(tok_path, "w") as f:
    f.write(agent_obj["token"] + "\n")
os.chmod(tok_path, 0o600)
with open(root + "/etc/custos/agentd.conf", "a") as f:
    f.write("server = %s\n" % url)
rc, log = chroot("/usr/bin/custos-agentd", "-c", "/etc/custos/agentd.conf", "--once")
t.ok(rc == 0, "the packaged custos-agentd --once delivers (exit 0)", log)
t.diag("--once printed %d lines" % len(log.splitlines()))
st, got, _ = srv.request("GET", "/api/v1/checks/%d" % check["id"], token)
t.ok(st == 200 and got["state"]["status"] == "OK", "the agent's result reached the server",
     json.dumps(got))
proc.send_signal(signal.SIGTERM)
try:
    t.eq(proc.wait(30), 0, "SIGTERM: the packaged serverd exits 0")
except subprocess.TimeoutExpired:
    proc.kill()
    t.ok(False, "SIGTERM: the packaged serverd exits 0")

rc, log = chroot("dpkg", "--purge", "custos-server", "custos-agent", "custos-common")
t.ok(rc == 0, "dpkg --purge", log[-2000:])
t.ok(not os.path.exists(root + "/usr/bin/custos-serverd") and
     not os.path.exists(root + "/etc/custos/serverd.conf") and
     not os.path.exists(root + "/var/lib/custos") and
     not os.path.exists(root + "/var/lib/custos-agentd"),
     "purge removes the programs, the conffiles and the state directories")
umount_all()
cluster.stop()
t.done()
