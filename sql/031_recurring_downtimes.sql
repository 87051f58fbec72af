-- 031_recurring_downtimes.sql - recurring maintenance windows
-- (docs/alerting.md, "Recurring downtimes").
--
-- A definition ("sun 02:00-04:00" in a time zone) is never itself a
-- downtime: the jobs ticker (serverd/alert/jobs.c) writes its occurrences
-- of the coming day as ordinary downtime rows carrying recurring_id, so
-- DOWNTIME START/END, check_in_downtime() and what is told at the end work
-- as for any downtime. Definitions take their ids from the downtimes'
-- sequence, so one id names one thing under /api/v1/downtimes/ID.
CREATE TABLE downtime_recurring (
	id            bigint PRIMARY KEY DEFAULT nextval('downtimes_id_seq'),
	agent_id      bigint REFERENCES agents(id) ON DELETE CASCADE,
	check_id      bigint REFERENCES checks(id) ON DELETE CASCADE,
	recurring     text NOT NULL,
	tz            text NOT NULL DEFAULT 'UTC',
	comment       text NOT NULL DEFAULT '',
	-- occurrences starting before this instant are written already
	planned_until timestamptz,
	created_at    timestamptz NOT NULL DEFAULT now(),
	created_by    text,
	CHECK ((agent_id IS NULL) <> (check_id IS NULL))
);

CREATE INDEX downtime_recurring_planned ON downtime_recurring (planned_until);

ALTER TABLE downtimes ADD COLUMN recurring_id bigint
	REFERENCES downtime_recurring(id) ON DELETE SET NULL;
CREATE INDEX downtimes_recurring ON downtimes (recurring_id) WHERE recurring_id IS NOT NULL;
