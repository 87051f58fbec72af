/*
 * perfdata.h - the Nagios performance data parser, after the
 * monitoring-plugins development guidelines:
 *
 *     'label'=value[UOM];[warn];[crit];[min];[max]
 *
 * Items are separated by spaces. The label may be quoted with single quotes
 * (needed when it holds a space or '='); a quote inside a quoted label is
 * written twice. value is a number or the literal "U" (could not be
 * determined); UOM is a short run of letters or "%" (s, ms, us, %, B, KB, MB,
 * GB, TB, c, ...); warn and crit are ranges in the syntax of range.h; min and
 * max are numbers; empty fields are allowed and trailing semicolons may be
 * dropped. Shared by the agent (plugin output) and the server (validating
 * posted perfdata). No allocation: items are copied into caller storage.
 */
#ifndef CUSTOS_PERFDATA_H
#define CUSTOS_PERFDATA_H

#include <stddef.h>
#include "range.h"

#define PERF_LABEL_MAX 128   /* bytes, with the NUL; longer labels are an error */
#define PERF_UOM_MAX 8       /* "KiB" fits; longer units are an error */
#define PERF_RANGE_MAX 66    /* range text, with the NUL */

struct perf_item {
	char label[PERF_LABEL_MAX];      /* unquoted, '' turned into ' */
	int value_known;                 /* 0 for "U" */
	double value;
	char uom[PERF_UOM_MAX];          /* "" when none */
	int has_warn, has_crit, has_min, has_max;
	char warn_text[PERF_RANGE_MAX];  /* as written */
	char crit_text[PERF_RANGE_MAX];
	struct nrange warn, crit;
	double min, max;
};

/*
 * Parses the text after a plugin's '|'. Stores at most max items in items
 * (which may be NULL when max is 0) and sets *count to the number of items
 * found in the whole text. Returns 0, or -1 with a reason in err naming the
 * item ("item 2 (rta): bad value \"x\""). An empty or all-blank text is valid
 * and has no items.
 */
int perfdata_parse(const char *s, struct perf_item *items, size_t max,
    size_t *count, char *err, size_t errlen);

#endif
