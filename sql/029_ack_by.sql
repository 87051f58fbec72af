-- 029_ack_by.sql - who acknowledged a problem, beside the acknowledgement
-- itself: the problem list's ACK mark says "acknowledged by alice" without
-- reading the events. Written by POST /api/v1/checks/{id}/ack (the user's
-- name, or the token's: serverd/alert/state.c); shown only while the check
-- is acknowledged (a cleared or expired acknowledgement leaves it behind,
-- as it leaves ack_sticky). Existing acknowledgements take the author of
-- their newest ACKNOWLEDGEMENT event. The state object names it "ack_by"
-- (sql/functions/check_state_json.sql).
ALTER TABLE check_state ADD COLUMN ack_by text;

UPDATE check_state s SET ack_by = e.detail->>'by'
FROM (SELECT DISTINCT ON (check_id) check_id, detail FROM events
      WHERE kind = 'ACKNOWLEDGEMENT' AND check_id IS NOT NULL
      ORDER BY check_id, id DESC) e
WHERE s.acknowledged AND e.check_id = s.check_id;
