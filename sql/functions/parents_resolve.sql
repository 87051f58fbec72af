-- parents_resolve(kind, id, names) - the parents an API request names
-- (names: a JSON array of "agent/check") as ids for the parents column of
-- a 'check' or an 'agent' (id: the one being changed, NULL when being
-- made), or the reason they are refused (ids NULL): not a list of names,
-- no such check, the check itself (or, for an agent, one of its own
-- checks), or a cycle - a parent that depends, at any depth, on what is
-- being changed. Duplicates are kept once, in the order given.
CREATE OR REPLACE FUNCTION parents_resolve(kind text, self_id bigint, names jsonb,
	OUT ids bigint[], OUT error text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	n jsonb;
	t text;
	pid bigint;
	bad text;
BEGIN
	IF names IS NULL OR jsonb_typeof(names) <> 'array' THEN
		error := 'parents must be a list of checks named "agent/check"';
		RETURN;
	END IF;
	ids := '{}';
	FOR n IN SELECT e FROM jsonb_array_elements(names) AS e LOOP
		IF jsonb_typeof(n) <> 'string' OR position('/' IN n #>> '{}') < 2 THEN
			ids := NULL;
			error := format('parent %s is not a check named "agent/check"', n::text);
			RETURN;
		END IF;
		t := n #>> '{}';
		SELECT c.id INTO pid FROM agents a JOIN checks c ON c.agent_id = a.id
		WHERE a.name = split_part(t, '/', 1)
		  AND c.name = substr(t, position('/' IN t) + 1);
		IF pid IS NULL THEN
			ids := NULL;
			error := format('parent "%s" is not a check', t);
			RETURN;
		END IF;
		IF kind = 'check' AND pid = self_id THEN
			ids := NULL;
			error := format('"%s" cannot be its own parent', t);
			RETURN;
		END IF;
		IF kind = 'agent' AND EXISTS (SELECT 1 FROM checks c WHERE c.id = pid
		                              AND c.agent_id = self_id) THEN
			ids := NULL;
			error := format('"%s" is a check of this agent: it would be its own parent', t);
			RETURN;
		END IF;
		IF NOT pid = ANY (ids) THEN
			ids := ids || pid;
		END IF;
	END LOOP;
	IF self_id IS NULL THEN
		RETURN;   -- a new check or agent: nothing depends on it yet
	END IF;
	-- walk up from each parent; reaching what is being changed is a cycle
	WITH RECURSIVE up(root, id) AS (
		SELECT p, p FROM unnest(ids) AS p
		UNION
		SELECT up.root, q FROM up
		CROSS JOIN LATERAL (SELECT c.agent_id FROM checks c WHERE c.id = up.id) k
		CROSS JOIN LATERAL check_parent_ids(up.id, k.agent_id) AS q
	)
	SELECT a.name || '/' || c.name INTO bad
	FROM up JOIN checks c ON c.id = up.root JOIN agents a ON a.id = c.agent_id
	WHERE (kind = 'check' AND up.id = self_id)
	   OR (kind = 'agent' AND EXISTS (SELECT 1 FROM checks x WHERE x.id = up.id
	                                  AND x.agent_id = self_id))
	LIMIT 1;
	IF bad IS NOT NULL THEN
		ids := NULL;
		error := format('parent "%s" depends on this %s: that would be a cycle', bad, kind);
	END IF;
END $$;
