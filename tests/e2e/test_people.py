#!/usr/bin/python3
"""test_people.py - people (/api/v1/users): users of each role, password
logins (argon2id; the hash never leaves the server), failed logins slowed
per user and per address (429 + Retry-After), the operator role (ack,
downtimes, enable/disable; no configuration), acknowledgements and
downtimes recording the person, contacts kept as users by the migration
(an old-schema database migrated in place), redaction for non-admins."""
import glob
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BUILDDIR, Env, Tap  # noqa: E402

t = Tap()
# the loopback is a trusted proxy: a request with X-Forwarded-For comes from
# the address it names, one without it from 127.0.0.1
env = Env(conf={"trusted_proxies": "127.0.0.1"})
A = env.admin
S = env.server
PO = "u" * 29 + "1"
aid, atok = env.make_agent("web01")
cid = env.make_check(aid, "load", max_attempts=1)
env.post_results(atok, [{"check_id": cid, "status": 2, "output": "high"}])


def api(method, path, who=None, body=None, headers=None):
    return S.request(method, path, who, body, headers=headers)


def login(user, password):
    return S.request("POST", "/api/v1/session", body={"user": user, "password": password},
                     fresh=True)


def cookie(user, password):
    st, e, h = login(user, password)
    if st != 204:
        raise RuntimeError("login %s: %s %s" % (user, st, e))
    return {"Cookie": h["set-cookie"].split(";")[0]}


def as_(hdrs, method, path, body=None):
    h = dict(hdrs)
    if method != "GET":
        h["Content-Type"] = "application/json"   # a write under a cookie must say it
    return S.request(method, path, body=body, headers=h)


# ---- users: create, validate, read -----------------------------------------------
made = {}
for name, role, pw in [("adam", "admin", "adam-secret-1"), ("alice", "operator", "alice-pw-123"),
                       ("vic", "viewer", "vic-password"), ("bob", "viewer", "bob-password")]:
    st, u, h = api("POST", "/api/v1/users", A, {"name": name, "role": role, "password": pw,
                                                "email": name + "@example.org",
                                                "tz": "Europe/Paris", "pushover_user": PO})
    made[name] = u
    t.ok(st == 201 and u["role"] == role and u["has_password"] is True and
         u["tz"] == "Europe/Paris" and "password" not in u and "password_hash" not in u and
         h.get("location") == "/api/v1/users/%d" % u["id"],
         "create %s (%s): 201, has_password, no hash" % (name, role), (st, u, h))
st, u, _ = api("POST", "/api/v1/users", A, {"name": "nopw"})
t.ok(st == 201 and u["role"] == "viewer" and u["tz"] == "UTC" and u["has_password"] is False,
     "a user without anything else: a viewer in UTC without a password", (st, u))
for body, code, why in [
        ({"name": "x", "tz": "Mars/Olympus"}, 422, "an unknown zone"),
        ({"name": "x", "tz": "../../etc/passwd"}, 422, "a path out of zoneinfo"),
        ({"name": "x", "tz": "Europe/../Europe/Paris"}, 422, "a '..' component"),
        ({"name": "x", "role": "root"}, 422, "an unknown role"),
        ({"name": "x", "password": "short"}, 422, "a password under 8 characters"),
        ({"name": "x", "password": 12345678}, 400, "a password that is not a string"),
        ({"name": "x", "password_hash": "$argon2id$"}, 422, "setting the hash"),
        ({"name": ""}, 422, "an empty name"),
        ({"name": "alice"}, 409, "a taken name"),
        ({"name": "x", "pushover_user": "short"}, 422, "a bad Pushover key")]:
    st, e, _ = api("POST", "/api/v1/users", A, body)
    t.eq(st, code, "%s: %d" % (why, code))
t.eq(env.cluster.psql("SELECT count(*) FROM contacts WHERE name = 'x'")[0][0], "0",
     "refused users stored nothing")
st, e, _ = api("POST", "/api/v1/users", A, {"name": "z", "tz": "America/New_York"})
t.eq(st, 201, "America/New_York is a zone")
hashes = env.cluster.psql("SELECT password_hash FROM contacts WHERE name = 'alice'")[0][0]
t.ok(hashes.startswith("$argon2id$"), "stored as an argon2id string", hashes[:10])
st, lst, _ = api("GET", "/api/v1/users", A)
text = json.dumps(lst)
t.ok(st == 200 and "$argon2" not in text and "password_hash" not in text and
     {"adam", "alice", "vic", "bob", "nopw"} <= {x["name"] for x in lst["items"]},
     "the list has every user and no hash", text[:300])

