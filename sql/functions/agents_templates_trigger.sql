-- Triggers agents_templates_insert/update (on agents): an agent made, or
-- its labels, its own labels or its facts changed.
CREATE OR REPLACE FUNCTION agents_templates_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT FROM templates) OR EXISTS (SELECT FROM checks
	    WHERE agent_id = NEW.id AND template IS NOT NULL) THEN
		PERFORM template_sync(NEW.id, NULL);
	END IF;
	RETURN NULL;
END $$;
