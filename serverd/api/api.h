/*
 * api.h - the route handlers, one api_*.c file per resource.
 */
#ifndef CUSTOS_API_H
#define CUSTOS_API_H

#include "alert.h"
#include "http.h"

/* api_agents.c */
void api_agents_list(struct req *r, struct resp *rs);
void api_agents_create(struct req *r, struct resp *rs);
void api_agents_get(struct req *r, struct resp *rs);
void api_agents_patch(struct req *r, struct resp *rs);
void api_agents_delete(struct req *r, struct resp *rs);
void api_agents_token(struct req *r, struct resp *rs);

/* api_checks.c */
void api_checks_list(struct req *r, struct resp *rs);
void api_checks_create(struct req *r, struct resp *rs);
void api_checks_get(struct req *r, struct resp *rs);
void api_checks_patch(struct req *r, struct resp *rs);
void api_checks_delete(struct req *r, struct resp *rs);
void api_checks_history(struct req *r, struct resp *rs);
void api_checks_ping_rotate(struct req *r, struct resp *rs);
/*
 * A template's check definition o (api_templates.c, POST /api/v1/config)
 * validated by the rules of a check without its agent: a new object in
 * canonical form {name, type, params, warning, critical, max_attempts,
 * enabled, contacts (ids or null), labels}, or NULL with rs filled.
 * Contact names in o are replaced by their ids.
 */
json_t *check_def_canon(struct req *r, json_t *o, struct resp *rs);

/* api_templates.c: checks made from a template for every agent its
 * selector picks (sql/039_templates.sql) */
void api_templates_list(struct req *r, struct resp *rs);
void api_templates_create(struct req *r, struct resp *rs);
void api_templates_get(struct req *r, struct resp *rs);
void api_templates_patch(struct req *r, struct resp *rs);
void api_templates_delete(struct req *r, struct resp *rs);
/* A template's checks array validated into canonical JSON text (heap), or NULL with rs filled. */
char *template_checks_canon(struct req *r, json_t *arr, struct resp *rs);

/* api_heartbeat.c: pings (no token) and the agent's --wrap reports */
void api_ping(struct req *r, struct resp *rs);
void api_agent_heartbeat(struct req *r, struct resp *rs);

/* api_agent.c: the agent protocol */
void api_agent_self(struct req *r, struct resp *rs);
void api_agent_checks(struct req *r, struct resp *rs);
void api_agent_checkout(struct req *r, struct resp *rs);
/* POST: the same download, with the agent's labels and facts first */
void api_agent_checks_post(struct req *r, struct resp *rs);
/* ingest.c */
void api_check_history_post(struct req *r, struct resp *rs);

/* api_summary.c: roll-up summaries, facts history (docs/history.md) */
void api_checks_summary(struct req *r, struct resp *rs);
void api_agents_summary(struct req *r, struct resp *rs);
void api_agents_facts(struct req *r, struct resp *rs);

/* api_backtest.c: what other thresholds would have caused (NEED_READ:
 * it changes nothing) */
void api_checks_backtest(struct req *r, struct resp *rs);

/* api_status.c */
void api_status(struct req *r, struct resp *rs);
/* registers /api/v1/status's statement with db_warm(); before the
 * workers start */
void api_status_warm(void);
void api_healthz(struct req *r, struct resp *rs);

/* Alerting resources (api_alerts.c etc.) are declared below this line. */

/* api_alerts.c: acknowledgements, the event log, the delivery log */
void api_ack_post(struct req *r, struct resp *rs);
void api_ack_delete(struct req *r, struct resp *rs);
/*
 * Acknowledges a->check_id (struct ack_args: alert.h) inside the caller's
 * open transaction: 0 with *out the acknowledgement's row, or -1 with rs
 * answered (the caller rolls back). alert_ack_problem() with the answer
 * made: the one way an acknowledgement is made (api_ack_post, the mail's
 * link, the Pushover receipt), so the event and the flag never differ by
 * where it came from.
 */
int api_ack_apply(struct req *r, struct resp *rs, const struct ack_args *a, PGresult **out);
/* api_acklink.c: GET and POST /ack/{token}, the link of a problem mail
 * (NEED_NONE: the token is the credential) */
void api_acklink(struct req *r, struct resp *rs);
void api_events_list(struct req *r, struct resp *rs);
void api_events_routing(struct req *r, struct resp *rs);
void api_notifications_list(struct req *r, struct resp *rs);

/* api_contacts.c */
void api_contacts_list(struct req *r, struct resp *rs);
void api_contacts_create(struct req *r, struct resp *rs);
void api_contacts_get(struct req *r, struct resp *rs);
void api_contacts_patch(struct req *r, struct resp *rs);
void api_contacts_delete(struct req *r, struct resp *rs);

/* api_downtimes.c */
void api_downtimes_list(struct req *r, struct resp *rs);
void api_downtimes_create(struct req *r, struct resp *rs);
void api_downtimes_get(struct req *r, struct resp *rs);
void api_downtimes_delete(struct req *r, struct resp *rs);
/*
 * Deletes downtime id inside the caller's transaction; an active one ends
 * as DELETE ends it (DOWNTIME END, by: by; what it held back is notified).
 * *found: whether it existed. Shared with api_config.c's prune.
 */
enum db_outcome downtime_delete(PGconn *c, int64_t id, const char *by, int *found);
/* The same for a recurring definition: its future occurrences go, an active one ends. */
enum db_outcome recurring_delete(PGconn *c, int64_t id, const char *by, int *found);

/* api_config.c: POST /api/v1/config (monitoring as code) */
void api_config(struct req *r, struct resp *rs);
void api_config_get(struct req *r, struct resp *rs);

/* The operator's face: tokens, sessions, metrics, the dashboard. */
/* api_policies.c */
void api_policies_list(struct req *r, struct resp *rs);
void api_policies_create(struct req *r, struct resp *rs);
void api_policies_get(struct req *r, struct resp *rs);
void api_policies_patch(struct req *r, struct resp *rs);
void api_policies_delete(struct req *r, struct resp *rs);

/* api_rotations.c */
void api_rotations_list(struct req *r, struct resp *rs);
void api_rotations_create(struct req *r, struct resp *rs);
void api_rotations_get(struct req *r, struct resp *rs);
void api_rotations_patch(struct req *r, struct resp *rs);
void api_rotations_delete(struct req *r, struct resp *rs);
void api_rotations_oncall(struct req *r, struct resp *rs);
void api_rotations_override(struct req *r, struct resp *rs);

/* api_users.c */
void api_users_list(struct req *r, struct resp *rs);
void api_users_create(struct req *r, struct resp *rs);
void api_users_get(struct req *r, struct resp *rs);
void api_users_patch(struct req *r, struct resp *rs);
void api_users_delete(struct req *r, struct resp *rs);

/* api_tokens.c */
void api_tokens_list(struct req *r, struct resp *rs);
void api_tokens_create(struct req *r, struct resp *rs);
void api_tokens_delete(struct req *r, struct resp *rs);
/* api_session.c */
void api_session_create(struct req *r, struct resp *rs);
void api_session_get(struct req *r, struct resp *rs);
void api_session_delete(struct req *r, struct resp *rs);
/* api_metrics.c */
void api_metrics(struct req *r, struct resp *rs);
/* http/stream.c */
void api_stream(struct req *r, struct resp *rs);

#endif
