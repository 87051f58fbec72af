-- wrk: POST batches of BATCH results with unique result_ids, one agent
-- token per wrk thread (set by setup()), check ids from that agent's range.
local counter = 1
local threads = {}
local batch = tonumber(os.getenv("BATCH") or "100")
-- CHURN=10: that many results in every 100 change their check's state
-- (OK <-> CRITICAL), so events and outbox rows are written
local churn = tonumber(os.getenv("CHURN") or "0")
local last = {}
-- STAMPED=0: no observed_at (a script's passive result: the server stamps
-- it); SHIFT_S: stamps this many seconds after our clock (the midnight
-- phase: its stamps cross the next UTC day boundary)
local stamped = (os.getenv("STAMPED") or "1") ~= "0"
local shift = tonumber(os.getenv("SHIFT_S") or "0")
-- RUN: part of every result_id, so that one wrk run's results are not
-- resends of another's (the counter below starts at 1 in every run: the
-- unstamped midnight run resent the unstamped churn's result_ids, and its
-- first half was all duplicates); RESEND=1: every request repeats the
-- first batch (after it, all duplicates: an agent's spool replaying)
local run = os.getenv("RUN") or ""
local resend = os.getenv("RESEND") == "1"

function setup(thread)
   local i = #threads + 1
   thread:set("tid", i)
   thread:set("token", os.getenv("TOKEN" .. i))
   thread:set("first", tonumber(os.getenv("FIRST" .. i)))
   thread:set("nchecks", tonumber(os.getenv("NCHECKS")))
   table.insert(threads, thread)
end

function init(args)
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
   local parts = {}
   local stamp = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() + shift)
   for k = 1, batch do
      local cid = first + ((counter * batch + k) % nchecks)
      local st
      if churn > 0 then
         st = last[cid] or 0
         if (k * churn) % 100 < churn then st = 2 - st end
         last[cid] = st
      else
         -- about 1 result in 200 is CRITICAL, so states change and events fire
         st = ((counter * 7 + k * 13) % 200 == 0) and 2 or 0
      end
      -- stamped like the agent stamps them (observed_at), so de-duplication
      -- takes the partition key (sql/005_history.sql); unstamped, as a
      -- script posts them, with a result_id all the same
      parts[k] = string.format(
         '{"check_id":%d,"status":%d,"output":"LOAD OK - 0.42 (warn 5, crit 10)","value":0.42,' ..
         '"perfdata":"load1=0.42;5;10","duration_ms":1,"result_id":"w%s%d-%d-%d"%s}',
         cid, st, run, tid, counter, k, stamped and (',"observed_at":"' .. stamp .. '"') or "")
   end
   if not resend then counter = counter + 1 end
   return wrk.format(nil, "/api/v1/check_history", nil, "[" .. table.concat(parts, ",") .. "]")
end

function response(status, headers, body)
   if status ~= 201 then
      print("unexpected status " .. status .. ": " .. body)
   end
end
