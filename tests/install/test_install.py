#!/usr/bin/python3
"""test_install.py - ./configure --prefix=/usr --sysconfdir=/etc
--localstatedir=/var && make install DESTDIR=...: every file lands where a
Debian system expects it, the units name programs that exist, systemd accepts
them and rates them, a second install keeps the admin's configuration, and
uninstall removes what install made but that configuration."""
import os
import re
import stat

from installlib import Tap, copy_tree, tmpdir, run, have, verify_root, exposure

t = Tap()
tmp = tmpdir("custos-install-")
src = copy_tree(os.path.join(tmp, "src"))
dest = os.path.join(tmp, "dest")

rc, out = run("./autogen.sh && ./configure -q --prefix=/usr --sysconfdir=/etc "
              "--localstatedir=/var CFLAGS=-O0 && make -j2 >/dev/null", cwd=src)
if not t.ok(rc == 0, "configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var && make", out[-3000:]):
    t.bail("build failed")

# the units' directory comes from pkg-config systemd unless given
rc, pc = run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"])
with open(os.path.join(src, "Makefile")) as f:
    m = re.search(r"^systemdsystemunitdir = (.*)$", f.read(), re.M)
t.eq(m and m.group(1), pc.strip() or "${prefix}/lib/systemd/system",
     "systemdsystemunitdir defaults to pkg-config systemd's")

rc, out = run(["make", "install", "DESTDIR=" + dest], cwd=src)
t.ok(rc == 0, "make install DESTDIR=", out[-3000:])


def p(rel):
    return os.path.join(dest, rel.lstrip("/"))


def mode(rel):
    return stat.S_IMODE(os.lstat(p(rel)).st_mode)


for f in ["/usr/bin/custos-serverd", "/usr/bin/custos-agentd"]:
    t.ok(os.access(p(f), os.X_OK), "%s installed, executable" % f)
for f in ["/etc/custos/serverd.conf", "/etc/custos/agentd.conf",
          "/etc/custos/serverd.conf.sample", "/etc/custos/agentd.conf.sample"]:
    t.ok(os.path.isfile(p(f)) and mode(f) == 0o640, "%s installed 0640" % f,
         oct(mode(f)) if os.path.exists(p(f)) else "missing")
t.ok(os.path.isdir(p("/etc/custos/plugins.d")) and os.listdir(p("/etc/custos/plugins.d")) == [],
     "/etc/custos/plugins.d installed, empty (nothing linked)")
t.ok(os.path.isdir(p("/var/lib/custos-agentd")) and mode("/var/lib/custos-agentd") == 0o700,
     "/var/lib/custos-agentd installed 0700")
for f in ["/usr/share/man/man8/custos-serverd.8", "/usr/share/man/man8/custos-agentd.8",
          "/usr/share/man/man5/custos.conf.5", "/usr/share/doc/custos/README.md",
          "/usr/share/doc/custos/api.md", "/usr/share/doc/custos/configuration.md",
          "/usr/share/doc/custos/operations.md", "/usr/share/custos/sql/001_init.sql"]:
    t.ok(os.path.isfile(p(f)), "%s installed" % f)
t.ok(not os.path.exists(p("/usr/etc")) and not os.path.exists(p("/usr/local")),
     "nothing under /usr/etc or /usr/local")

# the cron line: installed, commented out, naming the installed program
with open(p("/etc/cron.d/custos-agentd")) as f:
    cron = f.read()
lines = [l for l in cron.splitlines() if "custos-agentd -c" in l]
t.ok(len(lines) == 1 and lines[0].startswith("#* * * * * root /usr/bin/custos-agentd "
                                              "-c /etc/custos/agentd.conf --once"),
     "cron.d/custos-agentd: the --once line, commented out, with /usr/bin", cron)

unitdir = "/lib/systemd/system"
units = {"custos-serverd.service": "/usr/bin/custos-serverd -c /etc/custos/serverd.conf",
         "custos-agentd.service": "/usr/bin/custos-agentd -c /etc/custos/agentd.conf"}
