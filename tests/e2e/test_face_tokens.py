"""End-to-end: /api/v1/tokens - admin-only list/create/revoke; a revoked
token is refused at once on this instance and, through NOTIFY custos_auth,
on another instance that had it cached."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Server, Tap, wait_for  # noqa: E402

t = Tap()
env = Env()
A = env.admin
b = Server(env.tmp, env.cluster, name="serverd-b").start()

st, body, _ = env.api("GET", "/api/v1/tokens")
t.eq(st, 401, "no token: 401")

st, made, h = env.api("POST", "/api/v1/tokens", A, {"name": "grafana", "role": "viewer"})
t.eq(st, 201, "admin creates a viewer token")
t.ok(isinstance(made.get("token"), str) and len(made["token"]) == 64, "the token is shown once")
t.eq(made.get("role"), "viewer", "with its role")
t.eq(h.get("location"), "/api/v1/tokens/%d" % made["id"], "Location names it")
V = made["token"]

st, body, _ = env.api("GET", "/api/v1/tokens", V)
t.eq(st, 403, "a viewer cannot list tokens")
st, body, _ = env.api("POST", "/api/v1/tokens", V, {"name": "x", "role": "admin"})
t.eq(st, 403, "a viewer cannot make tokens")
st, body, _ = env.api("DELETE", "/api/v1/tokens/%d" % made["id"], V)
t.eq(st, 403, "a viewer cannot revoke tokens")

st, body, _ = env.api("GET", "/api/v1/status", V)
t.eq(st, 200, "the new viewer token works")
st, lst, _ = env.api("GET", "/api/v1/tokens", A)
t.eq(st, 200, "admin lists tokens")
names = {i["name"]: i for i in lst["items"]}
t.eq(sorted(names), ["admin", "grafana"], "both tokens listed")
t.ok(all("token" not in i and "token_hash" not in i for i in lst["items"]),
     "the list never shows a token or its hash")
t.ok(names["grafana"]["last_used_at"] is not None, "last_used_at set after use")
t.ok(names["grafana"]["created_at"].endswith("Z"), "created_at in RFC 3339 UTC")
t.eq(lst["next"], None, "one page")

# bad input changes nothing
count = len(lst["items"])
for body, want, field in [({"name": "grafana", "role": "viewer"}, 409, "name"),
                          ({"name": "x", "role": "root"}, 422, "role"),
                          ({"role": "viewer"}, 422, "name"),
                          ({"name": "", "role": "viewer"}, 422, "name"),
                          ({"name": 5, "role": "viewer"}, 400, "name"),
                          ({"name": "x", "role": "viewer", "extra": 1}, 422, "extra")]:
    st, err, _ = env.api("POST", "/api/v1/tokens", A, body)
    t.ok(st == want and err.get("field") == field and err.get("error"),
         "POST %r -> %d naming %s" % (body, want, field), (st, err))
st, err, _ = env.api("POST", "/api/v1/tokens", A, raw=b"{nope", headers={"Content-Type": "application/json"})
t.eq(st, 400, "malformed JSON -> 400")
st, lst, _ = env.api("GET", "/api/v1/tokens", A)
t.eq(len(lst["items"]), count, "no token was made by the refused requests")

# B has the viewer token cached; revoke it through A
for _ in range(3):
    st, _, _ = b.request("GET", "/api/v1/status", V)
t.eq(st, 200, "B accepts the viewer token (and caches it)")
st, _, _ = env.api("DELETE", "/api/v1/tokens/%d" % made["id"], A)
t.eq(st, 204, "admin revokes it")
st, _, _ = env.api("GET", "/api/v1/status", V)
t.eq(st, 401, "A refuses it on the very next request")
first = b.request("GET", "/api/v1/status", V)[0]
t.diag("B's first answer after the revocation: %d" % first)
t.ok(wait_for(lambda: b.request("GET", "/api/v1/status", V)[0] == 401, 5),
     "B refuses it too (NOTIFY custos_auth emptied its cache)")

st, err, _ = env.api("DELETE", "/api/v1/tokens/%d" % made["id"], A)
t.eq(st, 404, "revoking it again: 404")
adm_id = names["admin"]["id"]
st, err, _ = env.api("DELETE", "/api/v1/tokens/%d" % adm_id, A)
t.ok(st == 409 and "last admin" in err["error"], "the last admin token cannot be revoked", err)
st, two, _ = env.api("POST", "/api/v1/tokens", A, {"name": "admin2", "role": "admin"})
st, _, _ = env.api("DELETE", "/api/v1/tokens/%d" % adm_id, two["token"])
t.eq(st, 204, "with a second admin token, the first can go")
st, _, _ = env.api("GET", "/api/v1/tokens", A)
t.eq(st, 401, "the revoked admin token is refused")
t.done()
