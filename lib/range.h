/*
 * range.h - Nagios threshold ranges, as in the monitoring-plugins
 * development guidelines: "10" (alert outside 0..10), "10:" (below 10),
 * "~:10" (above 10), "10:20" (outside 10..20), "@10:20" (inside 10..20,
 * inclusive). Shared by the agent (evaluating values) and the server
 * (validating check definitions).
 */
#ifndef CUSTOS_RANGE_H
#define CUSTOS_RANGE_H

struct nrange {
	double start;
	double end;
	int start_inf;   /* start is -infinity ("~") */
	int end_inf;     /* end is +infinity ("10:") */
	int inside;      /* '@': alert when inside */
};

/* 0, or -1 when s is not a valid range (also when start > end). */
int range_parse(const char *s, struct nrange *r);
/* 1 when v raises an alert for r. */
int range_alert(const struct nrange *r, double v);

#endif
