-- Trigger templates_sync (on templates): a template made or changed.
CREATE OR REPLACE FUNCTION templates_sync_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM template_sync(NULL, NEW.name);
	RETURN NULL;
END $$;
