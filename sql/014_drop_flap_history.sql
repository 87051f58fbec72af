-- 014_drop_flap_history.sql - check_state no longer keeps the flap window.
--
-- Since ingest rebuilds a check's flap window from its newest stored
-- results whenever it reads the check (serverd/alert/engine.c,
-- engine_flap_replay(); docs/alerting.md), check_state.flap_history was
-- written on every change and read by nothing. flap_pct stays: it is the
-- share shown in the API, as of the check's last change.
ALTER TABLE check_state DROP COLUMN flap_history;