# ---- password logins ---------------------------------------------------------------
st, e, h = login("alice", "alice-pw-123")
t.ok(st == 204 and h.get("set-cookie", "").startswith("custos_session="),
     "alice logs in with her password: 204 and a cookie", (st, e))
AL = {"Cookie": h["set-cookie"].split(";")[0]}
st, who, _ = as_(AL, "GET", "/api/v1/session")
t.ok(st == 200 and who == {"name": "alice", "role": "operator", "user_id": made["alice"]["id"]},
     "GET session: alice, operator, her user id", who)
st, e, h = login("alice", "wrong-password")
t.ok(st == 401 and "set-cookie" not in h and "argon" not in json.dumps(e),
     "a wrong password: 401, no cookie", (st, e))
st, e2, _ = login("nobody", "whatever-pw")
t.ok(st == 401 and e2 == e, "an unknown user: the same 401, word for word", (e, e2))
st, e, _ = login("nopw", "anything-at-all")
t.eq(st, 401, "a user without a password cannot log in")
st, e, _ = S.request("POST", "/api/v1/session", body={"user": "alice"}, fresh=True)
t.eq(st, 422, "user without password: 422")
st, e, _ = S.request("POST", "/api/v1/session",
                     body={"user": "alice", "password": "alice-pw-123", "token": A}, fresh=True)
t.eq(st, 422, "a token and a password at once: 422")
fails = [x for x in S.log().splitlines() if "failed login as" in x]
t.ok(any('"alice" from 127.0.0.1 (wrong password)' in x for x in fails) and
     any('"nobody" from 127.0.0.1 (no such user)' in x for x in fails) and
     not any("wrong-password" in x for x in fails),
     "failed logins logged with the name, the address and why (never the password)", fails)

# slowed per user: the 5th failure in a row closes the name for 5 s; the
# right password is refused while it is closed, other users are not affected
codes = [login("bob", "not-bobs-%d" % i)[0] for i in range(5)]
t.eq(codes, [401] * 5, "bob: five wrong passwords, five 401s")
st, e, h = login("bob", "bob-password")
t.ok(st == 429 and int(h.get("retry-after", "0")) >= 1 and e.get("retry_after_s", 0) >= 1,
     "then even the right password: 429 with Retry-After", (st, e, h.get("retry-after")))
t.ok(any('login as "bob" from 127.0.0.1 refused' in x for x in S.log().splitlines()),
     "the refusal is logged with the address")
st, e, h = login("vic", "vic-password")
t.eq(st, 204, "another user still logs in from the same address")
VI = {"Cookie": h["set-cookie"].split(";")[0]}

# ---- the operator role -------------------------------------------------------------
st, ack, _ = as_(AL, "POST", "/api/v1/checks/%d/ack" % cid, {"comment": "on it"})
t.ok(st == 201 and ack.get("by") == "alice", "an operator acknowledges; by alice", (st, ack))
by = env.cluster.psql("SELECT detail->>'by' FROM events WHERE kind = 'ACKNOWLEDGEMENT' "
                      "AND check_id = %d" % cid)
t.eq(by, [["alice"]], "the ACKNOWLEDGEMENT event records alice")
st, e, _ = as_(AL, "DELETE", "/api/v1/checks/%d/ack" % cid)
t.ok(st in (200, 204), "an operator removes an acknowledgement", (st, e))
st, dt, _ = as_(AL, "POST", "/api/v1/downtimes",
                {"check_id": cid, "end": "2099-01-01T00:00:00Z", "comment": "patching"})
t.ok(st == 201 and dt.get("created_by") == "alice", "an operator sets a downtime; created_by alice",
     (st, dt))
st, e, _ = as_(AL, "DELETE", "/api/v1/downtimes/%d" % dt["id"])
t.eq(st, 204, "and deletes it")
by = env.cluster.psql("SELECT detail->>'by' FROM events WHERE kind = 'DOWNTIME END' "
                      "AND check_id = %d" % cid)
