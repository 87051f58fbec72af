/*
 * main.c - custos-agentd: options and modes.
 *
 *   custos-agentd -c FILE             daemon: a cycle every interval_s
 *   custos-agentd -c FILE --once      one cycle, for cron; exit 0 when delivered/spooled
 *   custos-agentd [-c FILE] --local CHECKS.json    serverless: JSON lines on stdout
 *   custos-agentd [-c FILE] --test TYPE key=value...  one check, printed like a plugin
 *   custos-agentd [-c FILE] --wrap NAME [--lock] [--timeout S] -- CMD ARGS...
 *                                     a cron job, reported to heartbeat check NAME
 *
 * Signals only set flags. They stay blocked while a cycle runs and are
 * let through only inside pselect() between cycles, so SIGTERM finishes the
 * current run and SIGHUP re-reads the configuration between two runs,
 * without a window in which a signal could be missed.
 */
#include "config.h"
#include "agentd.h"
#include "conf.h"
#include "log.h"
#include "samples.h"
#include "strnum.h"
#include "timeutil.h"
#include "token.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#define DEFAULT_CONF SYSCONFDIR_DEFAULT "/custos/agentd.conf"
#ifndef SYSCONFDIR_DEFAULT
#define SYSCONFDIR_DEFAULT "/etc"
#endif
#define DEFAULT_INTERVAL_S 60    /* until the server says otherwise */

static volatile sig_atomic_t got_term;
static volatile sig_atomic_t got_hup;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: custos-agentd [-c FILE] [--once]\n"
	    "       custos-agentd [-c FILE] --local CHECKS.json\n"
	    "       custos-agentd [-c FILE] --test TYPE [key=value ...]\n"
	    "       custos-agentd [-c FILE] --wrap NAME [--lock] [--timeout S] -- CMD [ARG ...]\n"
	    "\n"
	    "  -c, --config FILE   configuration (default %s)\n"
	    "      --once          one run (for cron); exit 0 when the results were\n"
	    "                      delivered or spooled\n"
	    "      --local FILE    run the checks in FILE (a JSON array, or {\"checks\": [...]})\n"
	    "                      once, print one JSON result a line; no server\n"
	    "      --test TYPE     run one check and print it like a Nagios plugin; exit\n"
	    "                      status is the Nagios code. key=value sets a param (JSON\n"
	    "                      values such as 22, true or [\"-w\",\"5\"] are taken as such);\n"
	    "                      warning=RANGE and critical=RANGE set the thresholds\n"
	    "      --wrap NAME     run CMD and report its start, exit code and output to\n"
	    "                      the heartbeat check NAME; exit with CMD's status\n"
	    "      --lock          with --wrap: refuse (exit 75, reported) while a previous\n"
	    "                      run of NAME still runs\n"
	    "      --timeout S     with --wrap: kill CMD's process group after S seconds\n"
	    "                      (exit 124, reported)\n"
	    "  -v, --verbose       log_level debug\n"
	    "  -V, --version\n", DEFAULT_CONF);
}

/* Sleeps up to ms, returning early when a signal arrives. */
static void
sleep_signalled(int64_t ms, const sigset_t *open_mask)
{
	struct timespec ts;

	if (ms <= 0 || got_term || got_hup)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	pselect(0, NULL, NULL, NULL, &ts, open_mask);
}

static unsigned int
random_below(unsigned int n)
{
	unsigned int r = 0;
	char tok[TOKEN_HEX_LEN + 1];
	int i;

	if (n == 0)
		return 0;
	if (token_generate(tok) == 0)
		for (i = 0; i < 8; i++)
			r = r * 16 + (unsigned int)(tok[i] <= '9' ? tok[i] - '0' : tok[i] - 'a' + 10);
	else
		r = (unsigned int)(time_now_us() ^ getpid());
	return r % n;
}

