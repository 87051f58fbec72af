/*
 * routes.c - every route of the REST API, with the role it needs.
 * Order matters only for readability: a path matches exactly one pattern.
 */
#include "config.h"
#include "api.h"

const struct route routes[] = {
	{ "GET",    "/healthz",                      api_healthz,          NEED_NONE },

	/* agent protocol */
	{ "GET",    "/api/v1/agent/self",            api_agent_self,       NEED_AGENT },
	{ "GET",    "/api/v1/agent/self/checks",     api_agent_checks,     NEED_AGENT },
	{ "PUT",    "/api/v1/agent/self/checkout",   api_agent_checkout,   NEED_AGENT },
	{ "POST",   "/api/v1/check_history",         api_check_history_post, NEED_AGENT_LAZY },

	/* agents */
	{ "GET",    "/api/v1/agents",                api_agents_list,      NEED_READ },
	{ "POST",   "/api/v1/agents",                api_agents_create,    NEED_ADMIN },
	{ "GET",    "/api/v1/agents/{id}",           api_agents_get,       NEED_READ },
	{ "PATCH",  "/api/v1/agents/{id}",           api_agents_patch,     NEED_ADMIN },
	{ "DELETE", "/api/v1/agents/{id}",           api_agents_delete,    NEED_ADMIN },
	{ "POST",   "/api/v1/agents/{id}/token",     api_agents_token,     NEED_ADMIN },
	{ "GET",    "/api/v1/agents/{id}/summary",   api_agents_summary,   NEED_READ },
	{ "GET",    "/api/v1/agents/{id}/facts",     api_agents_facts,     NEED_READ },

	/* checks */
	{ "GET",    "/api/v1/checks",                api_checks_list,      NEED_READ },
	{ "POST",   "/api/v1/checks",                api_checks_create,    NEED_ADMIN },
	{ "GET",    "/api/v1/checks/{id}",           api_checks_get,       NEED_READ },
	{ "PATCH",  "/api/v1/checks/{id}",           api_checks_patch,     NEED_ADMIN },
	{ "DELETE", "/api/v1/checks/{id}",           api_checks_delete,    NEED_ADMIN },
	{ "GET",    "/api/v1/checks/{id}/history",   api_checks_history,   NEED_READ },
	{ "GET",    "/api/v1/checks/{id}/summary",   api_checks_summary,   NEED_READ },

	{ "GET",    "/api/v1/status",                api_status,           NEED_READ },

	/* alerting resources (ack, contacts, downtimes, events, notifications) */
	{ "POST",   "/api/v1/checks/{id}/ack",       api_ack_post,         NEED_ADMIN },
	{ "DELETE", "/api/v1/checks/{id}/ack",       api_ack_delete,       NEED_ADMIN },
	{ "GET",    "/api/v1/contacts",              api_contacts_list,    NEED_READ },
	{ "POST",   "/api/v1/contacts",              api_contacts_create,  NEED_ADMIN },
	{ "GET",    "/api/v1/contacts/{id}",         api_contacts_get,     NEED_READ },
	{ "PATCH",  "/api/v1/contacts/{id}",         api_contacts_patch,   NEED_ADMIN },
	{ "DELETE", "/api/v1/contacts/{id}",         api_contacts_delete,  NEED_ADMIN },
	{ "GET",    "/api/v1/downtimes",             api_downtimes_list,   NEED_READ },
	{ "POST",   "/api/v1/downtimes",             api_downtimes_create, NEED_ADMIN },
	{ "GET",    "/api/v1/downtimes/{id}",        api_downtimes_get,    NEED_READ },
	{ "DELETE", "/api/v1/downtimes/{id}",        api_downtimes_delete, NEED_ADMIN },
	{ "GET",    "/api/v1/events",                api_events_list,      NEED_READ },
	{ "GET",    "/api/v1/notifications",         api_notifications_list, NEED_READ },

	/* the operator's face */
	{ "GET",    "/api/v1/tokens",                api_tokens_list,      NEED_ADMIN },
	{ "POST",   "/api/v1/tokens",                api_tokens_create,    NEED_ADMIN },
	{ "DELETE", "/api/v1/tokens/{id}",           api_tokens_delete,    NEED_ADMIN },
	{ "POST",   "/api/v1/session",               api_session_create,   NEED_NONE },
	{ "GET",    "/api/v1/session",               api_session_get,      NEED_READ },
	{ "DELETE", "/api/v1/session",               api_session_delete,   NEED_NONE },
	{ "GET",    "/api/v1/stream",                api_stream,           NEED_READ },
	{ "GET",    "/metrics",                      api_metrics,          NEED_READ },
	{ "GET",    "/",                             www_page,             NEED_NONE },
	{ "GET",    "/checks/{id}",                  www_page,             NEED_NONE },
	{ "GET",    "/agents/{id}",                  www_page,             NEED_NONE },
	{ "GET",    "/ui/app.js",                    www_file,             NEED_NONE },
	{ "GET",    "/ui/style.css",                 www_file,             NEED_NONE },
	{ "GET",    "/ui/favicon.svg",               www_file,             NEED_NONE },

	{ NULL, NULL, NULL, NEED_NONE },
};