t.eq(by, [["alice"]], "the DOWNTIME END of the deletion records alice")
st, c, _ = as_(AL, "PATCH", "/api/v1/checks/%d" % cid, {"enabled": False})
t.ok(st == 200 and c.get("enabled") is False, "an operator disables a check", (st, c))
st, c, _ = as_(AL, "PATCH", "/api/v1/checks/%d" % cid, {"enabled": True})
t.ok(st == 200 and c.get("enabled") is True, "and enables it", (st, c))
for method, path, body, why in [
        ("PATCH", "/api/v1/checks/%d" % cid, {"max_attempts": 5}, "edit a check's configuration"),
        ("PATCH", "/api/v1/checks/%d" % cid, {"enabled": False, "name": "x"},
         "enable with a configuration change"),
        ("POST", "/api/v1/checks", {"agent_id": aid, "name": "n", "type": "load",
                                    "params": {"period": 1}}, "create a check"),
        ("POST", "/api/v1/contacts", {"name": "c", "email": "c@example.org"}, "create a contact"),
        ("POST", "/api/v1/users", {"name": "mallory", "role": "admin"}, "create a user"),
        ("PATCH", "/api/v1/users/%d" % made["alice"]["id"], {"role": "admin"}, "promote herself"),
        ("POST", "/api/v1/tokens", {"name": "t", "role": "admin"}, "make a token")]:
    st, e, _ = as_(AL, method, path, body)
    t.eq(st, 403, "an operator cannot %s: 403" % why)
t.eq(env.cluster.psql("SELECT max_attempts, name FROM checks WHERE id = %d" % cid),
     [["1", "load"]], "the check's configuration is unchanged")
st, e, _ = as_(VI, "POST", "/api/v1/checks/%d/ack" % cid, {"comment": "x"})
t.eq(st, 403, "a viewer cannot acknowledge")
st, e, _ = as_(VI, "POST", "/api/v1/downtimes", {"check_id": cid, "end": "2099-01-01T00:00:00Z"})
t.eq(st, 403, "nor set a downtime")
st, e, _ = as_(VI, "PATCH", "/api/v1/checks/%d" % cid, {"enabled": False})
t.eq(st, 403, "nor disable a check")

# an operator token: the same rights, and the token's name recorded
st, tok, _ = api("POST", "/api/v1/tokens", A, {"name": "pager-bot", "role": "operator"})
t.ok(st == 201 and tok["role"] == "operator", "an operator token", (st, tok))
OT = tok["token"]
st, ack, _ = api("POST", "/api/v1/checks/%d/ack" % cid, OT, {"comment": "bot"})
t.ok(st == 201 and ack.get("by") == "pager-bot", "an operator token acknowledges; by pager-bot",
     (st, ack))
st, e, _ = api("PATCH", "/api/v1/checks/%d" % cid, OT, {"max_attempts": 3})
t.eq(st, 403, "and cannot edit a check")
st, e, _ = api("GET", "/api/v1/status", OT)
t.eq(st, 200, "and reads")
st, e, _ = api("POST", "/api/v1/tokens", A, {"name": "bad", "role": "root"})
t.eq(st, 422, "a token's role is admin, operator or viewer")

# an admin user: configuration too
AD = cookie("adam", "adam-secret-1")
st, c, _ = as_(AD, "PATCH", "/api/v1/checks/%d" % cid, {"max_attempts": 2})
t.eq(st, 200, "an admin user edits a check")

# ---- redaction -----------------------------------------------------------------------
st, u, _ = as_(VI, "GET", "/api/v1/users/%d" % made["alice"]["id"])
t.ok(st == 200 and "pushover_user" not in u and u.get("redacted") == ["pushover_user"] and
     u["email"] == "alice@example.org", "a viewer reads a user without the Pushover key", u)
st, lst, _ = as_(AL, "GET", "/api/v1/users")
t.ok(st == 200 and PO not in json.dumps(lst), "an operator's list has no Pushover key")
st, u, _ = api("GET", "/api/v1/users/%d" % made["alice"]["id"], A)
t.ok(u.get("pushover_user") == PO and "redacted" not in u, "an admin reads it", u)

# ---- contacts are users ----------------------------------------------------------------
st, ct, _ = api("POST", "/api/v1/contacts", A, {"name": "carol", "email": "carol@example.org",
                                                "pushover_user": PO})
