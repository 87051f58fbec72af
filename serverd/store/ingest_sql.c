/*
 * ingest_sql.c - see ingest_sql.h. The statements are built from the
 * pieces below, so the states read the same way on both ways in.
 */
#include "config.h"
#include "ingest_sql.h"

/*
 * ks: one probe of check_state's key per check named (OFFSET 0 keeps it a
 * nested loop: "check_id = ANY (IDS)" was planned, generic, as a scan of
 * the whole table comparing every row with every id; check_state.agent_id
 * is the check's, kept by a trigger), keeping only the checks that may
 * change (ingest_sql.h) and those that are not this agent's or do not
 * exist (uid: the id named): a steady batch keeps no row, and nothing
 * after the probes handles its hundred (the states of all of them, kept
 * and joined with the batch again, were a third of the statement's time).
 * mine: none is foreign or unknown. mv: the checks that may change, with
 * their FIRST; mvc: those enabled, with
 * their check's max_attempts, whether check_state keeps their flap window
 * (kept: stored, and within the two days the read looks at; sql/042) and
 * whether it may (win_ok: not a heartbeat, whose results the watcher
 * stores). rc: what ingest_checks_recent() reads of the history of those
 * whose window is not kept, in one call for the batch (none when every
 * check in motion has its window kept, or none may change: a steady batch,
 * or a flapping fleet's, reads no history).
 */
#define STATES_CTES(AG, IDS, STS, FIRST, SKEW) \
	"ks AS MATERIALIZED (SELECT s.*, u.id AS uid, u.first" \
	"  FROM unnest(" IDS ", " STS ", " FIRST ") u(id, st, first) LEFT JOIN LATERAL" \
	"  (SELECT s.check_id, s.agent_id, s.status, s.state_type, s.attempt," \
	"   s.hard_status, s.acknowledged, s.ack_sticky, s.flapping, s.flap_pct," \
	"   s.flap_window, s.flap_from, s.flap_last" \
	"   FROM check_state s WHERE s.check_id = u.id OFFSET 0) s ON true" \
	"  WHERE s.agent_id IS DISTINCT FROM " AG " OR u.st IS DISTINCT FROM s.status" \
	"   OR s.state_type <> 'HARD' OR s.flapping)," \
	" mine AS (SELECT NOT EXISTS (SELECT 1 FROM ks" \
	"   WHERE ks.agent_id IS DISTINCT FROM " AG ") AS ok)," \
	" mv AS MATERIALIZED (SELECT ks.check_id, ks.agent_id, ks.status, ks.state_type," \
	"   ks.attempt, ks.hard_status, ks.acknowledged, ks.ack_sticky, ks.flapping," \
	"   ks.flap_pct, ks.flap_window, ks.flap_from, ks.flap_last, ks.first FROM ks" \
	"  WHERE (SELECT ok FROM mine))," \
	" ahead AS (SELECT EXISTS (SELECT 1 FROM agents a" \
	"   WHERE a.id = " AG " AND a.clock_skew_s > " SKEW ") AS yes)," \
	" mvc AS MATERIALIZED (SELECT mv.*, c.max_attempts, c.enabled, c.win_ok," \
	"   c.win_ok AND mv.flap_window IS NOT NULL" \
	"    AND mv.flap_from > now() - interval '2 days' AS kept FROM mv" \
	"   JOIN LATERAL (SELECT c.max_attempts, c.enabled, c.type <> 'heartbeat' AS win_ok" \
	"   FROM checks c WHERE c.id = mv.check_id OFFSET 0) c ON c.enabled)," \
	" rc AS MATERIALIZED (SELECT r.* FROM (SELECT array_agg(mvc.check_id) AS ids," \
	"   array_agg('epoch'::timestamptz + mvc.first * interval '1 microsecond') AS af" \
	"   FROM mvc WHERE NOT mvc.kept) a" \
	"   CROSS JOIN LATERAL ingest_checks_recent(a.ids, a.af, " SKEW ", " \
	"   " FLAP_RESULTS ") r WHERE a.ids IS NOT NULL)"

#define TEXT_(x) #x
#define TEXT(x) TEXT_(x)
#define FLAP_RESULTS TEXT(INGEST_FLAP_RESULTS)

/*
 * The rows: 'k' per enabled check that may change, with its flap window
 * and newest stamp as check_state keeps them or as ingest_checks_recent()
 * reads them from its history (a disabled check's results are history
 * only: no row, nothing read); 'k' per check that is foreign or unknown;
 * 'a' when the agent's clock was last seen ahead.
 */
