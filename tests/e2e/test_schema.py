"""End-to-end: the schema a new database gets from the migrations and the
functions (sql/functions/) is the one checked in as sql/schema.sql
(scripts/gen-schema), every function has its file, the functions are
applied again at every start, two servers starting at once on a new
database both succeed, an old database with data is migrated in place to
the same schema, and an older serverd refuses a newer database."""
import difflib
import glob
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Tap, SERVERD, SRCDIR  # noqa: E402

t = Tap()
env = Env(start=False)
GEN = os.path.join(SRCDIR, "scripts", "gen-schema")


def migrate(conf):
    return subprocess.run([SERVERD, "-c", conf, "--migrate"], capture_output=True, text=True,
                          timeout=120)


def schema(conninfo):
    out = subprocess.run([GEN, conninfo], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError("gen-schema: " + out.stderr)
    return out.stdout


# ---- a new database is sql/schema.sql -------------------------------------------------
out = migrate(env.server.conf_path)
t.eq(out.returncode, 0, "--migrate makes a new database")
got = schema(env.cluster.conninfo)
want = open(os.path.join(SRCDIR, "sql", "schema.sql")).read()
diff = list(difflib.unified_diff(want.splitlines(), got.splitlines(), "sql/schema.sql",
                                 "a new database", lineterm="", n=2))
t.ok(not diff, "a new database has the schema of sql/schema.sql (else: scripts/gen-schema)",
     "\n".join(diff[:80]))

# ---- one file per function, and every file applied -----------------------------------------
files = sorted(os.path.basename(f)[:-4]
               for f in glob.glob(os.path.join(SRCDIR, "sql", "functions", "*.sql")))
funcs = sorted(set(r[0] for r in env.cluster.psql(
    "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
    "WHERE n.nspname = 'public'")))
t.eq([f for f in funcs if f != "history_tops"], files,
     "the functions in the database are the files of sql/functions (history_tops() is generated)")
t.ok(all("CREATE OR REPLACE FUNCTION " + f + "(" in
         open(os.path.join(SRCDIR, "sql", "functions", f + ".sql")).read() for f in files),
     "each file makes the function it is named after, with CREATE OR REPLACE")
mig = "".join(open(f).read() for f in glob.glob(os.path.join(SRCDIR, "sql", "[0-9]*.sql")))
t.ok("CREATE OR REPLACE FUNCTION" not in mig,
     "no migration replaces a function (a migration keeps tables and data)")

# ---- the functions are applied at every start ---------------------------------------------
env.cluster.psql("CREATE OR REPLACE FUNCTION status_name(s smallint) RETURNS text "
                 "LANGUAGE sql IMMUTABLE AS $$ SELECT 'changed by hand' $$")
out = migrate(env.server.conf_path)
t.eq(out.returncode, 0, "--migrate again: nothing to migrate")
t.eq(env.cluster.psql("SELECT status_name(2::smallint)"), [["CRITICAL"]],
     "a function changed by hand is the file's again after the next start")
t.eq(schema(env.cluster.conninfo), got, "and the schema is as before")

# ---- two servers starting at once on a new database -------------------------------------------
env.cluster.psql("CREATE DATABASE twice")
conf2 = os.path.join(env.tmp, "twice.conf")
with open(conf2, "w") as f:
    for line in open(env.server.conf_path):
        if line.startswith("database ="):
            line = "database = %s\n" % env.cluster.conninfo.replace("dbname=custos",
                                                                   "dbname=twice")
        f.write(line)
results = [None, None]


def run(i):
    results[i] = migrate(conf2)


threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
for th in threads:
    th.start()
for th in threads:
    th.join()
t.ok(all(r.returncode == 0 for r in results), "two --migrate at once on a new database: both succeed",
     [r.stderr[-400:] for r in results])
applied = sum(r.stderr.count("migrate: applying 001_init.sql") for r in results)
t.eq(applied, 1, "and the migrations ran once")
t.eq(schema(env.cluster.conninfo.replace("dbname=custos", "dbname=twice")), got,
     "the same schema")

# ---- an old database with data, migrated in place ----------------------------------------------
# made by the migrations up to 004 (the functions as those versions left them do not
# matter: the files replace them all), with a check and results of two days; 005 then
# moves the results into day partitions it makes itself
sqldir = os.path.join(SRCDIR, "sql")
script = ["CREATE DATABASE upgraded;", "\\c upgraded",
          "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
          " applied_at timestamptz NOT NULL DEFAULT now());"]
for f in sorted(glob.glob(os.path.join(sqldir, "00[1-4]_*.sql"))):
    base = os.path.basename(f)
    script += ["BEGIN;", open(f).read(),
               "INSERT INTO schema_migrations (version, name) VALUES (%d, '%s');"
               % (int(base[:3]), base), "COMMIT;"]
script += ["INSERT INTO agents (name, token_hash, facts) VALUES ('old', 'x', '{\"os\": \"linux\"}');",
           "INSERT INTO checks (agent_id, name, type) SELECT id, 'ping', 'ping' FROM agents;",
           # what the trigger of the time did (here the migrations' stand-ins do nothing)
           "INSERT INTO check_state (check_id, agent_id) SELECT id, agent_id FROM checks;",
           "INSERT INTO check_history (check_id, agent_id, status, observed_at)"
           " SELECT c.id, c.agent_id, 2, now() - interval '3 days' FROM checks c"
           " UNION ALL SELECT c.id, c.agent_id, 0, now() FROM checks c;"]
env.cluster.psql_script("\n".join(script))
conf3 = os.path.join(env.tmp, "upgraded.conf")
with open(conf3, "w") as f:
    for line in open(env.server.conf_path):
        if line.startswith("database ="):
            line = "database = %s\n" % env.cluster.conninfo.replace("dbname=custos",
                                                                   "dbname=upgraded")
        f.write(line)
out = migrate(conf3)
t.ok(out.returncode == 0 and "applying 005_history.sql" in out.stderr,
     "an old database with data: migrated in place", out.stderr[-600:])
up = env.cluster.conninfo.replace("dbname=custos", "dbname=upgraded")
cmd = [up if x == env.cluster.conninfo else x for x in env.cluster.psql_cmd(
    "-c", "SELECT (SELECT count(*) FROM check_history),"
    " (SELECT count(DISTINCT tableoid) FROM check_history),"
    " (SELECT count(*) FROM agent_facts_history),"
    " (SELECT check_json(c)->'state'->>'last_result_at' IS NOT NULL FROM checks c)")]
rows = subprocess.run(cmd, capture_output=True, text=True).stdout.split()
t.eq(rows, ["2|2|1|t"], "its results in two day partitions, its facts in their history, its check object whole")
t.eq(schema(up), got, "and its schema is a new database's")

# ---- an older serverd does not put its functions over a newer one's -----------------------------
env.cluster.psql("INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')")
env.cluster.psql("CREATE OR REPLACE FUNCTION status_name(s smallint) RETURNS text "
                 "LANGUAGE sql IMMUTABLE AS $$ SELECT 'newer' $$")
out = migrate(env.server.conf_path)
t.ok(out.returncode != 0 and "9999_future.sql" in out.stderr and "newer" in out.stderr,
     "a database with a migration this serverd does not know: refused, saying which", out.stderr)
t.eq(env.cluster.psql("SELECT status_name(0::smallint)"), [["newer"]],
     "and its functions are left alone")
t.done()
