/* cmd_state.c - `siemfwd state -c FILE`: per tenant and output, the cursor,
 * its lag, delivered/quarantined counts and the last error. Read-only. */
#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include "sf_cli.h"
#include "sf_config.h"
#include "sf_outrun.h"
#include "sf_redact.h"
#include "sf_state.h"

struct sf_config *sf_cli_load_config(const char *path, int *rc);

static void fmt_time(int64_t ms, char *buf, size_t n)
{
    if (ms <= 0) {
        snprintf(buf, n, "-");
        return;
    }
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_row(void *opaque, const char *tenant, const char *output,
                      const struct sf_cursor *c)
{
    char wm[32], ok[32], lag[32], error[sizeof(c->last_error)];
    fmt_time(c->watermark_ms, wm, sizeof(wm));
    fmt_time(c->last_success_ms, ok, sizeof(ok));
    if (c->watermark_ms > 0)
        snprintf(lag, sizeof(lag), "%llds", (long long)(sf_now_ms() - c->watermark_ms) / 1000);
    else
        snprintf(lag, sizeof(lag), "-");
    /* rows stored before the redactor existed may still quote a secret */
    sf_redact_copy(error, sizeof(error), c->last_error);
    printf("%-20s %-14s %-21s %8s %-21s %10llu %6llu  %s\n", tenant, output, wm, lag, ok,
           (unsigned long long)c->delivered, (unsigned long long)c->quarantined, error);
    (*(int *)opaque)++;
}

int sf_cmd_state(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *path = NULL;
    int opt, rc = SF_EXIT_OK, rows = 0;
    char errbuf[512];

    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (opt == 'c') {
            path = optarg;
        } else {
            fputs("usage: siemfwd state -c FILE\n", opt == 'h' ? stdout : stderr);
            return opt == 'h' ? SF_EXIT_OK : SF_EXIT_USAGE;
        }
    }
    if (!path) {
        fputs("usage: siemfwd state -c FILE\n", stderr);
        return SF_EXIT_USAGE;
    }
    struct sf_config *cfg = sf_cli_load_config(path, &rc);
    if (!cfg)
        return rc;
    struct sf_state *st = NULL;
    /* Read-only: looking must not create state_dir or a database. */
    if (sf_state_open_readonly(cfg->state_dir, &st, errbuf, sizeof(errbuf)) != SF_OK) {
        fprintf(stderr, "siemfwd state: %s\n", errbuf);
        sf_config_free(cfg);
        return SF_EXIT_FAIL;
    }
    printf("%-20s %-14s %-21s %8s %-21s %10s %6s  %s\n", "TENANT", "OUTPUT", "CURSOR",
           "LAG", "LAST SUCCESS", "DELIVERED", "QUAR", "LAST ERROR");
    sf_state_each(st, print_row, &rows);
    if (!rows)
        printf("(no cursors yet: siemfwd has not delivered anything from %s)\n",
               cfg->state_dir);
    sf_state_close(st);
    sf_config_free(cfg);
    return SF_EXIT_OK;
}
