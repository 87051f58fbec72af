-- Trigger events_stream_after (on events, per INSERT statement, inside
-- ingest's transactions): the stream notifications of the events inserted,
-- kept for after the COMMIT in one append (ingest records a batch's events
-- in one statement; an append per row would copy the whole setting each
-- time, n^2 / 2 entries for n events).
CREATE OR REPLACE FUNCTION events_stream_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM after_commit_add(string_agg('e' || id, ',' ORDER BY id))
	  FROM new_events HAVING count(*) > 0;
	RETURN NULL;
END
$$;
