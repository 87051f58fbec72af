-- 008_face_fast.sql - /api/v1/status recomputed cheaply after a change
-- (docs/design.md, budgets: <= 30 ms at 10,000 checks with 500 problems).
--
-- What the old query spent, measured as backend CPU at that size: ~10 ms in
-- json_build_object/jsonb_build_object (they look up every argument's type
-- on every call), ~8 ms in the newest result of each problem (one probe per
-- problem into every day partition: with 31 days kept, 31 index probes per
-- problem), ~5 ms in counting 10,000 states through a join with checks.
-- serverd/api/api_status.c now reads plain columns and writes the JSON
-- itself; check_last_many() (sql/functions) and the index below do the
-- rest.

-- Disabled checks are few; /status counts the states of the others by
-- subtracting them (one pass over check_state, no join with checks).
CREATE INDEX checks_disabled_idx ON checks (id) WHERE NOT enabled;
