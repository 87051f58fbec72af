/*
 * main.c - custos-serverd: options, start-up, signals, shutdown.
 *
 *   custos-serverd -c FILE                run the daemon (applies migrations first)
 *   custos-serverd -c FILE --migrate      apply pending migrations and exit
 *   custos-serverd -c FILE --create-token NAME --role admin|operator|viewer
 *                                         print a new API token and exit
 *
 * Signals only set flags; the main thread acts on them: SIGTERM/SIGINT stop
 * accepting, let in-flight requests and sends finish, and exit; SIGHUP
 * re-reads the file (a bad file is logged and the old settings stay).
 * Every other thread is started with those signals blocked, so the handler
 * always runs on the main thread, the one that reads the flags.
 */
#include "config.h"
#include "db.h"
#include "log.h"
#include "tz.h"
#include "serverd.h"
#include "migrate.h"
#include "api.h"
#include "auth.h"
#include "channel.h"
#include "confperm.h"
#include "login.h"
#include "strnum.h"
#include "timeutil.h"
#include "utf8.h"
#include "workers.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define START_DB_WAIT_S 30   /* how long start-up waits for PostgreSQL */

volatile sig_atomic_t g_stop;
volatile sig_atomic_t g_reload;

/* the snapshot loaded at start: listen, database and threads are read from it only */
static const struct srv_conf *start_conf;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		g_reload = 1;
	else
		g_stop = 1;
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: custos-serverd [-c FILE] [--migrate | --create-token NAME --role admin|operator|viewer]\n"
	    "  -c, --config FILE     configuration file (default: none, built-in defaults)\n"
	    "      --migrate         apply pending database migrations and exit\n"
	    "      --create-token N  create an API token named N, print it, and exit\n"
	    "      --role R          role of the new token: admin, operator or viewer\n"
	    "  -V, --version         print the version and exit\n");
}

static PGconn *
connect_wait(int wait_s)
{
	PGconn *c;
	int i;

	for (i = 0;; i++) {
		if ((c = db_conn()) != NULL)
			return c;
		if (i >= wait_s)
			return NULL;
		if (i == 0)
			log_warn("waiting up to %d s for the database", wait_s);
		sleep(1);
	}
}

static void
reload(const char *path)
{
	char err[512];
	struct srv_conf *next = calloc(1, sizeof(*next));

	if (next == NULL) {
		log_error("reload: out of memory (keeping the running configuration)");
		return;
	}
	if (srv_conf_load(path, next, err, sizeof(err)) < 0) {
		log_error("reload: %s (keeping the running configuration)", err);
		free(next);
		return;
	}
	if (strcmp(next->listen, start_conf->listen) != 0 ||
	    strcmp(next->database, start_conf->database) != 0 ||
	    next->threads != start_conf->threads ||
	    next->bulk_threads != start_conf->bulk_threads ||
	    next->max_connections != start_conf->max_connections)
		log_warn("reload: listen, database, threads, bulk_threads and max_connections change"
		    " only on restart");
	log_set_level((enum log_level)next->log_level);
	/* readers of the previous snapshot keep it until they drop it */
	conf_install(next);
	log_info("reload: configuration re-read from %s", path);
}

/*
 * CUSTOS_TEST_CLOCK_OFFSET_S: serverd's wall clock moved by that many
 * seconds (bench/ingest's midnight phase; docs/decisions.md). For tests and
 * benchmarks only: PostgreSQL's clock does not move with it. 0, or -1 on a
 * bad value (told).
 */