for unit, want in units.items():
    path = p(unitdir + "/" + unit)
    with open(path) as f:
        text = f.read()
    execs = re.findall(r"^ExecStart=(.*)$", text, re.M)
    t.eq(execs, [want], "%s: ExecStart=%s" % (unit, want))
    t.ok(os.access(p(want.split()[0]), os.X_OK), "%s: its ExecStart program is installed" % unit)
    t.ok("PrivateTmp=yes" not in text or unit == "custos-serverd.service",
         "%s: PrivateTmp only for serverd (checks see the host's /tmp)" % unit)
    docs = re.findall(r"^Documentation=(.*)$", text, re.M)
    for ref in " ".join(docs).split():
        m = re.match(r"man:([\w.-]+)\((\d)\)$", ref)
        t.ok(m and os.path.isfile(p("/usr/share/man/man%s/%s.%s" % (m.group(2), m.group(1), m.group(2)))),
             "%s: Documentation=%s is installed" % (unit, ref))

# nothing left unsubstituted in the generated files
for f in ["/etc/custos/serverd.conf", "/etc/custos/agentd.conf", "/etc/cron.d/custos-agentd",
          unitdir + "/custos-serverd.service", unitdir + "/custos-agentd.service"]:
    with open(p(f)) as fh:
        left = re.findall(r"@[a-zA-Z_]+@", fh.read())
    t.eq(left, [], "%s: every @placeholder@ substituted" % f)

# the installed agent configuration is valid for the installed agent
rc, out = run([p("/usr/bin/custos-agentd"), "-c", p("/etc/custos/agentd.conf"),
               "--test", "load", "period=1"])
t.ok(out.startswith("LOAD ") and "error" not in out,
     "the installed agentd.conf loads (custos-agentd -c it --test load)", out)

if have("systemd-analyze"):
    verify_root(t, dest, list(units), "make install")
    exposure(t, dest, "custos-serverd.service", 3.0, "make install")
    exposure(t, dest, "custos-agentd.service", 6.0, "make install")
else:
    t.ok(True, "# SKIP systemd-analyze not installed (scripts/install-deps --test)")

# a second install keeps the admin's configuration and refreshes the sample
with open(p("/etc/custos/serverd.conf"), "a") as f:
    f.write("log_level = debug\n")
rc, out = run(["make", "install", "DESTDIR=" + dest], cwd=src)
with open(p("/etc/custos/serverd.conf")) as f:
    t.ok(rc == 0 and "log_level = debug" in f.read(), "make install again keeps serverd.conf", out[-2000:])
t.ok("kept " + p("/etc/custos/serverd.conf") in out, "and says so")

# uninstall: the programs go, the changed configuration stays
rc, out = run(["make", "uninstall", "DESTDIR=" + dest], cwd=src)
t.ok(rc == 0 and not os.path.exists(p("/usr/bin/custos-serverd")), "make uninstall", out[-2000:])
t.ok(os.path.exists(p("/etc/custos/serverd.conf")) and not os.path.exists(p("/etc/custos/agentd.conf")),
     "uninstall keeps the changed serverd.conf, removes the untouched agentd.conf")

# --with-systemdsystemunitdir=DIR puts the units there; --prefix=/usr alone
# means /etc and /var, not /usr/etc (a new configure, no build)
rc, out = run("./configure -q --prefix=/usr --with-systemdsystemunitdir=/usr/lib/systemd/system && "
              "make install-systemdsystemunitDATA install-data-local DESTDIR=%s/dest2" % tmp, cwd=src)
dest2 = os.path.join(tmp, "dest2")
t.ok(rc == 0 and os.path.isfile(os.path.join(dest2, "usr/lib/systemd/system/custos-serverd.service")),
     "--with-systemdsystemunitdir=DIR", out[-2000:])
t.ok(os.path.isfile(os.path.join(dest2, "etc/custos/serverd.conf")) and
     os.path.isdir(os.path.join(dest2, "var/lib/custos-agentd")) and
     not os.path.exists(os.path.join(dest2, "usr/etc")),
     "--prefix=/usr alone: configuration in /etc, state in /var", out[-2000:])
t.done()
