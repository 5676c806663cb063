/* cmd_run.c - `siemfwd run -c FILE [--once]`: load the config, run the
 * pipeline in its own thread while the main thread waits for signals:
 * SIGINT/SIGTERM stop (drain, flush, commit), SIGHUP reloads the config -
 * a valid new config replaces the pipeline (cursors live in the state store,
 * so nothing is lost), an invalid one is reported and the running one kept. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sf_cli.h"
#include "sf_config.h"
#include "sf_log.h"
#include "sf_metrics.h"
#include "sf_pipeline.h"
#include "sf_sources.h"

static const char run_usage[] =
    "usage: siemfwd run -c FILE [--once]\n"
    "Runs the pipeline in the foreground (systemd-friendly; logs on stderr).\n"
    "--once: one complete pass over every tenant (throttling waited out), drain\n"
    "        the outputs (retrying until shutdown_timeout), exit 0 only when every\n"
    "        output acknowledged everything read; else exit 1 naming each tenant\n"
    "        and output left behind.\n"
    "SIGINT/SIGTERM: stop fetching, drain and flush the outputs, commit cursors.\n"
    "SIGHUP: re-read the config; an invalid one is reported and the old one kept.\n"
    "With a cluster: section the instance joins the group and polls only the tenants\n"
    "assigned to it (--once is refused); unreachable brokers: exit 1.\n";

/* Load and check the config; prints errors. NULL on failure. */
struct sf_config *sf_cli_load_config(const char *path, int *rc);
struct sf_config *sf_cli_load_config(const char *path, int *rc)
{
    struct sf_config *cfg = NULL;
    struct sf_buf errs;

    sf_buf_init(&errs, 0);
    sf_err err = sf_config_load(path, &cfg, &errs);
    if (!err && (err = sf_sources_apply(cfg, &errs)) != SF_OK) {
        sf_config_free(cfg);   /* tenants' sources checked by their types */
        cfg = NULL;
    }
    if (err) {
        fprintf(stderr, "%s", errs.data ? errs.data : "");
        if (!errs.len)
            fprintf(stderr, "%s: %s\n", path, sf_strerror(err));
        *rc = err == SF_ERR_NOMEM ? SF_EXIT_FAIL : SF_EXIT_USAGE;
        cfg = NULL;
    }
    sf_buf_free(&errs);
    if (cfg) {
        struct stat sb;
        if (stat(path, &sb) == 0 && (sb.st_mode & 0004))
            sf_warn(NULL, NULL, "%s is readable by every user; it may hold secrets "
                    "(chmod 640)", path);
    }
    return cfg;
}

struct runner {
    struct sf_config *cfg;
    struct sf_pipeline *p;
    pthread_t thread;
    atomic_int finished;
    sf_err result;
};

static void *runner_main(void *arg)
{
    struct runner *r = arg;
    r->result = sf_pipeline_run(r->p);
    atomic_store(&r->finished, 1);
    kill(getpid(), SIGUSR1); /* wake the signal loop */
    return NULL;
}

static void apply_logging(const struct sf_config *cfg)
{
    enum sf_log_level level = SF_LOG_INFO;
    sf_log_level_parse(cfg->log_level, &level);
    sf_log_setup(level, cfg->log_format && strcmp(cfg->log_format, "json") == 0);
}

/* 0, or -1 (logged); *why (may be NULL) gets the pipeline's error. */
static int runner_start(struct runner *r, struct sf_config *cfg, int once, struct sf_metrics *m,
                        sf_err *why)
{
    char errbuf[2048] = "";
    memset(r, 0, sizeof(*r));
    r->cfg = cfg;
    apply_logging(cfg);
    sf_err err = sf_pipeline_new(cfg, once, &r->p, errbuf, sizeof(errbuf));
    if (why)
        *why = err;
    if (err != SF_OK) {
        sf_error(NULL, NULL, "%s", errbuf);
        return -1;
    }
    sf_metrics_attach(m, r->p);
    if (pthread_create(&r->thread, NULL, runner_main, r) != 0) {
        sf_metrics_attach(m, NULL);
        sf_pipeline_free(r->p);
        r->p = NULL; /* the signal loop must not stop a pipeline that is gone */
        return -1;
    }
    return 0;
}

