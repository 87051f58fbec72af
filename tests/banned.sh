#!/bin/sh
# banned.sh - TAP: no unsafe or non-reentrant libc calls in the C sources
# (after curl's checksrc): sprintf, vsprintf, strcpy, strcat, strncpy,
# strtok, sscanf, gets, atoi/atol/atof, gmtime/localtime (use the _r forms),
# and raw strtol & co outside the checked wrappers (use str_to_ll & co).
cd "${CUSTOS_SRCDIR:-$(dirname "$0")/..}" || exit 1
n=0
check() {
	n=$((n + 1))
	hits=$(grep -nE "$2" lib/*.c checks/*.c agentd/*.c serverd/*.c serverd/*/*.c cli/*.c 2>/dev/null | grep -v "$3")
	if [ -z "$hits" ]; then
		echo "ok $n - no $1"
	else
		echo "not ok $n - $1 used"
		echo "$hits" | sed 's/^/# /'
	fi
}
check "sprintf/vsprintf" '(^|[^n_])v?sprintf[[:space:]]*\(' '^$'
check "strcpy/strcat/strncpy" '\b(strcpy|strcat|strncpy)[[:space:]]*\(' '^$'
check "strtok/sscanf/gets" '\b(strtok|sscanf|gets)[[:space:]]*\(' '^$'
check "atoi/atol/atof" '\bato(i|l|ll|f)[[:space:]]*\(' '^$'
check "gmtime/localtime without _r" '\b(gmtime|localtime)[[:space:]]*\(' '^$'
# the checked wrappers: lib/strnum.c, and parse_u64() in checks/procfs.c
check "raw strtol & co outside the checked wrappers" '\bstrto(l|ll|ul|ull|d)[[:space:]]*\(' '^lib/strnum.c:\|^checks/procfs.c:'
echo "1..$n"
