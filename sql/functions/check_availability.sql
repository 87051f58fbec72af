-- The share of OK results of the given checks, from the hour roll-ups (24h,
-- 7d) and the day roll-ups (30d, whole UTC days, today's included); null
-- without results. Results not yet rolled up (at most one roll-up interval)
-- are not counted.
-- 7d reads the hours only up to the first UTC midnight of its window and
-- the whole days after it (today's day row included): the same results as
-- 168 hour rows a check, from 31 at most. The agent list computes this for
-- every agent over all its checks, and the hour rows were most of its time.
CREATE OR REPLACE FUNCTION check_availability(check_ids bigint[]) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'24h', (SELECT sum(ok)::float8 / NULLIF(sum(count), 0) FROM rollup_hour
		        WHERE check_id = ANY ($1) AND start >= now() - interval '24 hours'),
		'7d', (SELECT sum(x.ok)::float8 / NULLIF(sum(x.count), 0) FROM (
		        SELECT h.ok, h.count FROM rollup_hour h
		        WHERE h.check_id = ANY ($1) AND h.start >= now() - interval '7 days'
		          AND h.start < date_trunc('day', now() - interval '7 days', 'UTC')
		                        + interval '1 day'
		        UNION ALL
		        SELECT d.ok, d.count FROM rollup_day d
		        WHERE d.check_id = ANY ($1)
		          AND d.start >= date_trunc('day', now() - interval '7 days', 'UTC')
		                         + interval '1 day') x),
		'30d', (SELECT sum(ok)::float8 / NULLIF(sum(count), 0) FROM rollup_day
		        WHERE check_id = ANY ($1)
		          AND start >= date_trunc('day', now(), 'UTC') - interval '29 days'))
$$;