#define US_(t) "(extract(epoch FROM " t ") * 1000000)::bigint"
#define STATES_ROWS(AG, IDS, SKEW) \
	" SELECT 'k', NULL::bigint, NULL::text, mv.check_id, mv.agent_id, mv.max_attempts, mv.status," \
	"  mv.state_type, mv.attempt, mv.hard_status, mv.acknowledged, mv.ack_sticky, mv.flapping," \
	"  mv.flap_pct, mv.enabled," \
	"  CASE WHEN mv.kept THEN " US_("mv.flap_last") " ELSE r.newest_us END," \
	"  CASE WHEN mv.kept THEN mv.flap_window ELSE r.flap END," \
	"  CASE WHEN mv.kept THEN " US_("mv.flap_from") " ELSE r.from_us END," \
	"  CASE WHEN mv.kept THEN " US_("mv.flap_last") " ELSE r.last_us END," \
	"  mv.kept, mv.win_ok" \
	" FROM mvc mv LEFT JOIN rc r ON r.check_id = mv.check_id" \
	" UNION ALL SELECT 'k', NULL, NULL, ks.uid, ks.agent_id, NULL, NULL, NULL, NULL, NULL, NULL," \
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL" \
	" FROM ks WHERE ks.agent_id IS DISTINCT FROM " AG \
	" UNION ALL SELECT 'a', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL," \
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM ahead WHERE ahead.yes"

const struct db_stmt ingest_q_states = { "ingest_states",
	"WITH " STATES_CTES("$1::bigint", "$2::bigint[]", "$3::smallint[]", "$4::bigint[]",
	    "$5::integer")
	STATES_ROWS("$1::bigint", "$2::bigint[]", "$5::integer"), 5 };

const struct db_stmt ingest_q_claim = { "ingest_claim",
	"INSERT INTO result_stamps (agent_id, result_id)"
	" SELECT $1::bigint, r FROM unnest($2::text[]) r WHERE r IS NOT NULL"
	" ON CONFLICT DO NOTHING RETURNING result_id", 2 };

const struct db_stmt ingest_q_claim_all = { "ingest_claim_all",
	"INSERT INTO result_stamps (agent_id, result_id)"
	" SELECT $1::bigint, r FROM unnest($2::text[]) r WHERE r IS NOT NULL", 2 };

/*
 * cl: the result_ids claimed now (those the server stamps; every one when
 * the agent's clock was last seen ahead). ins: the results, but those
 * whose claim was refused; a result with its own stamp already stored is
 * skipped by the unique key.
 */
const struct db_stmt ingest_q_insert = { "ingest_insert",
	"WITH " STATES_CTES("$9::bigint", "$10::bigint[]", "$11::smallint[]", "$12::bigint[]",
	    "$13::integer") ","
	" x AS (SELECT * FROM unnest($1::bigint[], $2::smallint[], $3::float8[], $4::text[],"
	"   $5::text[], $6::timestamptz[], $7::integer[], $8::text[]) AS x(c, s, v, o, p, t, d, r)"
	"  WHERE (SELECT ok FROM mine)),"
	" cl AS (INSERT INTO result_stamps (agent_id, result_id)"
	"  SELECT $9::bigint, x.r FROM x"
	"  WHERE x.r IS NOT NULL AND (x.t IS NULL OR (SELECT yes FROM ahead))"
	"  ON CONFLICT DO NOTHING RETURNING result_id),"
	" ins AS (INSERT INTO check_history (check_id, agent_id, status, value, output, perfdata,"
	"   observed_at, duration_ms, result_id)"
	"  SELECT x.c, $9::bigint, x.s, x.v, x.o, x.p,"
	"   COALESCE(x.t, 'epoch'::timestamptz + $14::bigint * interval '1 microsecond'), x.d, x.r"
	"  FROM x WHERE x.r IS NULL OR NOT (x.t IS NULL OR (SELECT yes FROM ahead))"
	"   OR x.r IN (SELECT result_id FROM cl)"
	"  ON CONFLICT (agent_id, result_id, observed_at) WHERE result_id IS NOT NULL DO NOTHING"
	"  RETURNING id, result_id)"
	STATES_ROWS("$9::bigint", "$10::bigint[]", "$13::integer")
	" UNION ALL SELECT 'i', id, result_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM ins", 14 };

const char ingest_copy_sql[] = "COPY check_history (check_id, agent_id, status, value,"
	" output, perfdata, observed_at, duration_ms, result_id) FROM STDIN (FORMAT binary)";