st, u, _ = api("GET", "/api/v1/users/%d" % ct["id"], A)
t.ok(st == 200 and u["name"] == "carol" and u["role"] == "viewer" and
     u["has_password"] is False and u["pushover_user"] == PO,
     "a contact made through /contacts is a user (viewer, no password)", u)
st, c2, _ = api("GET", "/api/v1/contacts/%d" % made["alice"]["id"], A)
t.ok(st == 200 and c2["name"] == "alice" and c2["email"] == "alice@example.org",
     "a user is a contact, with the same id", c2)
st, e, _ = api("PATCH", "/api/v1/users/%d" % ct["id"], A, {"role": "operator",
                                                            "password": "carol-pw-99"})
t.eq(st, 200, "a contact is given a role and a password")
CA = cookie("carol", "carol-pw-99")
st, who, _ = as_(CA, "GET", "/api/v1/session")
t.eq(who.get("role"), "operator", "and logs in as an operator")

# ---- role changes, password changes, deletion ---------------------------------------------
st, e, _ = api("PATCH", "/api/v1/users/%d" % ct["id"], A, {"role": "viewer"})
st, e, _ = as_(CA, "POST", "/api/v1/checks/%d/ack" % cid, {"comment": "x"})
t.eq(st, 403, "a new role applies to an open session at once")
st, e, _ = api("PATCH", "/api/v1/users/%d" % made["alice"]["id"], A, {"password": "new-alice-pw"})
t.ok(st == 200 and e["has_password"] is True, "alice's password changed", e)
st, e, _ = as_(AL, "GET", "/api/v1/session")
t.eq(st, 401, "her open session ended with it")
t.eq(login("alice", "alice-pw-123")[0], 401, "the old password no longer works")
AL = cookie("alice", "new-alice-pw")
st, e, _ = api("PATCH", "/api/v1/users/%d" % made["alice"]["id"], A, {"password": None})
t.ok(st == 200 and e["has_password"] is False, "a password removed", e)
t.eq(as_(AL, "GET", "/api/v1/session")[0], 401, "ends the sessions too")
st, e, _ = api("DELETE", "/api/v1/users/%d" % ct["id"], A)
t.eq(st, 204, "a user deleted")
t.eq(as_(CA, "GET", "/api/v1/status")[0], 401, "their session ends")
t.eq(api("GET", "/api/v1/contacts/%d" % ct["id"], A)[0], 404, "and the contact is gone")
t.eq(api("DELETE", "/api/v1/users/%d" % ct["id"], A)[0], 404, "deleting again: 404")

# ---- the migration keeps every contact ---------------------------------------------------
sqldir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sql")
files = sorted(glob.glob(os.path.join(sqldir, "[0-9]*.sql")))
before = [f for f in files if os.path.basename(f) < "024"]
ours = [f for f in files if os.path.basename(f).startswith("024_")]
script = ["CREATE DATABASE people_old;", "\\c people_old"]
for f in before:
    script += ["BEGIN;", open(f).read(), "COMMIT;"]
script += ["INSERT INTO contacts (name, email, pushover_user, notify_on) VALUES "
           "('old1', 'o1@example.org', '%s', ARRAY['critical']), "
           "('old2', NULL, NULL, DEFAULT);" % PO,
           "UPDATE contacts SET webhook_url = 'https://chat.example.org/x' WHERE name = 'old2';"]
script += ["BEGIN;", open(ours[0]).read(), "COMMIT;"]
script += ["SELECT 'ROW', name, COALESCE(email, '-'), COALESCE(pushover_user, '-'), "
           "array_to_string(notify_on, ','), COALESCE(webhook_url, '-'), role, tz, "
           "password_hash IS NULL FROM contacts ORDER BY name;"]
out = env.cluster.psql_script("\n".join(script))
rows = [x.split("|") for x in out.splitlines() if x.startswith("ROW|")]
t.eq(rows, [["ROW", "old1", "o1@example.org", PO, "critical", "-", "viewer", "UTC", "t"],
            ["ROW", "old2", "-", "-", "warning,critical,unknown,recovery,flapping,agent,"
             "acknowledgement", "https://chat.example.org/x", "viewer", "UTC", "t"]],
     "an old-schema database: every contact kept by 024, a viewer in UTC without a password")

# a name of the longest kind (200 bytes, not ASCII) is recorded whole
LONG = "é" * 100
st, u, _ = api("POST", "/api/v1/users", A, {"name": LONG, "role": "operator",
                                            "password": "long-name-pw"})
