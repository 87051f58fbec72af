#!/usr/bin/python3
"""test_docs.py - the documentation cannot drift from the code: every route
of serverd's route table has its section in docs/api.md (with a curl
example), every key of both configuration parsers is documented in
docs/configuration.md, custos.conf(5) and the samples; the man pages render
without warnings; links resolve; every docs/ page is listed and installed;
nothing points outside the repository; the
README opens with the two commands."""
import glob
import os
import re
import subprocess

from installlib import Tap, SRCDIR, source_files, run, have

t = Tap()


def read(rel):
    with open(os.path.join(SRCDIR, rel), encoding="utf-8") as f:
        return f.read()


def sources(top):
    """C files under top/ (and its subfolders: serverd/ is being split)."""
    return sorted(glob.glob(os.path.join(SRCDIR, top, "**", "*.c"), recursive=True))


# ---- routes ------------------------------------------------------------------
ROUTE = re.compile(r'\{\s*"(GET|POST|PUT|PATCH|DELETE|HEAD)"\s*,\s*"(/[^"]*)"')
routes = []
for path in sources("serverd"):
    if os.path.basename(path) == "routes.c":
        with open(path) as f:
            routes += ROUTE.findall(f.read())
t.ok(len(routes) >= 30, "found serverd's route table (serverd/routes.c or serverd/api/routes.c): "
     "%d routes" % len(routes))
api = read("docs/api.md")
sections = {}
for m in re.finditer(r"^### (GET|POST|PUT|PATCH|DELETE) (\S+)\n(.*?)(?=^##|\Z)", api, re.M | re.S):
    sections[(m.group(1), m.group(2))] = m.group(3)
for method, path in routes:
    body = sections.get((method, path))
    t.ok(body is not None, "docs/api.md has a section for %s %s" % (method, path))
    if body is not None:
        t.ok("curl " in body and any(w in body for w in ("Role:", "No token", "session cookie")),
             "docs/api.md: %s %s names its role and has a curl example" % (method, path))
# every section of api.md has a curl example (also for routes not in the table yet)
no_curl = [k for k, v in sections.items() if "```sh\ncurl" not in v]
t.eq(no_curl, [], "every route section in docs/api.md has a curl example")
for status in ("400", "401", "403", "404", "405", "409", "413", "422", "503"):
    t.ok("| %s |" % status in api, "docs/api.md explains status %s" % status)

# ---- configuration keys -----------------------------------------------------
KEY_MACRO = re.compile(r"\{\s*[SIBE]\(\s*(\w+)")                  # { S(listen) }
KEY_PLAIN = re.compile(r'\{\s*"(\w+)"\s*,\s*CONF_[A-Z]+')            # { "server", CONF_STR, ...


def parser_keys(top):
    keys = []
    for path in sources(top):
        with open(path) as f:
            text = f.read()
        if "conf_key" in text and ("conf_load(" in text or "CONF_STR" in text):
            keys += KEY_MACRO.findall(text) + KEY_PLAIN.findall(text)
    return sorted(set(keys))


server_keys, agent_keys = parser_keys("serverd"), parser_keys("agentd")
t.ok(len(server_keys) >= 20, "serverd's configuration keys found: %d" % len(server_keys), server_keys)
t.ok(len(agent_keys) >= 8, "agentd's configuration keys found: %d" % len(agent_keys), agent_keys)
# keys of the contract that the parsers may be getting in parallel work
server_keys = sorted(set(server_keys) | {"max_clock_skew_s", "smtp_ca_file", "history_retention_days",
                                          "rollup_minute_days", "rollup_hour_days",
                                          "max_connections_per_ip"})
agent_keys = sorted(set(agent_keys) | {"log_dirs", "state_dir", "timeout_s"})
conf_md = read("docs/configuration.md")
man5 = read("man/custos.conf.5")
samples = {"serverd": read("conf/serverd.conf.sample.in"), "agentd": read("conf/agentd.conf.sample.in")}
for daemon, keys in (("serverd", server_keys), ("agentd", agent_keys)):
    for k in keys:
        t.ok(re.search(r"^\| `%s` \| [^|]+ \| [^|]+\|" % k, conf_md, re.M),
             "docs/configuration.md: %s key %s, with its default" % (daemon, k))
        t.ok("\\fB%s\\fR = " % k.replace("-", "\\-") in man5, "custos.conf(5): %s key %s" % (daemon, k))
        t.ok(re.search(r"^#?%s =" % k, samples[daemon], re.M),
             "conf/%s.conf.sample: %s" % (daemon, k))

# ---- man pages ---------------------------------------------------------------
for page in ("man/custos-serverd.8", "man/custos-agentd.8", "man/custos.conf.5"):
    path = os.path.join(SRCDIR, page)
    p = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", path],
                       capture_output=True, text=True)
    t.ok(p.returncode == 0 and p.stderr.strip() == "" and len(p.stdout) > 1000,
         "man --warnings renders %s clean" % page, p.stderr)
    if have("lexgrog"):
        rc, out = run(["lexgrog", path])
        t.ok(rc == 0, "%s: its NAME section parses (lexgrog)" % page, out)

