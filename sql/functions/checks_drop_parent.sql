-- Trigger checks_drop_parent (on checks, once a statement: the deleted
-- checks, sql/041_checks_statement_triggers.sql): they are taken out of
-- every parents list (sql/035_parents.sql), the others kept in order.
CREATE OR REPLACE FUNCTION checks_drop_parent() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	ids bigint[] := ARRAY(SELECT id FROM old_checks);
BEGIN
	IF ids = '{}' THEN
		RETURN NULL;
	END IF;
	UPDATE checks SET parents = ARRAY(SELECT v FROM unnest(parents) WITH ORDINALITY n(v, i)
		WHERE v <> ALL (ids) ORDER BY i)
	WHERE parents <> '{}' AND parents && ids;
	UPDATE agents SET parents = ARRAY(SELECT v FROM unnest(parents) WITH ORDINALITY n(v, i)
		WHERE v <> ALL (ids) ORDER BY i)
	WHERE parents <> '{}' AND parents && ids;
	RETURN NULL;
END $$;
