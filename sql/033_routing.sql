-- 033_routing.sql - the record of every routing decision, for "why was I
-- paged, why was I not" (GET /api/v1/events/{id}/routing, custos why, the
-- dashboard's check page; docs/alerting.md, "Why was I paged").
--
-- A notification row says who was told and how; these columns say why.
-- policy and step: the policy and the step (0-based) that made the row,
-- NULL when no policy matched and the check's contacts were told.
-- route: the decisions taken on the row after it was made, oldest first,
-- each {"at": RFC 3339, "decision": WORD, "detail": TEXT} (decision words:
-- docs/alerting.md). Appended only, through notification_route_add().
ALTER TABLE notifications ADD COLUMN policy text;
ALTER TABLE notifications ADD COLUMN step integer;
ALTER TABLE notifications ADD COLUMN route jsonb NOT NULL DEFAULT '[]';

-- The decisions about an event as a whole, before any row was made: not
-- notified because of a downtime, an acknowledgement, flapping, a parent,
-- or matched by policy P. Same shape as notifications.route.
ALTER TABLE events ADD COLUMN route jsonb NOT NULL DEFAULT '[]';