LC = cookie(LONG, "long-name-pw")
st, dt, _ = as_(LC, "POST", "/api/v1/downtimes", {"check_id": cid, "end": "2099-01-01T00:00:00Z"})
t.ok(st == 201 and dt.get("created_by") == LONG, "a 200-byte name is recorded whole", (st, dt))
as_(LC, "DELETE", "/api/v1/downtimes/%d" % dt["id"])

# ---- the command line: custos users ----------------------------------------------------


def cli(*args, stdin=None):
    e = {"HOME": env.tmp, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CUSTOS_TOKEN": A,
         "CUSTOS_URL": "http://127.0.0.1:%d" % S.port}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            e[k] = os.environ[k]
    p = subprocess.run([os.path.join(BUILDDIR, "custos")] + list(args), input=stdin,
                       capture_output=True, text=True, env=e, timeout=60)
    return p.returncode, p.stdout, p.stderr


rc, out, err = cli("users", "create", "dana", "--role", "operator", "--tz", "Asia/Tokyo",
                   "--email", "dana@example.org", "--password-stdin", stdin="dana-password-1\n")
t.ok(rc == 0 and "user dana created" in out, "custos users create --password-stdin", (rc, out, err))
t.eq(login("dana", "dana-password-1")[0], 204, "dana logs in with the password read from stdin")
rc, out, err = cli("users")
line = [x for x in out.splitlines() if x.startswith("dana ")]
t.ok(rc == 0 and line and "operator" in line[0] and "Asia/Tokyo" in line[0] and
     line[0].rstrip().endswith("yes"), "custos users lists her: role, zone, a password", out)
rc, out, err = cli("users", "show", "dana", "--json")
t.ok(rc == 0 and json.loads(out)["role"] == "operator" and "argon" not in out,
     "custos users show --json", (rc, out, err))
rc, out, err = cli("users", "edit", "dana", "--role", "viewer", "--no-password")
t.ok(rc == 0 and "user dana changed" in out, "custos users edit --role --no-password", (rc, out, err))
t.eq(login("dana", "dana-password-1")[0], 401, "then her password no longer logs in")
rc, out, err = cli("users", "create", "erin", "--password-stdin", stdin="")
t.ok(rc == 2 and "no password" in err, "--password-stdin with nothing to read: a usage error",
     (rc, err))
rc, out, err = cli("users", "create", "erin", "--tz", "Nowhere/Land")
t.ok(rc != 0 and "tz" in err, "a bad zone: the server's 422, said", (rc, err))
rc, out, err = cli("users", "delete", "dana")
t.ok(rc == 0 and "user dana deleted" in out, "custos users delete", (rc, out, err))
rc, out, err = cli("tokens", "create", "cli-op", "operator")
t.eq(rc, 0, "custos tokens create NAME operator")

# ---- behind a trusted proxy: the forwarded client's address is the one slowed -------------


def login_via(user, password, client):
    return S.request("POST", "/api/v1/session", body={"user": user, "password": password},
                     headers={"X-Forwarded-For": client}, fresh=True)


codes = []
for i in range(25):
    st, e, h = login_via("proxied%d" % i, "guess-password", "198.51.100.7")
    codes.append(st)
    if st == 429:
        break
t.ok(codes[-1] == 429 and len(codes) == 21, "20 failures from one forwarded client close it",
     codes)
t.eq(login_via("vic", "vic-password", "198.51.100.7")[0], 429, "for every user")
t.eq(login_via("vic", "vic-password", "198.51.100.8")[0], 204,
     "another client behind the same proxy still logs in")
t.ok(any('"proxied19" from 198.51.100.7 (no such user)' in x for x in S.log().splitlines()),
     "the log names the forwarded client")

# ---- slowed per address: beyond 20 failures from one address, everyone waits ----------------
codes = []
for i in range(25):
    st, e, h = login("guess%d" % i, "guess-password")
    codes.append(st)
    if st == 429:
        break
t.ok(codes[-1] == 429 and len(codes) <= 21, "failures from one address close it (429)", codes)
st, e, h = login("vic", "vic-password")
t.ok(st == 429 and int(h.get("retry-after", "0")) >= 1,
     "then a good login from that address waits too (429, Retry-After)", (st, h))

t.done()
