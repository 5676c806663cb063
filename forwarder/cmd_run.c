/* cmd_run.c - `siemfwd run -c FILE [--once]`: load the config, build the
 * pipeline, run until SIGINT/SIGTERM (or one cycle with --once). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "sf_cli.h"
#include "sf_config.h"
#include "sf_log.h"
#include "sf_pipeline.h"

static struct sf_pipeline *volatile running;

static void on_signal(int sig)
{
    if (running)
        sf_pipeline_stop(running);
}

static const char run_usage[] =
    "usage: siemfwd run -c FILE [--once]\n"
    "Runs the pipeline in the foreground (systemd-friendly; logs on stderr).\n"
    "--once: one poll cycle for every tenant, drain the outputs, exit\n"
    "        (exit 1 if a tenant had no successful cycle).\n"
    "SIGINT/SIGTERM stop fetching, drain and flush the outputs, commit cursors.\n";

/* Load and check the config; logs errors. NULL on failure. */
struct sf_config *sf_cli_load_config(const char *path, int *rc);
struct sf_config *sf_cli_load_config(const char *path, int *rc)
{
    struct sf_config *cfg = NULL;
    struct sf_buf errs;

    sf_buf_init(&errs, 0);
    sf_err err = sf_config_load(path, &cfg, &errs);
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
    char errbuf[2048] = "";

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
    enum sf_log_level level = SF_LOG_INFO;
    sf_log_level_parse(cfg->log_level, &level);
    sf_log_setup(level, cfg->log_format && strcmp(cfg->log_format, "json") == 0);

    struct sf_pipeline *p = NULL;
    if (sf_pipeline_new(cfg, once, &p, errbuf, sizeof(errbuf)) != SF_OK) {
        fprintf(stderr, "siemfwd: %s\n", errbuf);
        sf_config_free(cfg);
        return SF_EXIT_USAGE;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    running = p;
    sf_err err = sf_pipeline_run(p);
    running = NULL;
    sf_pipeline_free(p);
    sf_config_free(cfg);
    return err ? SF_EXIT_FAIL : SF_EXIT_OK;
}