static sf_err runner_stop(struct runner *r, struct sf_metrics *m)
{
    sf_pipeline_stop(r->p);
    pthread_join(r->thread, NULL);
    sf_metrics_attach(m, NULL);
    sf_pipeline_free(r->p);
    r->p = NULL;
    return r->result;
}

/* SIGHUP: a valid new config replaces the running pipeline. */
static void reload(struct runner *r, const char *path, int once, struct sf_metrics *m)
{
    int rc = 0;
    sf_info(NULL, NULL, "SIGHUP: reloading %s", path);
    struct sf_config *cfg = sf_cli_load_config(path, &rc);
    if (!cfg) {
        sf_error(NULL, NULL, "reload: %s is invalid (errors above); keeping the running "
                 "configuration", path);
        return;
    }
    struct sf_config *old = r->cfg;
    runner_stop(r, m);
    if (runner_start(r, cfg, once, m, NULL) == 0) {
        sf_config_free(old);
        sf_info(NULL, NULL, "reload: running with the new configuration");
        return;
    }
    sf_error(NULL, NULL, "reload: the new configuration cannot start; back to the old one");
    sf_config_free(cfg);
    if (runner_start(r, old, once, m, NULL) != 0)
        sf_error(NULL, NULL, "reload: the old configuration cannot start either");
}

static int signal_loop(struct runner *r, const char *path, int once, struct sf_metrics *m,
                       const sigset_t *set)
{
    for (;;) {
        if (!r->p)
            return SF_EXIT_FAIL;
        if (atomic_load(&r->finished))
            break;
        struct timespec ts = { 1, 0 };
        int sig = sigtimedwait(set, NULL, &ts);
        if (sig == SIGHUP) {
            reload(r, path, once, m);
        } else if (sig == SIGINT || sig == SIGTERM) {
            sf_info(NULL, NULL, "%s: stopping (draining outputs, committing cursors)",
                    sig == SIGINT ? "SIGINT" : "SIGTERM");
            break;
        }
    }
    sf_err err = runner_stop(r, m);
    return err ? SF_EXIT_FAIL : SF_EXIT_OK;
}

int sf_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "once", no_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *path = NULL;
    int once = 0, opt, rc = SF_EXIT_OK;
    char errbuf[512];

    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:oh", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': path = optarg; break;
        case 'o': once = 1; break;
        case 'h': fputs(run_usage, stdout); return SF_EXIT_OK;
        default: fputs(run_usage, stderr); return SF_EXIT_USAGE;
        }
    }
    if (!path || optind < argc) {
        fputs(run_usage, stderr);
        return SF_EXIT_USAGE;
    }
    struct sf_config *cfg = sf_cli_load_config(path, &rc);
    if (!cfg)
        return rc;
    if (once && cfg->cluster.enabled) {
        fprintf(stderr, "siemfwd: run --once is not available in cluster mode (%s has a "
                "cluster: section): this instance's tenants change with every rebalance, so "
                "a pass over them has no clear end; run without --once\n", path);
        sf_config_free(cfg);
        return SF_EXIT_USAGE;
    }

    /* every thread inherits the mask; only the main thread takes signals */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sf_metrics *m = NULL;
    if (cfg->metrics_listen &&
        sf_metrics_start(cfg->metrics_listen, &m, errbuf, sizeof(errbuf)) != SF_OK) {
        fprintf(stderr, "siemfwd: %s\n", errbuf);
        sf_config_free(cfg);
        return SF_EXIT_USAGE;
    }
    struct runner r;
    sf_err why = SF_OK;
    if (runner_start(&r, cfg, once, m, &why) != 0) {
        sf_metrics_stop(m);
        sf_config_free(cfg);
        /* cluster: brokers unreachable is a failure to run, not a usage error */
        return why == SF_ERR_NETWORK ? SF_EXIT_FAIL : SF_EXIT_USAGE;
    }
    rc = signal_loop(&r, path, once, m, &set);
    sf_metrics_stop(m);
    sf_config_free(r.cfg);
    return rc;
}
