-- The senders' wake-up kept by an ingest transaction (notify_or_defer(),
-- custos.after_commit_wake) and one more asked for, as one payload of
-- custos_outbox. A payload names the channels that have new rows and how
-- many, 'email:2,pushover:1', so that serverd wakes only as many senders of
-- those channels (serverd/notify/outbox.c, "Waking"); '' asks every sender
-- to look. Kept: '' none yet, '*' everyone; else the counts, added up per
-- channel (each at most 1000: a serverd never has more senders than that).
CREATE OR REPLACE FUNCTION outbox_wake_merge(kept text, asked text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE
		WHEN asked IS NULL OR asked = '' OR asked = '*' THEN '*'
		WHEN kept IS NULL OR kept = '' THEN asked
		WHEN kept !~ '^[a-z]+:[0-9]+(,[a-z]+:[0-9]+)*$'
		  OR asked !~ '^[a-z]+:[0-9]+(,[a-z]+:[0-9]+)*$' THEN '*'
		ELSE (SELECT string_agg(k || ':' || LEAST(s, 1000), ',' ORDER BY k)
		      FROM (SELECT split_part(x, ':', 1) AS k, sum(split_part(x, ':', 2)::numeric) AS s
		            FROM unnest(string_to_array(kept || ',' || asked, ',')) x GROUP BY 1) y)
	END
$$;
