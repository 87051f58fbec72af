/*
 * net.c - the net check: an interface's receive or transmit rate, or its
 * error rate, per second since the previous sample, from /proc/net/dev:
 *
 *   "  eth0: rxbytes rxpackets rxerrs rxdrop fifo frame compressed multicast
 *            txbytes txpackets txerrs txdrop fifo colls carrier compressed"
 *
 * Samples and the first-run window as in cpu.c.
 */
#include "config.h"
#include "check.h"
#include "params.h"
#include "procfs.h"
#include "samples.h"
#include "timeutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NET_SAMPLE_MAX_AGE_MS (24LL * 3600 * 1000)
#define NET_IFACE_MAX 32     /* IFNAMSIZ is 16; leave room */

enum net_metric { NET_RX, NET_TX, NET_ERR };

static const struct {
	const char *name;
	const char *perf;
	const char *uom;
} metrics[] = {
	[NET_RX] = { "rx_bytes_per_s", "rx_bytes_per_s", "B" },
	[NET_TX] = { "tx_bytes_per_s", "tx_bytes_per_s", "B" },
	[NET_ERR] = { "errors_per_s", "errors_per_s", "" },
};

struct net_params {
	char iface[NET_IFACE_MAX];
	enum net_metric metric;
};

static int
net_parse(json_t *params, void **out, char *err, size_t errlen, const char **field)
{
	static const char *const keys[] = { "iface", "metric", NULL };
	struct net_params *p;
	const char *iface, *metric;
	size_t i;

	*out = NULL;
	if (params_allowed(params, keys, err, errlen, field) < 0 ||
	    params_string(params, "iface", 1, 15, &iface, err, errlen, field) < 0 ||
	    params_string(params, "metric", 1, 32, &metric, err, errlen, field) < 0)
		return -1;
	if (strpbrk(iface, " :/\t\n") != NULL)
		return params_error("iface", err, errlen, field, "not an interface name");
	for (i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		if (strcmp(metric, metrics[i].name) == 0)
			break;
	if (i == sizeof(metrics) / sizeof(metrics[0]))
		return params_error("metric", err, errlen, field,
		    "must be rx_bytes_per_s, tx_bytes_per_s or errors_per_s");
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return params_error("iface", err, errlen, field, "out of memory");
	memcpy(p->iface, iface, strlen(iface) + 1);
	p->metric = (enum net_metric)i;
	*out = p;
	return 0;
}

/* v: rx_bytes, tx_bytes, rx_errs, tx_errs. 0, 1 (no such iface), -1 (error) */
static int
read_iface(const char *root, const char *iface, uint64_t v[4], char *err, size_t errlen)
{
	char *buf, *line, *next;
	size_t len;
	int rc = 1;
	const size_t size = 64 * 1024;

	if ((buf = malloc(size)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (procfs_read(root, "net/dev", buf, size, &len) < 0) {
		snprintf(err, errlen, "%s/net/dev: %s", root, strerror(errno));
		free(buf);
		return -1;
	}
	for (line = buf; line && *line; line = next) {
		char *colon, *name, *p, *tok;
		uint64_t f[16];
		int i;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((colon = strchr(line, ':')) == NULL)
			continue;   /* the two header lines */
		*colon = '\0';
		p = line;
		if ((name = next_token(&p)) == NULL || strcmp(name, iface) != 0)
			continue;
		p = colon + 1;
		for (i = 0; i < 16; i++)
			if ((tok = next_token(&p)) == NULL || parse_u64(tok, &f[i]) < 0)
				break;
		if (i < 16) {
			snprintf(err, errlen, "%s/net/dev: cannot parse the line of %s", root, iface);
			rc = -1;
			break;
		}
		v[0] = f[0];
		v[1] = f[8];
		v[2] = f[2];
		v[3] = f[10];
		rc = 0;
		break;
	}
	free(buf);
	return rc;
}


/* the metric's rate; -1 after a counter reset or when no time passed */
static double
net_rate(enum net_metric m, const uint64_t *prev, int64_t t_prev,
    const uint64_t *cur, int64_t t_cur)
{
	uint64_t d;
	int reset = 0;

	if (t_cur <= t_prev)
		return -1;
	if (m == NET_RX)
		d = counter_delta(cur[0], prev[0], &reset);
	else if (m == NET_TX)
		d = counter_delta(cur[1], prev[1], &reset);
	else
		d = counter_delta(cur[2], prev[2], &reset) + counter_delta(cur[3], prev[3], &reset);
	if (reset)
		return -1;
	return (double)d * 1000.0 / (double)(t_cur - t_prev);
}

static void
net_run(const void *vp, struct check_env *env, struct check_out *o)
{
	const struct net_params *p = vp;
	uint64_t cur[4], first[4];
	const struct sample *prev;
	char err[256], key[SAMPLE_KEY_MAX];
	int64_t now, t_first;
	double rate = -1;
	int rc;

	o->label = "NET";
	if (env->samples == NULL && (env->samples = sample_store_new()) == NULL) {
		check_fail(o, CHECK_UNKNOWN, "out of memory");
		return;
	}
	if ((rc = read_iface(env->proc_root, p->iface, cur, err, sizeof(err))) != 0) {
		if (rc > 0)
			check_fail(o, CHECK_UNKNOWN, "no interface %s", p->iface);
		else
			check_fail(o, CHECK_UNKNOWN, "%s", err);
		return;
	}
	now = time_now_us() / 1000;
	snprintf(key, sizeof(key), "net:%s", p->iface);
	prev = sample_get(env->samples, key);
	if (prev && prev->n == 4 && prev->t_ms <= now && now - prev->t_ms <= NET_SAMPLE_MAX_AGE_MS)
		rate = net_rate(p->metric, prev->v, prev->t_ms, cur, now);
	if (rate < 0) {
		memcpy(first, cur, sizeof(first));
		t_first = mono_now_ms();
		sleep_ms(env->first_sample_ms);
		if ((rc = read_iface(env->proc_root, p->iface, cur, err, sizeof(err))) != 0) {
			check_fail(o, CHECK_UNKNOWN, rc > 0 ? "interface %s went away" : "%s",
			    rc > 0 ? p->iface : err);
			return;
		}
		now = time_now_us() / 1000;
		rate = net_rate(p->metric, first, t_first, cur, mono_now_ms());
		if (rate < 0)
			rate = 0;
	}
	sample_put(env->samples, key, now, cur, 4);
	check_set_value(o, rate, p->metric == NET_ERR ? 2 : 0);
	if (p->metric == NET_ERR) {
		check_detail(o, "%s %.2f errors/s", p->iface, rate);
	} else {
		char h[32];
		human_bytes(rate, h, sizeof(h));
		check_detail(o, "%s %s %s/s", p->iface, p->metric == NET_RX ? "rx" : "tx", h);
	}
	o->perf_label = metrics[p->metric].perf;
	o->uom = metrics[p->metric].uom;
	o->has_min = 1;
	o->min = 0;
}

const struct check_type check_type_net = {
	.name = "net",
	.parse_params = net_parse,
	.free_params = params_free_plain,
	.run = net_run,
};
