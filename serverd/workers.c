/*
 * workers.c - PLACEHOLDER until the alerting work lands: no background
 * threads yet (no notification delivery, no periodic jobs).
 */
#include "config.h"
#include "workers.h"

int
workers_start(void)
{
	return 0;
}

void
workers_stop(void)
{
}
