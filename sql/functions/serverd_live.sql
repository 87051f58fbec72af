-- The ids of the serverd instances alive now: their lock is held by a
-- session. The advisory locks of serverd instances are the two-key form
-- (1129665364 = 'CUST', instance id): pg_locks shows them with classid and
-- objid, objsubid 2. Only this function and serverd_hold() know the key
-- (serverd/notify/holder.c; docs/decisions.md: why a lock and not a
-- renewed row).
CREATE OR REPLACE FUNCTION serverd_live() RETURNS SETOF integer LANGUAGE sql VOLATILE AS $$
	SELECT l.objid::bigint::integer FROM pg_locks l
	WHERE l.locktype = 'advisory' AND l.classid = 1129665364::oid AND l.objsubid = 2
	  AND l.granted
	  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
$$;
