/*
 * pattern.h - the limits on the regular expressions a check definition may
 * carry (log pattern, process cmdline), shared by the server (422 at POST
 * /checks, through check_validate()) and the agent (the definition is
 * refused the same way). A pattern comes from the network and is compiled
 * by glibc's regcomp(), whose memory grows with the expanded size of the
 * expression ("r" followed by 24 "+" took 3.9 GB), and back-references make
 * matching exponential; so, before regcomp() ever sees it, a pattern is:
 *
 *   - at most PATTERN_MAX bytes;
 *   - free of back-references (\1 .. \9);
 *   - free of stacked repetition operators (a++, a*?, a{2}*, a+{3});
 *   - at most PATTERN_COUNT_MAX in a {m,n} count (POSIX's RE_DUP_MAX minimum);
 *   - at most PATTERN_COST_MAX in expanded size, which is what refuses
 *     nested repetitions that multiply ((a{100}){100}, ((((a+)+)+)+)...)
 *     while letting the common (foo|bar)+ or (ab+c)* through.
 */
#ifndef CUSTOS_PATTERN_H
#define CUSTOS_PATTERN_H

#include <stddef.h>
#include <regex.h>

#define PATTERN_MAX 256          /* bytes of a pattern */
#define PATTERN_COUNT_MAX 255    /* largest m or n in {m,n} */
#define PATTERN_COST_MAX 4096    /* expanded size, in atoms (see pattern.c) */
#define PATTERN_DEPTH_MAX 32     /* nested groups */

/* NULL when text keeps the rules above, else why not (a static string). */
const char *pattern_check(const char *text);
/*
 * Checks text against the rules, then compiles it (REG_EXTENDED |
 * REG_NOSUB) into re. 0, or -1 with "params.KEY: reason" in err and
 * *field = key (re is then not to be freed).
 */
int pattern_compile(const char *key, const char *text, regex_t *re, char *err,
    size_t errlen, const char **field);

#endif
