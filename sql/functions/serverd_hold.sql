-- Holds instance i's lock on this session: 1 when this session held it
-- already, 2 when it took it now (a new session: after a reconnect, or a
-- PostgreSQL restart or failover dropped the old one), 0 when another
-- session holds it. The CASE keeps a held lock from being taken twice.
CREATE OR REPLACE FUNCTION serverd_hold(i integer) RETURNS integer LANGUAGE sql VOLATILE AS $$
	SELECT CASE
		WHEN EXISTS (SELECT 1 FROM pg_locks l
		             WHERE l.locktype = 'advisory' AND l.classid = 1129665364::oid
		               AND l.objid = i::bigint::oid AND l.objsubid = 2 AND l.granted
		               AND l.pid = pg_backend_pid()) THEN 1
		WHEN pg_try_advisory_lock(1129665364, i) THEN 2
		ELSE 0 END
$$;
