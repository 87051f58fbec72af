"""installlib.py - what the install, package and doc tests share.

They work on a copy of the source tree (the files a commit would hold), never
on the tree `make check` runs in, so the in-tree (sanitizer) build is left
alone. TAP output through tests/e2e/harness.py.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import harness  # noqa: E402
from harness import Tap, SRCDIR  # noqa: E402,F401

# build products that must not be copied from a tree that is not a git checkout
_SKIP = re.compile(r"^(build[^/]*|run|autom4te\.cache|\.git)(/|$)|\.(o|a|log|trs)$")


def source_files():
    """The tree's files as a commit would hold them: tracked + new unignored."""
    try:
        out = subprocess.run(["git", "-C", SRCDIR, "ls-files", "-co", "--exclude-standard", "-z"],
                             capture_output=True, check=True)
        return [f for f in out.stdout.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for dirpath, dirnames, filenames in os.walk(SRCDIR):
            for name in filenames:
                rel = os.path.relpath(os.path.join(dirpath, name), SRCDIR)
                if not _SKIP.search(rel):
                    files.append(rel)
        return files


def copy_tree(dst):
    """Copies the source tree to dst (created); returns dst."""
    for rel in source_files():
        src = os.path.join(SRCDIR, rel)
        if not os.path.lexists(src):
            continue   # deleted but not yet committed
        out = os.path.join(dst, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        shutil.copy2(src, out, follow_symlinks=False)
    return dst


def tmpdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    if not os.environ.get("CUSTOS_KEEP_TMP"):
        import atexit
        atexit.register(shutil.rmtree, d, True)
    return d


def run(cmd, cwd=None, env=None, timeout=900):
    """Runs cmd (a list, or a string for sh -c); returns (rc, stdout+stderr)."""
    shell = isinstance(cmd, str)
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(cmd, cwd=cwd, env=e, shell=shell, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace")


def have(prog):
    return shutil.which(prog) is not None


def verify_root(t, root, units, what):
    """systemd-analyze verify --root on units installed in root: the root gets
    the host's targets and /bin/kill so that only our units are judged, and
    man: references are looked up in root's man pages."""
    unitdir = os.path.join(root, "lib", "systemd", "system")
    for name in os.listdir("/lib/systemd/system"):
        if name.endswith(".target") and not os.path.exists(os.path.join(unitdir, name)):
            shutil.copy2(os.path.join("/lib/systemd/system", name), unitdir,
                         follow_symlinks=True)
    os.makedirs(os.path.join(root, "bin"), exist_ok=True)
    if not os.path.exists(os.path.join(root, "bin", "kill")):
        shutil.copy2("/bin/kill", os.path.join(root, "bin", "kill"))
    rc, out = run(["systemd-analyze", "verify", "--root=" + root] + units,
                  env={"MANPATH": os.path.join(root, "usr", "share", "man")})
    t.ok(rc == 0 and out.strip() == "", "%s: systemd-analyze verify --root is clean" % what, out)


def exposure(t, root, unit, limit, what):
    """systemd-analyze security --offline: the unit's overall exposure <= limit."""
    rc, out = run(["systemd-analyze", "security", "--offline=true", "--root=" + root, unit])
    m = re.search(r"Overall exposure level for %s: ([0-9.]+)" % re.escape(unit), out)
    score = float(m.group(1)) if m else None
    t.ok(score is not None and score <= limit,
         "%s: %s exposure %s <= %.1f" % (what, unit, score, limit), out[-3000:])
    return score
