/* fuzz_conf.c - configuration files (lib/conf.c through agentd's key table,
 * agentd/config.c): any bytes give a loaded configuration or an error, and
 * a failed load changes nothing. */
#include "config.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void
teardown(void)
{
	unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_conf cf;
	char err[1024];
	FILE *fp;

	if (path[0] == '\0') {
		snprintf(path, sizeof(path), "/tmp/custos-fuzz-conf-%ld", (long)getpid());
		atexit(teardown);
	}
	if ((fp = fopen(path, "w")) == NULL)
		return 0;
	fwrite(data, 1, size, fp);
	fclose(fp);
	conf_defaults(&cf);
	if (agent_conf_load(path, &cf, err, sizeof(err)) < 0) {
		if (err[0] == '\0' || strcmp(cf.server, "http://127.0.0.1:8675") != 0)
			abort();   /* an error says why, and changes nothing */
	} else if (cf.server == NULL || (strncmp(cf.server, "http://", 7) != 0 &&
	    strncmp(cf.server, "https://", 8) != 0)) {
		abort();
	}
	agent_conf_free(&cf);
	return 0;
}
