/*
 * facts.c - what the agent tells the server about its host: hostname,
 * kernel, OS (os-release: "os" its ID, os_version, os_name), CPU model
 * and count, memory, network interfaces with their addresses, boot time. Collected at every checkout (cheap: a
 * few small files) and sent only when their hash changed.
 */
#include "config.h"
#include "agentd.h"
#include "procfs.h"
#include "timeutil.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

/*
 * os-release: "os" its ID (debian, ubuntu, rhel: short, for selectors such
 * as fact.os=debian), "os_version" its VERSION_ID, "os_name" its
 * PRETTY_NAME (what a person reads).
 */
static void
os_release(json_t *o)
{
	static const struct { const char *key, *fact; } keys[] = {
		{ "ID=", "os" }, { "VERSION_ID=", "os_version" }, { "PRETTY_NAME=", "os_name" },
	};
	char buf[4096], *line, *next;
	size_t len, i;

	if (procfs_read(NULL, "/etc/os-release", buf, sizeof(buf), &len) < 0 &&
	    procfs_read(NULL, "/usr/lib/os-release", buf, sizeof(buf), &len) < 0)
		return;
	for (line = buf; line && *line; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			size_t kl = strlen(keys[i].key), vl;
			char *v;
			if (strncmp(line, keys[i].key, kl) != 0)
				continue;
			v = line + kl;
			vl = strlen(v);
			if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
				v[vl - 1] = '\0';
				v++;
			}
			json_object_set_new(o, keys[i].fact, json_string(v));
		}
	}
}

static void
cpu_model(json_t *o, const char *proc_root)
{
	char *buf;
	size_t len;
	char *line, *next;
	const size_t size = 16384;   /* the first processor's block is enough */

	if ((buf = malloc(size)) == NULL)
		return;
	if (procfs_read(proc_root, "cpuinfo", buf, size, &len) == 0) {
		for (line = buf; line && *line; line = next) {
			char *colon;

			if ((next = strchr(line, '\n')) != NULL)
				*next++ = '\0';
			if (strncmp(line, "model name", 10) != 0 || (colon = strchr(line, ':')) == NULL)
				continue;
			colon++;
			while (*colon == ' ' || *colon == '\t')
				colon++;
			json_object_set_new(o, "cpu_model", json_string(colon));
			break;
		}
	}
	free(buf);
}

static void
boot_time(json_t *o, const char *proc_root)
{
	char *buf, *p;
	size_t len;
	const size_t size = 65536;   /* btime follows the per-cpu and intr lines */
	uint64_t v;

	if ((buf = malloc(size)) == NULL)
		return;
	if (procfs_read(proc_root, "stat", buf, size, &len) == 0 &&
	    (p = strstr(buf, "\nbtime ")) != NULL) {
		char *e = strchr(p + 7, '\n');
		if (e)
			*e = '\0';
		if (parse_u64(p + 7, &v) == 0) {
			char ts[RFC3339_LEN];
			rfc3339_format((int64_t)v * 1000000, ts);
			json_object_set_new(o, "boot_time", json_string(ts));
		}
	}
	free(buf);
}

static void
interfaces(json_t *o)
{
	struct ifaddrs *ifa, *i;
	json_t *ifs = json_object();

	if (ifs == NULL)
		return;
	if (getifaddrs(&ifa) < 0) {
		json_decref(ifs);
		return;
	}
	for (i = ifa; i; i = i->ifa_next) {
		char addr[INET6_ADDRSTRLEN];
		const void *src;
		json_t *list;

		if (i->ifa_addr == NULL || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			src = &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr;
		else if (i->ifa_addr->sa_family == AF_INET6)
			src = &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr;
		else
			continue;
		if (inet_ntop(i->ifa_addr->sa_family, src, addr, sizeof(addr)) == NULL)
			continue;
		if ((list = json_object_get(ifs, i->ifa_name)) == NULL) {
			list = json_array();
			if (json_object_set_new(ifs, i->ifa_name, list) < 0)
				continue;
		}
		json_array_append_new(list, json_string(addr));
	}
	freeifaddrs(ifa);
	json_object_set_new(o, "interfaces", ifs);
}

json_t *
facts_collect(const char *proc_root)
{
	struct utsname u;
	struct meminfo m;
	char err[256];
	long ncpu;
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	if (uname(&u) == 0) {
		json_object_set_new(o, "hostname", json_string(u.nodename));
		json_object_set_new(o, "kernel", json_sprintf("%s %s", u.sysname, u.release));
		json_object_set_new(o, "arch", json_string(u.machine));
	}
	os_release(o);
	cpu_model(o, proc_root);
	if ((ncpu = sysconf(_SC_NPROCESSORS_ONLN)) > 0)
		json_object_set_new(o, "cpu_count", json_integer(ncpu));
	if (meminfo_read(proc_root, &m, err, sizeof(err)) == 0) {
		json_object_set_new(o, "memory_bytes", json_integer((json_int_t)(m.total_kb * 1024)));
		json_object_set_new(o, "swap_bytes", json_integer((json_int_t)(m.swap_total_kb * 1024)));
	}
	interfaces(o);
	boot_time(o, proc_root);
	json_object_set_new(o, "agent_version", json_string(PACKAGE_VERSION));
	return o;
}
