-- Trigger checks_drop_parent (on checks, after DELETE): the deleted check
-- is taken out of every parents list (sql/035_parents.sql).
CREATE OR REPLACE FUNCTION checks_drop_parent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE checks SET parents = array_remove(parents, OLD.id) WHERE parents <> '{}' AND parents @> ARRAY[OLD.id];
	UPDATE agents SET parents = array_remove(parents, OLD.id) WHERE parents <> '{}' AND parents @> ARRAY[OLD.id];
	RETURN NULL;
END $$;