static int
load_conf(struct agent *a, const char *path, int explicit_path)
{
	char err[1024];

	if (path == NULL)
		return 0;
	if (!explicit_path && access(path, F_OK) < 0)
		return 0;   /* --local/--test without -c: defaults */
	if (agent_conf_load(path, &a->cf, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	log_set_level((enum log_level)a->cf.log_level);
	/* cron mails any output: --once keeps info lines to itself (docs/agent.md) */
	if (a->once && a->cf.log_level == LOG_LVL_INFO)
		log_set_level(LOG_LVL_WARN);
	return 0;
}

static int64_t
interval_ms(const struct agent *a)
{
	long long s = a->cf.interval_s ? a->cf.interval_s :
	    a->interval_s > 0 ? a->interval_s : DEFAULT_INTERVAL_S;
	return (int64_t)s * 1000;
}

static int
run_daemon(struct agent *a, const char *conf_path)
{
	sigset_t block, open_mask;
	struct sigaction sa;
	char err[512];
	int64_t next;
	int first;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &open_mask);
	sigdelset(&open_mask, SIGTERM);
	sigdelset(&open_mask, SIGINT);
	sigdelset(&open_mask, SIGHUP);

	if (state_dir_ready(a->cf.state_dir, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return 1;
	}
	agent_load_cache(a);
	if (agent_connect(a) < 0)
		return 1;
	log_info("custos-agentd %s starting (server %s)", PACKAGE_VERSION, a->cf.server);
	/*
	 * The first run is at once (a restarted agent reports without delay);
	 * a fleet restarted together is spread by starting the second run a
	 * random part of jitter_s (less than the interval) early, which sets
	 * this agent's phase for good.
	 */
	first = 1;
	while (!got_term) {
		int64_t t0 = mono_now_ms();

		if (got_hup) {
			got_hup = 0;
			/* a broken file leaves the running configuration in place */
			if (load_conf(a, conf_path, 1) == 0) {
				log_info("configuration re-read from %s", conf_path);
				if (agent_connect(a) < 0)
					log_error("cannot reconnect with the new settings");
			} else {
				log_error("keeping the running configuration");
			}
		}
		if (agent_cycle(a) < 0)
			log_warn("this run's results were not delivered");
		/* give back what the run took: the idle agent stays small */
		malloc_trim(0);
		next = t0 + interval_ms(a);
		if (first) {
			int64_t cap = a->cf.jitter_s * 1000;
			unsigned int j;

			if (cap >= interval_ms(a))
				cap = interval_ms(a) - 1;
			j = random_below(cap > 0 ? (unsigned int)cap : 0);
			log_debug("jitter: the second run %u ms early", j);
			next -= j;
			first = 0;
		}
		while (!got_term && !got_hup && mono_now_ms() < next)
			sleep_signalled(next - mono_now_ms(), &open_mask);
	}
	log_info("SIGTERM: exiting");
	return 0;
}

static json_t *
param_value(const char *v)
{
	json_t *j = json_loads(v, JSON_DECODE_ANY, NULL);

	if (j && (json_is_number(j) || json_is_boolean(j) || json_is_array(j) ||
	    json_is_object(j) || json_is_null(j) || (json_is_string(j) && v[0] == '"')))
		return j;
	json_decref(j);
	return json_string(v);
}

static void
print_result(const struct check_result *r)
{
	if (r->perfdata)
		printf("%s | %s\n", r->output, r->perfdata);
	else
		printf("%s\n", r->output);
}

static int
run_test(struct agent *a, const char *type, char **kv, int nkv)
{
	json_t *def, *params;
	struct check_def d;
	struct check_result r;
	struct check_def *dp = &d;
	char err[512];
	const char *field = NULL;
	int i, rc;

	def = json_pack("{s:s,s:{}}", "type", type, "params");
	if (def == NULL)
		return 3;
	params = json_object_get(def, "params");
	for (i = 0; i < nkv; i++) {
		char *eq = strchr(kv[i], '=');
		if (eq == NULL || eq == kv[i]) {
			fprintf(stderr, "custos-agentd: \"%s\" is not key=value\n", kv[i]);
			json_decref(def);
			return 3;
		}
		*eq = '\0';
		if (strcmp(kv[i], "warning") == 0 || strcmp(kv[i], "critical") == 0)
			json_object_set_new(def, kv[i], json_string(eq + 1));
		else
			json_object_set_new(params, kv[i], param_value(eq + 1));
	}
	if (check_def_from_json(def, &d, err, sizeof(err), &field) < 0) {
		fprintf(stderr, "custos-agentd: %s\n", err);
		json_decref(def);
		return 3;
	}
	json_decref(def);
	agent_apply_env(a);
	if ((a->env.samples = sample_store_new()) != NULL &&
	    sample_store_load(a->env.samples, a->cf.state_dir, err, sizeof(err)) < 0)
		log_debug("%s", err);
	check_env_begin_run(&a->env, &dp, 1);
	check_run(&d, &a->env, &r);
	check_env_end_run(&a->env);
	if (a->env.samples && a->env.samples->dirty &&
	    sample_store_save(a->env.samples, a->cf.state_dir, err, sizeof(err)) < 0)
		log_debug("%s", err);
	print_result(&r);
	rc = (int)r.status;
	check_result_free(&r);
	check_def_free(&d);
	return rc;
}

static int
run_local(struct agent *a, const char *file)
{
	json_error_t je;
	json_t *j, *arr, *out, *r;
	char err[512];
	size_t i;

	if ((j = json_load_file(file, 0, &je)) == NULL) {
		log_error("%s:%d: %s", file, je.line, je.text);
		return 2;
	}
	arr = json_is_array(j) ? j : json_object_get(j, "checks");
	if (!json_is_array(arr)) {
		log_error("%s: expected an array of checks or {\"checks\": [...]}", file);
		json_decref(j);
		return 2;
	}
	json_array_foreach(arr, i, r) {
		/* local definitions are the admin's own: refuse the file on any error */
		struct check_def d;
		const char *field = NULL;
		if (check_def_from_json(r, &d, err, sizeof(err), &field) < 0) {
			log_error("%s: check %zu: %s", file, i, err);
			json_decref(j);
			return 2;
		}
		check_def_free(&d);
	}
	if (agent_set_checks(a, arr, err, sizeof(err)) < 0) {
		log_error("%s: %s", file, err);
		json_decref(j);
		return 2;
	}
	json_decref(j);
	if ((a->env.samples = sample_store_new()) != NULL &&
	    sample_store_load(a->env.samples, a->cf.state_dir, err, sizeof(err)) < 0)
		log_debug("%s", err);
	if ((out = json_array()) == NULL)
		return 2;
	agent_run_checks(a, out, 0);
	json_array_foreach(out, i, r) {
		char *s = json_dumps(r, JSON_COMPACT);
		if (s) {
			puts(s);
			free(s);
		}
	}
	json_decref(out);
	fflush(stdout);
	if (a->env.samples && sample_store_save(a->env.samples, a->cf.state_dir, err, sizeof(err)) < 0)
		log_debug("%s", err);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, 'o' },
		{ "local", required_argument, NULL, 'l' },
		{ "test", required_argument, NULL, 't' },
		{ "wrap", required_argument, NULL, 'w' },
		{ "lock", no_argument, NULL, 'L' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf_path = DEFAULT_CONF, *local = NULL, *test = NULL, *es;
	struct wrap_opts wo = { NULL, NULL, 0, 0 };
	struct agent a;
	int c, once = 0, verbose = 0, explicit_conf = 0, rc, timeout_set = 0;

	log_init(AGENT_NAME, LOG_LVL_INFO);
	while ((c = getopt_long(argc, argv, "+c:vVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': conf_path = optarg; explicit_conf = 1; break;
		case 'o': once = 1; break;
		case 'l': local = optarg; break;
		case 't': test = optarg; break;
		case 'w': wo.name = optarg; break;
		case 'L': wo.lock = 1; break;
		case 'T':
			wo.timeout_s = str_to_ll(optarg, 1, 31LL * 86400, &es);
			if (es) {
				fprintf(stderr, "custos-agentd: --timeout %s: %s (seconds, 1 to %lld)\n",
				    optarg, es, 31LL * 86400);
				return WRAP_EXIT_USAGE;
			}
			timeout_set = 1;
			break;
		case 'v': verbose = 1; break;
		case 'V': printf("custos-agentd %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (test)
			break;   /* the rest is key=value */
	}
	if ((local != NULL) + (test != NULL) + once + (wo.name != NULL) > 1) {
		fprintf(stderr, "custos-agentd: --once, --local, --test and --wrap exclude each other\n");
		return 2;
	}
	if (!wo.name && (wo.lock || timeout_set)) {
		fprintf(stderr, "custos-agentd: --lock and --timeout go with --wrap NAME\n");
		return 2;
	}
	if (wo.name) {
		if (strlen(wo.name) > WRAP_NAME_MAX) {
			fprintf(stderr, "custos-agentd: --wrap: a check name is at most %d bytes\n",
			    WRAP_NAME_MAX);
			return WRAP_EXIT_USAGE;
		}
		if (wo.name[0] == '\0' || optind >= argc) {
			fprintf(stderr, "custos-agentd: --wrap needs a check name and a command: "
			    "--wrap NAME -- CMD [ARG ...]\n");
			return WRAP_EXIT_USAGE;
		}
		wo.argv = argv + optind;
	} else if (!test && optind < argc) {
		usage(stderr);
		return 2;
	}
	agent_init(&a);
	a.once = once || wo.name;
	rc = load_conf(&a, conf_path, explicit_conf || (!local && !test));
	if (verbose)
		log_set_level(LOG_LVL_DEBUG);
	if (wo.name) {
		/* a broken configuration costs the report, never the job */
		if (rc < 0)
			log_error("the run of \"%s\" is not reported: the configuration cannot be read",
			    wo.name);
		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = agent_wrap(&a, rc == 0, &wo);
		agent_free(&a);
		curl_global_cleanup();
		return rc;
	}
	if (rc < 0) {
		agent_free(&a);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (test)
		rc = run_test(&a, test, argv + optind, argc - optind);
	else if (local)
		rc = run_local(&a, local);
	else if (once) {
		char err[512];

		signal(SIGPIPE, SIG_IGN);
		if (state_dir_ready(a.cf.state_dir, err, sizeof(err)) < 0) {
			log_error("%s", err);
			rc = 1;
		} else {
			agent_load_cache(&a);
			rc = agent_cycle(&a) < 0 ? 1 : 0;
			if (rc)
				log_error("run failed: results not delivered (see above)");
		}
	} else
		rc = run_daemon(&a, conf_path);
	agent_free(&a);
	curl_global_cleanup();
	return rc;
}
