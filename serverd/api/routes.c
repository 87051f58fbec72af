/*
 * routes.c - every route of the REST API, with the role it needs.
 * Order matters only for readability: a path matches exactly one pattern.
 * The fifth column says whether http.c parses the body as JSON; the sixth
 * where it runs the handler: RUN_ASIDE marks the reads that may take
 * PostgreSQL long, run on a bulk thread and not on the pool thread that
 * holds the connection (http.h).
 */
#include "config.h"
#include "api.h"
#include "static.h"

const struct route routes[] = {
	{ "GET",    "/healthz",                      api_healthz,          NEED_NONE,       BODY_JSON, RUN_HERE },

	/* agent protocol */
	{ "GET",    "/api/v1/agent/self",            api_agent_self,       NEED_AGENT,      BODY_JSON, RUN_HERE },
	{ "GET",    "/api/v1/agent/self/checks",     api_agent_checks,     NEED_AGENT,      BODY_JSON, RUN_HERE },
	/* the same, with the agent's labels and facts first: templates they
	 * select are in the answer (api_agent.c) */
	{ "POST",   "/api/v1/agent/self/checks",     api_agent_checks_post, NEED_AGENT,     BODY_JSON, RUN_HERE },
	{ "PUT",    "/api/v1/agent/self/checkout",   api_agent_checkout,   NEED_AGENT,      BODY_JSON, RUN_HERE },
	{ "POST",   "/api/v1/check_history",         api_check_history_post, NEED_AGENT_LAZY, BODY_RAW, RUN_HERE },
	{ "POST",   "/api/v1/agent/self/heartbeats/{name}", api_agent_heartbeat, NEED_AGENT,  BODY_JSON, RUN_HERE },

	/* heartbeat pings: the secret uuid is the credential (api_heartbeat.c) */
	{ "GET",    "/ping/{uuid}",                  api_ping,             NEED_NONE,       BODY_RAW, RUN_HERE },
	{ "POST",   "/ping/{uuid}",                  api_ping,             NEED_NONE,       BODY_RAW, RUN_HERE },
	{ "GET",    "/ping/{uuid}/{kind}",           api_ping,             NEED_NONE,       BODY_RAW, RUN_HERE },
	{ "POST",   "/ping/{uuid}/{kind}",           api_ping,             NEED_NONE,       BODY_RAW, RUN_HERE },

	/* a problem mail's acknowledgement link: the token is the credential
	 * (api_acklink.c); a confirm page, then the acknowledgement */
	{ "GET",    "/ack/{token}",                  api_acklink,          NEED_NONE,       BODY_RAW, RUN_HERE },
	{ "POST",   "/ack/{token}",                  api_acklink,          NEED_NONE,       BODY_RAW, RUN_HERE },

	/* agents */
	{ "GET",    "/api/v1/agents",                api_agents_list,      NEED_READ,       BODY_JSON, RUN_ASIDE },
	{ "POST",   "/api/v1/agents",                api_agents_create,    NEED_ADMIN,      BODY_JSON, RUN_HERE },
	{ "GET",    "/api/v1/agents/{id}",           api_agents_get,       NEED_READ,       BODY_JSON, RUN_HERE },
	{ "PATCH",  "/api/v1/agents/{id}",           api_agents_patch,     NEED_ADMIN,      BODY_JSON, RUN_HERE },
	{ "DELETE", "/api/v1/agents/{id}",           api_agents_delete,    NEED_ADMIN,      BODY_JSON, RUN_HERE },
	{ "POST",   "/api/v1/agents/{id}/token",     api_agents_token,     NEED_ADMIN,      BODY_JSON, RUN_HERE },
	{ "GET",    "/api/v1/agents/{id}/summary",   api_agents_summary,   NEED_READ,       BODY_JSON, RUN_ASIDE },
	{ "GET",    "/api/v1/agents/{id}/facts",     api_agents_facts,     NEED_READ,       BODY_JSON, RUN_HERE },

	/* checks */
	{ "GET",    "/api/v1/checks",                api_checks_list,      NEED_READ,       BODY_JSON, RUN_ASIDE },
	{ "POST",   "/api/v1/checks",                api_checks_create,    NEED_ADMIN,      BODY_JSON, RUN_HERE },
	{ "GET",    "/api/v1/checks/{id}",           api_checks_get,       NEED_READ,       BODY_JSON, RUN_HERE },
	/* an operator may PATCH {"enabled"} only (api_checks.c) */
	{ "PATCH",  "/api/v1/checks/{id}",           api_checks_patch,     NEED_OPERATOR,   BODY_JSON, RUN_HERE },
	{ "DELETE", "/api/v1/checks/{id}",           api_checks_delete,    NEED_ADMIN,      BODY_JSON, RUN_HERE },
	{ "GET",    "/api/v1/checks/{id}/history",   api_checks_history,   NEED_READ,       BODY_JSON, RUN_ASIDE },
	{ "GET",    "/api/v1/checks/{id}/summary",   api_checks_summary,   NEED_READ,       BODY_JSON, RUN_ASIDE },
	{ "POST",   "/api/v1/checks/{id}/backtest",  api_checks_backtest,  NEED_READ,       BODY_JSON, RUN_ASIDE },
	{ "POST",   "/api/v1/checks/{id}/ping/rotate", api_checks_ping_rotate, NEED_ADMIN,  BODY_JSON, RUN_HERE },

	/* templates (api_templates.c): by name */
	{ "GET",    "/api/v1/templates",             api_templates_list,   NEED_READ,       BODY_JSON, RUN_HERE },
	{ "POST",   "/api/v1/templates",             api_templates_create, NEED_ADMIN,      BODY_JSON, RUN_HERE },
	{ "GET",    "/api/v1/templates/{name}",      api_templates_get,    NEED_READ,       BODY_JSON, RUN_HERE },
	{ "PATCH",  "/api/v1/templates/{name}",      api_templates_patch,  NEED_ADMIN,      BODY_JSON, RUN_HERE },
	{ "DELETE", "/api/v1/templates/{name}",      api_templates_delete, NEED_ADMIN,      BODY_JSON, RUN_HERE },

	{ "GET",    "/api/v1/status",                api_status,           NEED_READ,       BODY_JSON, RUN_HERE },

	/* alerting resources (ack, contacts, downtimes, events, notifications) */
	{ "POST",   "/api/v1/checks/{id}/ack",       api_ack_post,         NEED_OPERATOR,   BODY_JSON, RUN_HERE },
	{ "DELETE", "/api/v1/checks/{id}/ack",       api_ack_delete,       NEED_OPERATOR,   BODY_JSON, RUN_HERE },
	{ "GET",    "/api/v1/contacts",              api_contacts_list,    NEED_READ,       BODY_JSON, RUN_HERE },
	{ "POST",   "/api/v1/contacts",              api_contacts_create,  NEED_ADMIN,      BODY_JSON, RUN_HERE },
	{ "GET",    "/api/v1/contacts/{id}",         api_contacts_get,     NEED_READ,       BODY_JSON, RUN_HERE },
	{ "PATCH",  "/api/v1/contacts/{id}",         api_contacts_patch,   NEED_ADMIN,      BODY_JSON, RUN_HERE },
	{ "DELETE", "/api/v1/contacts/{id}",         api_contacts_delete,  NEED_ADMIN,      BODY_JSON, RUN_HERE },
	{ "GET",    "/api/v1/downtimes",             api_downtimes_list,   NEED_READ,       BODY_JSON, RUN_HERE },
	{ "POST",   "/api/v1/downtimes",             api_downtimes_create, NEED_OPERATOR,   BODY_JSON, RUN_HERE },
	{ "GET",    "/api/v1/downtimes/{id}",        api_downtimes_get,    NEED_READ,       BODY_JSON, RUN_HERE },
	{ "DELETE", "/api/v1/downtimes/{id}",        api_downtimes_delete, NEED_OPERATOR,   BODY_JSON, RUN_HERE },
	{ "GET",    "/api/v1/events",                api_events_list,      NEED_READ,       BODY_JSON, RUN_ASIDE },
	{ "GET",    "/api/v1/events/{id}/routing",   api_events_routing,   NEED_READ,       BODY_JSON, RUN_HERE },
	{ "GET",    "/api/v1/notifications",         api_notifications_list, NEED_READ,       BODY_JSON, RUN_ASIDE },

	/* monitoring as code (api_config.c): a whole fleet's set, its own body cap */
	{ "GET",    "/api/v1/config",                api_config_get,       NEED_ADMIN,      BODY_JSON, RUN_ASIDE },
	{ "POST",   "/api/v1/config",                api_config,           NEED_ADMIN,      BODY_JSON_BIG, RUN_HERE },

	/* people (api_users.c): a user is a contact that may log in */
	{ "GET",    "/api/v1/users",                 api_users_list,       NEED_READ,       BODY_JSON, RUN_HERE },
	{ "POST",   "/api/v1/users",                 api_users_create,     NEED_ADMIN,      BODY_JSON, RUN_HERE },
	{ "GET",    "/api/v1/users/{id}",            api_users_get,        NEED_READ,       BODY_JSON, RUN_HERE },
	{ "PATCH",  "/api/v1/users/{id}",            api_users_patch,      NEED_ADMIN,      BODY_JSON, RUN_HERE },
	{ "DELETE", "/api/v1/users/{id}",            api_users_delete,     NEED_ADMIN,      BODY_JSON, RUN_HERE },

	/* on call (api_rotations.c): by name; an operator may add an override
	 * (a swap of shifts is day-to-day work, not configuration) */
	{ "GET",    "/api/v1/rotations",             api_rotations_list,   NEED_READ,       BODY_JSON, RUN_HERE },
	{ "POST",   "/api/v1/rotations",             api_rotations_create, NEED_ADMIN,      BODY_JSON, RUN_HERE },
	{ "GET",    "/api/v1/rotations/{name}",      api_rotations_get,    NEED_READ,       BODY_JSON, RUN_HERE },
	{ "PATCH",  "/api/v1/rotations/{name}",      api_rotations_patch,  NEED_ADMIN,      BODY_JSON, RUN_HERE },
	{ "DELETE", "/api/v1/rotations/{name}",      api_rotations_delete, NEED_ADMIN,      BODY_JSON, RUN_HERE },
	{ "GET",    "/api/v1/rotations/{name}/oncall", api_rotations_oncall, NEED_READ,     BODY_JSON, RUN_HERE },
	{ "POST",   "/api/v1/rotations/{name}/overrides", api_rotations_override, NEED_OPERATOR, BODY_JSON, RUN_HERE },

	/* policies (api_policies.c): who is told about what, and when; by name */
	{ "GET",    "/api/v1/policies",              api_policies_list,    NEED_READ,       BODY_JSON, RUN_HERE },
	{ "POST",   "/api/v1/policies",              api_policies_create,  NEED_ADMIN,      BODY_JSON, RUN_HERE },
	{ "GET",    "/api/v1/policies/{name}",       api_policies_get,     NEED_READ,       BODY_JSON, RUN_HERE },
	{ "PATCH",  "/api/v1/policies/{name}",       api_policies_patch,   NEED_ADMIN,      BODY_JSON, RUN_HERE },
	{ "DELETE", "/api/v1/policies/{name}",       api_policies_delete,  NEED_ADMIN,      BODY_JSON, RUN_HERE },

	/* the operator's face */
	{ "GET",    "/api/v1/tokens",                api_tokens_list,      NEED_ADMIN,      BODY_JSON, RUN_HERE },
	{ "POST",   "/api/v1/tokens",                api_tokens_create,    NEED_ADMIN,      BODY_JSON, RUN_HERE },
	{ "DELETE", "/api/v1/tokens/{id}",           api_tokens_delete,    NEED_ADMIN,      BODY_JSON, RUN_HERE },
	{ "POST",   "/api/v1/session",               api_session_create,   NEED_NONE,       BODY_JSON, RUN_HERE },
	{ "GET",    "/api/v1/session",               api_session_get,      NEED_READ,       BODY_JSON, RUN_HERE },
	{ "DELETE", "/api/v1/session",               api_session_delete,   NEED_NONE,       BODY_JSON, RUN_HERE },
	{ "GET",    "/api/v1/stream",                api_stream,           NEED_READ,       BODY_JSON, RUN_HERE },
	{ "GET",    "/metrics",                      api_metrics,          NEED_READ,       BODY_JSON, RUN_HERE },
	{ "GET",    "/",                             www_page,             NEED_NONE,       BODY_JSON, RUN_HERE },
	{ "GET",    "/checks/{id}",                  www_page,             NEED_NONE,       BODY_JSON, RUN_HERE },
	{ "GET",    "/agents/{id}",                  www_page,             NEED_NONE,       BODY_JSON, RUN_HERE },
	{ "GET",    "/ui/{name}",                    www_file,             NEED_NONE,       BODY_JSON, RUN_HERE },

	{ NULL, NULL, NULL, NEED_NONE, BODY_JSON, RUN_HERE },
};
