-- 027_rotations.sql - on-call rotations
-- (serverd/api/api_rotations.c; the arithmetic is lib/oncall.c's, on the
-- rotation's wall clock, docs/oncall.md).
--
-- A rotation's members take shifts in the order of pos; overrides put one
-- person on call from start_at to end_at whatever the order says (the
-- newest override wins where two overlap). Deleting a user drops them from
-- every rotation (the order closes up) and their overrides.
CREATE TABLE rotations (
	id          bigserial PRIMARY KEY,
	name        text NOT NULL UNIQUE,
	shift       text NOT NULL,                 -- "day", "week", "hours:N"
	handoff     text NOT NULL DEFAULT '09:00', -- HH:MM on the wall clock of tz
	handoff_day text,                          -- "week": sun..sat
	tz          text NOT NULL DEFAULT 'UTC',
	start_date  date NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	created_by  text
);

CREATE TABLE rotation_members (
	rotation_id bigint NOT NULL REFERENCES rotations(id) ON DELETE CASCADE,
	pos         integer NOT NULL,
	contact_id  bigint NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
	PRIMARY KEY (rotation_id, pos)
);
CREATE INDEX rotation_members_contact_idx ON rotation_members (contact_id);

CREATE TABLE rotation_overrides (
	id          bigserial PRIMARY KEY,
	rotation_id bigint NOT NULL REFERENCES rotations(id) ON DELETE CASCADE,
	contact_id  bigint NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
	start_at    timestamptz NOT NULL,
	end_at      timestamptz NOT NULL,
	created_by  text,
	CHECK (end_at > start_at)
);
CREATE INDEX rotation_overrides_idx ON rotation_overrides (rotation_id, end_at);
