/* cmd_state.c - `siemfwd state -c FILE [--json] [--tenant NAME]`: per
 * tenant and output, the cursor, its lag, delivered/quarantined counts and
 * the last error, as a table or as the status page's JSON (sf_status.h).
 * Read-only: never creates state_dir or the database. In cluster mode the
 * cursors come from the cursors topic and the table names each one's owner
 * (the instance that wrote it last, and whether it released it). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sf_cli.h"
#include "sf_config.h"
#include "sf_outrun.h"
#include "sf_redact.h"
#include "sf_state.h"
#include "sf_state_kafka.h"
#include "sf_status.h"

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

struct table_ctx {
    const char *only;       /* --tenant, or NULL */
    int rows;
    struct sf_state *kst;   /* cluster mode: the cursors topic, for owners */
};

static void print_row(void *opaque, const char *tenant, const char *output,
                      const struct sf_cursor *c)
{
    struct table_ctx *tc = opaque;
    if (tc->only && strcmp(tc->only, tenant) != 0)
        return;
    char wm[32], ok[32], lag[32], error[sizeof(c->last_error)];
    fmt_time(c->watermark_ms, wm, sizeof(wm));
    fmt_time(c->last_success_ms, ok, sizeof(ok));
    if (c->watermark_ms > 0)
        snprintf(lag, sizeof(lag), "%llds", (long long)(sf_now_ms() - c->watermark_ms) / 1000);
    else
        snprintf(lag, sizeof(lag), "-");
    /* rows stored before the redactor existed may still quote a secret */
    sf_redact_copy(error, sizeof(error), c->last_error);
    printf("%-20s %-14s %-21s %8s %-21s %10llu %6llu  ", tenant, output, wm, lag, ok,
           (unsigned long long)c->delivered, (unsigned long long)c->quarantined);
    if (tc->kst) {
        char owner[128] = "", who[160];
        int released = 0;
        int64_t epoch = 0;
        if (sf_state_kafka_owner(tc->kst, tenant, output, owner, sizeof(owner), &released,
                                 &epoch) != 0 || !owner[0])
            snprintf(owner, sizeof(owner), "-");
        snprintf(who, sizeof(who), "%s%s", owner, released ? " (released)" : "");
        printf("%-28s  ", who);
    }
    printf("%s\n", error);
    tc->rows++;
}

static const char usage[] = "usage: siemfwd state -c FILE [--json] [--tenant NAME]\n";

static int print_json(const struct sf_config *cfg, struct sf_state *st, const char *tenant)
{
    struct sf_buf b;
    size_t rows = 0;
    sf_buf_init(&b, 0);
    sf_err err = sf_status_store_json(cfg, st, tenant, sf_now_ms(), &b, &rows);
    if (err) {
        fprintf(stderr, "siemfwd state: %s\n", sf_strerror(err));
    } else if (tenant && !rows) {
        fprintf(stderr, "siemfwd state: no tenant '%s' in %s or in %s\n", tenant, cfg->file,
                cfg->state_dir);
        err = SF_ERR_NOTFOUND;
    } else {
        fwrite(b.data, 1, b.len, stdout);
    }
    sf_buf_free(&b);
    return err == SF_ERR_NOTFOUND ? SF_EXIT_USAGE : err ? SF_EXIT_FAIL : SF_EXIT_OK;
}

int sf_cmd_state(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "json", no_argument, NULL, 'j' },
        { "tenant", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *path = NULL, *tenant = NULL;
    int opt, rc = SF_EXIT_OK, json = 0;
    struct table_ctx tctx = { NULL, 0, NULL };
    char errbuf[512];

    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (opt == 'c') {
            path = optarg;
        } else if (opt == 'j') {
            json = 1;
        } else if (opt == 't') {
            tenant = optarg;
        } else {
            fputs(usage, opt == 'h' ? stdout : stderr);
            if (opt == 'h')
                fputs("\n  -c, --config FILE  the configuration (state_dir, tenants, outputs)\n"
                      "  --json             the status page's JSON (/status.json) from the state\n"
                      "                     store: state, lag, last success, last error per\n"
                      "                     tenant and output, worst first\n"
                      "  --tenant NAME      only this tenant\n", stdout);
            return opt == 'h' ? SF_EXIT_OK : SF_EXIT_USAGE;
        }
    }
    if (!path || optind < argc) {
        fputs(usage, stderr);
        return SF_EXIT_USAGE;
    }
    struct sf_config *cfg = sf_cli_load_config(path, &rc);
    if (!cfg)
        return rc;
    struct sf_state *st = NULL;
    /* Read-only: looking must not create state_dir or a database. In a
     * cluster the cursors are the cursors topic's, read to its end. */
    sf_err oerr = cfg->cluster.enabled
                      ? sf_state_open_kafka_readonly(cfg, &st, errbuf, sizeof(errbuf))
                      : sf_state_open_readonly(cfg->state_dir, &st, errbuf, sizeof(errbuf));
    if (oerr != SF_OK) {
        fprintf(stderr, "siemfwd state: %s\n", errbuf);
        sf_config_free(cfg);
        return SF_EXIT_FAIL;
    }
    if (json) {
        rc = print_json(cfg, st, tenant);
        goto out;
    }
    printf("%-20s %-14s %-21s %8s %-21s %10s %6s  ", "TENANT", "OUTPUT", "CURSOR",
           "LAG", "LAST SUCCESS", "DELIVERED", "QUAR");
    if (cfg->cluster.enabled)
        printf("%-28s  ", "OWNER");
    printf("LAST ERROR\n");
    tctx.only = tenant;
    tctx.kst = cfg->cluster.enabled ? st : NULL;
    sf_state_each(st, print_row, &tctx);
    if (!tctx.rows && tenant && !sf_config_tenant(cfg, tenant)) {
        fprintf(stderr, "siemfwd state: no tenant '%s' in %s or in %s\n", tenant, cfg->file,
                cfg->state_dir);
        rc = SF_EXIT_USAGE;
    } else if (!tctx.rows && tenant) {
        printf("(no cursors of tenant %s in %s yet)\n", tenant, cfg->state_dir);
    } else if (!tctx.rows) {
        printf("(no cursors yet: siemfwd has not delivered anything from %s)\n",
               cfg->state_dir);
    }
out:
    sf_state_close(st);
    sf_config_free(cfg);
    return rc;
}