# ---- every file of docs/ is listed where a reader and the packages look -------
# docs/index.md (a link), the README's Documentation list (a link), the
# installed docs (Makefile.am's dist_doc_DATA) and the Debian package's
# (debian/custos-common.docs). A new page missing from one of them fails
# here by name.
doc_files = sorted(os.path.basename(p) for p in glob.glob(os.path.join(SRCDIR, "docs", "*.md")))
dist_doc = re.search(r"^dist_doc_DATA\s*=\s*((?:.*\\\n)*.*)$", read("Makefile.am"), re.M)
dist_doc = dist_doc.group(1).replace("\\\n", " ").split() if dist_doc else []
deb_docs = read("debian/custos-common.docs").split()
readme_text = read("README.md")
index_text = read("docs/index.md")
for name in doc_files:
    rel = "docs/" + name
    if name != "index.md":
        t.ok("](%s)" % name in index_text, "docs/index.md links to %s" % rel)
    t.ok("](%s)" % rel in readme_text, "README.md's Documentation list links to %s" % rel)
    t.ok(rel in dist_doc, "Makefile.am's dist_doc_DATA installs %s" % rel)
    t.ok(rel in deb_docs, "debian/custos-common.docs ships %s" % rel)
t.eq(sorted(f for f in dist_doc + deb_docs if not os.path.exists(os.path.join(SRCDIR, f))), [],
     "the install lists name no file that is gone")

# ---- links and references ---------------------------------------------------
docs = ["README.md"] + sorted(os.path.relpath(p, SRCDIR) for p in glob.glob(os.path.join(SRCDIR, "docs", "*.md")))


def slug(title):
    s = re.sub(r"[^\w\- ]", "", title.strip().lower().replace("`", ""))
    return s.replace(" ", "-")


anchors = {}
for d in docs:
    anchors[d] = {slug(h) for h in re.findall(r"^#+ (.*)$", read(d), re.M)}
bad = []
for d in docs:
    for target in re.findall(r"\]\(([^)\s]+)\)", read(d)):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, frag = target.partition("#")
        rel = os.path.normpath(os.path.join(os.path.dirname(d), path)) if path else d
        if not os.path.exists(os.path.join(SRCDIR, rel)):
            bad.append("%s: %s (no such file)" % (d, target))
        elif frag and rel in anchors and frag not in anchors[rel]:
            bad.append("%s: %s (no such heading)" % (d, target))
t.eq(bad, [], "every link in README.md and docs/ resolves (files and headings)")

# a path to the shared folder beside the repository, the name of a design
# file the repository does not hold, or an issue number, anywhere in the
# tree: the design is docs/design.md and the choices are in
# docs/decisions.md, which a reader of the code has. (The patterns are
# spelled so that this file does not match them itself.)
outside = []
me = os.path.relpath(os.path.abspath(__file__), SRCDIR)
for rel in source_files():
    if rel == me or not os.path.isfile(os.path.join(SRCDIR, rel)):
        continue
    try:
        text = read(rel)
    except (UnicodeDecodeError, OSError):
        continue
    for n, line in enumerate(text.splitlines(), 1):
        if re.search(r"\.\./shared|/work/shared|(DESIGN|DASHBOARD)\.md|[Ii]ssue #?\d", line):
            outside.append("%s:%d: %s" % (rel, n, line.strip()))
t.eq(outside, [], "nothing refers to files outside the repository (the shared folder, the "
     "old design file, issue numbers): docs/design.md and docs/decisions.md instead")

# the demo installs what running custos needs; benchmark and test tools
# come with --bench / --test / --valgrind
deps = read("scripts/install-deps")
base = re.search(r'^BASE="(.*?)"', deps, re.M | re.S)
base_pkgs = base.group(1).split() if base else []
t.ok(base_pkgs and not set(base_pkgs) & {"valgrind", "wrk", "zabbix-agent", "monit", "lintian",
                                          "debhelper", "libcmocka-dev"},
     "install-deps without options (the demo's) installs no benchmark or test tools", base_pkgs)
t.ok(re.search(r'^"\$top/scripts/install-deps"$', read("scripts/demo"), re.M),
     "scripts/demo runs install-deps without options")

readme = read("README.md")
m = re.search(r"```sh\n(.*?)```", readme, re.S)
cmds = [l.split("#")[0].strip() for l in (m.group(1) if m else "").splitlines()]
t.eq(cmds, ["scripts/demo", "scripts/check"], "README opens with the two commands")
t.ok(readme.index("```sh") < 1500, "the two commands come first, after one paragraph")
t.ok(re.search(r"^exec \./scripts/check$", read(".ci/run"), re.M), ".ci/run runs scripts/check")
t.ok(not re.search(r"\bsudo\b", readme + "".join(read(d) for d in docs)),
     "no sudo in README and docs/ (Debian does not install it)")
t.done()
