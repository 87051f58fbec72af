-- Triggers events_stream, check_state_stream, checks_stream,
-- checks_stream_insert, agents_stream_insert, agents_stream and
-- downtimes_stream: what drives /api/v1/stream. Every serverd LISTENs on
-- custos_stream. Payloads are 'e<event id>', 'c<check id>' or 'a<agent id>';
-- PostgreSQL delivers them at COMMIT and folds duplicates within one
-- transaction. Only changes an operator sees are sent (the triggers' WHEN
-- clauses): a steady check's new result notifies nothing. Inside ingest's
-- transactions check_state_stream and events_stream do not fire: ingest
-- names its checks to after_commit_notify(), and events_stream_after()
-- keeps its events for after the COMMIT. (A deleted check or agent is
-- looked up, not found, and sends no frame; its notification still tells
-- every serverd that /status changed.)
CREATE OR REPLACE FUNCTION stream_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_TABLE_NAME = 'events' THEN
		PERFORM pg_notify('custos_stream', 'e' || NEW.id);
	ELSIF TG_TABLE_NAME = 'check_state' THEN
		PERFORM pg_notify('custos_stream', 'c' || NEW.check_id);
	ELSIF TG_TABLE_NAME = 'checks' THEN
		PERFORM pg_notify('custos_stream', 'c' || CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
	ELSIF TG_TABLE_NAME = 'agents' THEN
		PERFORM pg_notify('custos_stream', 'a' || CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
	ELSIF TG_TABLE_NAME = 'downtimes' THEN
		IF TG_OP = 'DELETE' THEN
			PERFORM pg_notify('custos_stream', CASE WHEN OLD.check_id IS NOT NULL
				THEN 'c' || OLD.check_id ELSE 'a' || OLD.agent_id END);
		ELSE
			PERFORM pg_notify('custos_stream', CASE WHEN NEW.check_id IS NOT NULL
				THEN 'c' || NEW.check_id ELSE 'a' || NEW.agent_id END);
		END IF;
	END IF;
	RETURN NULL;
END $$;