static int
clock_offset_from_env(void)
{
	const char *v = getenv("CUSTOS_TEST_CLOCK_OFFSET_S"), *es;
	long long s;

	if (v == NULL || *v == '\0')
		return 0;
	s = str_to_ll(v, -86400LL * 366, 86400LL * 366, &es);
	if (es != NULL) {
		fprintf(stderr, "custos-serverd: CUSTOS_TEST_CLOCK_OFFSET_S: %s\n", es);
		return -1;
	}
	time_set_offset_us(s * 1000000);
	log_warn("CUSTOS_TEST_CLOCK_OFFSET_S: this server's clock is moved by %lld s"
	    " (a test and benchmark knob, never for production)", s);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = NULL, *token_name = NULL, *role = NULL;
	int do_migrate = 0, i, rc = 1;
	char err[512];
	struct sigaction sa;
	sigset_t flagsigs;
	PGconn *c;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(a, "--migrate") == 0)
			do_migrate = 1;
		else if (strcmp(a, "--create-token") == 0 && i + 1 < argc)
			token_name = argv[++i];
		else if (strcmp(a, "--role") == 0 && i + 1 < argc)
			role = argv[++i];
		else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			printf("custos-serverd %s\n", PACKAGE_VERSION);
			return 0;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "custos-serverd: unknown or incomplete option \"%s\"\n", a);
			usage(stderr);
			return 2;
		}
	}
	if ((token_name == NULL) != (role == NULL)) {
		fprintf(stderr, "custos-serverd: --create-token and --role go together\n");
		return 2;
	}
	if (token_name && utf8_ctl_find(token_name, strlen(token_name), 0) < strlen(token_name)) {
		/* as POST /api/v1/tokens: a name with a control character is refused */
		fprintf(stderr, "custos-serverd: --create-token: the name contains a control character\n");
		return 2;
	}
	log_init("custos-serverd", LOG_LVL_INFO);
	if (clock_offset_from_env() < 0)
		return 2;
	{
		struct srv_conf *first = calloc(1, sizeof(*first));

		if (first == NULL || srv_conf_load(path, first, err, sizeof(err)) < 0) {
			fprintf(stderr, "custos-serverd: %s\n", first ? err : "out of memory");
			free(first);
			return 1;
		}
		conf_install(first);
	}
	if (path) {
		/* a 0644 file holding the relay's password or the Pushover token */
		static const char *const secrets[] = { "smtp_password", "pushover_token", NULL };
		conf_warn_secret_perms(path, secrets);
	}
	start_conf = conf_hold();
	log_set_level((enum log_level)start_conf->log_level);
	if (login_init() < 0) {
		fprintf(stderr, "custos-serverd: libsodium failed to initialise\n");
		goto done;
	}
	if (db_init(start_conf->database) < 0)
		goto done;

	if (do_migrate || token_name) {
		if ((c = db_conn()) == NULL) {
			fprintf(stderr, "custos-serverd: cannot connect to the database\n");
			goto done;
		}
		if (migrate_run(c) < 0)
			goto done;
		if (!token_name)
			db_advise(c);
		if (token_name && auth_create_token(c, token_name, role) < 0)
			goto done;
		rc = 0;
		goto done;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* threads inherit this mask: blocked until every thread is started */
	sigemptyset(&flagsigs);
	sigaddset(&flagsigs, SIGTERM);
	sigaddset(&flagsigs, SIGINT);
	sigaddset(&flagsigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &flagsigs, NULL);

	if ((c = connect_wait(START_DB_WAIT_S)) == NULL) {
		log_error("database unreachable; giving up");
		goto done;
	}
	if (migrate_run(c) < 0 || channels_register(c) < 0)
		goto done;
	db_advise(c);
	db_close();   /* the main thread needs no connection while running */
	/* what every worker's connection prepares and plans when it opens */
	api_status_warm();
	/* every thread, in order (workers.c) */
	if (workers_start(start_conf) < 0)
		goto done;
	/* every thread is started: the signals may come in, to this one */
	pthread_sigmask(SIG_UNBLOCK, &flagsigs, NULL);
	log_info("listening on %s (%s), %lld threads", start_conf->listen,
	    start_conf->tls_cert ? "https" : "http", start_conf->threads);
	while (!g_stop) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		if (g_reload) {
			g_reload = 0;
			if (path)
				reload(path);
		}
	}
	log_info("stopping: finishing in-flight work");
	rc = 0;
done:
	workers_stop();
	db_shutdown();
	tz_cache_free();
	conf_drop(start_conf);
	conf_shutdown();
	return rc;
}
