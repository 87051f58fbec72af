"""End-to-end: serverd remembers looked-up tokens (authcache.h); a change
made through one instance reaches another instance's cache at once."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Server, Tap, wait_for  # noqa: E402

t = Tap()
env = Env()
A = env.admin
b = Server(env.tmp, env.cluster, name="serverd-b").start()


def on_b(method, path, token, **kw):
    return b.request(method, path, token, **kw)


aid, atok = env.make_agent("web01")
cid = env.make_check(aid, "load")
st, cl, h = on_b("GET", "/api/v1/agent/self/checks", atok)
t.eq(st, 200, "agent downloads its checks from instance B")
etag = h["etag"]
for _ in range(3):
    st, _, _ = on_b("GET", "/api/v1/agent/self/checks", atok, headers={"If-None-Match": etag})
t.eq(st, 304, "B answers 304 while nothing changed")

# a change through A: B's 304 stops at once (NOTIFY custos_auth)
env.api("PATCH", "/api/v1/checks/%d" % cid, A, {"warning": "3"})
t.ok(wait_for(lambda: on_b("GET", "/api/v1/agent/self/checks", atok,
                           headers={"If-None-Match": etag})[0] == 200, 2),
     "a check changed through A: B serves the new revision")
st, cl, h2 = on_b("GET", "/api/v1/agent/self/checks", atok)
t.ok(h2["etag"] != etag and cl["checks"][0]["warning"] == "3", "with the new definition")

# same instance: an interval change is seen by the very next request
env.api("GET", "/api/v1/agent/self", atok)
env.api("PATCH", "/api/v1/agents/%d" % aid, A, {"interval_s": 45})
st, me, _ = env.api("GET", "/api/v1/agent/self", atok)
t.eq(me["interval_s"], 45, "A: the next request sees the new interval")
t.ok(wait_for(lambda: on_b("GET", "/api/v1/agent/self", atok)[1].get("interval_s") == 45, 2),
     "B: so does the other instance")

# token rotation through A: the old token stops on B at once
on_b("GET", "/api/v1/agent/self", atok)
st, rot, _ = env.api("POST", "/api/v1/agents/%d/token" % aid, A)
t.eq(st, 201, "rotate through A")
t.ok(wait_for(lambda: on_b("GET", "/api/v1/agent/self", atok)[0] == 401, 2),
     "B refuses the old token")
t.eq(on_b("GET", "/api/v1/agent/self", rot["token"])[0], 200, "B accepts the new one")

# deleting the agent: its token stops everywhere
on_b("GET", "/api/v1/agent/self", rot["token"])
env.api("DELETE", "/api/v1/agents/%d" % aid, A)
t.ok(wait_for(lambda: on_b("GET", "/api/v1/agent/self/checks", rot["token"])[0] == 401, 2),
     "B refuses a deleted agent's token")

# an API token created from the command line (no server involved) works on both,
# and an unknown token is never remembered as good
viewer = env.server.create_token("dash", "viewer")
t.eq(on_b("GET", "/api/v1/status", viewer)[0], 200, "a new viewer token works on B")
t.eq(on_b("GET", "/api/v1/status", "e" * 64)[0], 401, "unknown token -> 401")
t.eq(on_b("GET", "/api/v1/status", "e" * 64)[0], 401, "and again")
env.cluster.psql("DELETE FROM api_tokens WHERE name = 'dash'")
t.ok(wait_for(lambda: on_b("GET", "/api/v1/status", viewer)[0] == 401, 2),
     "a token removed in the database stops on B")
t.eq(b.stop(), 0, "B exits cleanly")
t.done()
