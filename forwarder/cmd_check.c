/* cmd_check.c - `siemfwd check -c FILE [--online [--tenant NAME]]`: validates
 * the config (tenants_dir files included), compiles every map it names and
 * lets every output type check its own keys; prints every problem as
 * FILE:LINE: key.path: message (exit 2). --online also gets a token and makes
 * one API call per tenant (or NAME only), saying in words what an Entra
 * error code or a refused API call means (exit 1 on failures). --dump
 * prints the effective configuration, secrets masked. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_cli.h"
#include "sf_cluster.h"
#include "sf_config.h"
#include "sf_fetch.h"
#include "sf_format.h"
#include "sf_output.h"
#include "sf_redact.h"
#include "sf_notify_policy.h"
#include "sf_rules.h"
#include "sf_sources.h"

struct sf_config *sf_cli_load_config(const char *path, int *rc);

static int check_formats(const struct sf_config *cfg)
{
    int bad = 0;
    for (size_t i = 0; i < cfg->n_formats; i++) {
        const struct sf_format_conf *fc = &cfg->formats[i];
        const struct sf_format_type *type = sf_format_type_find(fc->type_name);
        struct sf_format *f = NULL;
        char errbuf[2048];
        if (!type || !type->takes_map)
            continue;
        if (sf_format_new(type, fc->map, &f, errbuf, sizeof(errbuf)) != SF_OK) {
            fprintf(stderr, "%s\n", errbuf);
            bad++;
        }
        sf_format_free(f);
    }
    return bad;
}

static int check_outputs(const struct sf_config *cfg)
{
    int bad = 0;
    for (size_t i = 0; i < cfg->n_outputs; i++) {
        const struct sf_output_conf *oc = &cfg->outputs[i];
        struct sf_output o = { 0 };
        struct sf_buf errs;
        o.type = sf_output_type_find(oc->type);
        if (!o.type) {
            fprintf(stderr, "%s:%d: %s.type: output type '%s' is not built in\n", cfg->file,
                    oc->line, oc->path, oc->type);
            bad++;
            continue;
        }
        o.name = oc->name;
        o.state_dir = cfg->state_dir;
        sf_buf_init(&errs, 0);
        struct sf_rules *rules = NULL;
        sf_err rerr = sf_rules_compile(oc->rules, oc->path, &rules, &errs);
        if (sf_notify_output_init(&o, oc->node, oc->path, rules, NULL, &errs) != SF_OK || rerr) {
            fprintf(stderr, "%s", errs.data ? errs.data : "");
            if (!errs.len)
                fprintf(stderr, "%s:%d: %s: invalid\n", cfg->file, oc->line, oc->path);
            bad++;
        }
        if (o.ctx)
            o.type->destroy(&o);
        sf_rules_free(rules);
        sf_buf_free(&errs);
    }
    return bad;
}

/* What an operator must do about a failed probe, from the Entra AADSTS code
 * in the token endpoint's answer or the API's HTTP status (reference
 * defender-api.md 1.4, 1.6, 2.2-2.3; Entra's AADSTS error code list). */
static const struct {
    long code;
    const char *words;
} entra_codes[] = {
    { 700016, "app not found in the tenant: the customer's administrator has not "
              "consented it, or removed it (consent revoked)" },
    { 65001, "consent missing: the app's permissions are not consented in the tenant" },
    { 7000215, "invalid client secret: client_secret is not a current secret of the app" },
    { 7000222, "the client secret has expired: create a new one for the app" },
    { 7000218, "no client secret or certificate was sent" },
    { 700027, "certificate not registered on the app, or the signature does not verify" },
    { 700024, "the client assertion is expired or not yet valid (check the clock)" },
    { 90002, "tenant not found: tenant_id names no Entra tenant" },
    { 500011, "the API is not present in the tenant (no Defender service principal: "
              "not licensed or not provisioned), or the app is not consented" },
    { 50059, "no tenant in the request: tenant_id is missing" },
};

static const char *permission_of(const char *source)
{
    const char *p = sf_source_permission(source);

    return p ? p : "?";
}

/* One line of advice for a failed probe of t (msg is already redacted). */
static void explain(const struct sf_tenant_conf *t, const struct sf_fetch_status *st)
{
    const char *aad = strstr(st->msg, "AADSTS");
    long code = aad ? strtol(aad + 6, NULL, 10) : 0;
    char url[4096] = "";
    const char *words = NULL;

    sf_consent_url(t->authority, t->client_id, t->tenant_id, NULL, url, sizeof(url));
    for (size_t i = 0; code && i < sizeof(entra_codes) / sizeof(entra_codes[0]); i++)
        if (entra_codes[i].code == code)
            words = entra_codes[i].words;
    if (words) {
        printf("       AADSTS%ld: %s\n", code, words);
        if (code == 700016 || code == 65001 || code == 500011)
            printf("       consent link for the customer's administrator: %s\n", url);
    } else if (code) {
        printf("       AADSTS%ld: see the error text above\n", code);
    } else if (st->auth_failed && !strstr(st->msg, "token request") &&
               (st->http_status == 401 || st->http_status == 403)) {
        printf("       permission missing: a token was issued but the API refused it (HTTP "
               "%ld); the app needs %s, granted and consented in this tenant (consent "
               "again after adding a permission: %s)\n", st->http_status,
               permission_of(t->source_name), url);
    }
}

static int check_online(const struct sf_config *cfg, const char *only)
{
    struct sf_token_cache *tc = NULL;
    struct sf_api_client *c = NULL;
    struct sf_fetch_opts fo = { .organization = cfg->organization,
                                .tls = &cfg->http_tls,
                                .timeout_ms = (long)cfg->http_timeout_ms,
                                .max_response = (size_t)cfg->http_max_response,
                                .max_retry_after_ms = cfg->http_max_retry_after_ms };
    int bad = 0;

    if (sf_token_cache_new(&tc) != SF_OK || sf_api_client_new(&fo, tc, &c) != SF_OK) {
        fprintf(stderr, "siemfwd check: cannot create an HTTP client\n");
        sf_token_cache_free(tc);
        return 1;
    }
    for (size_t i = 0; i < cfg->n_tenants; i++) {
        const struct sf_tenant_conf *t = &cfg->tenants[i];
        if (only && strcmp(t->name, only) != 0)
            continue;
        struct sf_fetch_tenant ft = {
            t->name, t->tenant_id, t->source_name, t->client_id,
            t->client_secret, t->has_cert ? t->cert.cert_file : NULL,
            t->has_cert ? t->cert.key_file : NULL, t->has_cert ? t->cert.key_password : NULL,
            t->authority, t->api_base, t->filter, (int)t->page_size,
        };
        struct sf_fetch_status st;
        memset(&st, 0, sizeof(st));
        sf_err err = sf_fetch_probe(c, &ft, &st);
        if (err) {
            /* the message may quote the token endpoint or the API */
            sf_redact(st.msg, sizeof(st.msg));
            printf("tenant %-20s FAIL %s\n", t->name, st.msg);
            explain(t, &st);
            bad++;
        } else {
            printf("tenant %-20s ok   (%s): consented, token issued, %s in place\n", t->name,
                   t->source_name, permission_of(t->source_name));
        }
    }
    sf_api_client_free(c);
    sf_token_cache_free(tc);
    return bad;
}

int sf_cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "online", no_argument, NULL, 'o' },
        { "tenant", required_argument, NULL, 't' },
        { "dump", no_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *path = NULL, *only = NULL;
    int online = 0, dump = 0, opt, rc = SF_EXIT_OK;
    static const char usage[] =
        "usage: siemfwd check -c FILE [--online [--tenant NAME]] [--dump]\n"
        "--online: per tenant, get a token and make one API call: are consent and\n"
        "          permissions in place (Entra errors explained); --tenant: NAME only\n"
        "--dump:   print the effective configuration (defaults applied, secrets\n"
        "          masked) after the check\n";

    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:ot:dh", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': path = optarg; break;
        case 'd': dump = 1; break;
        case 'o': online = 1; break;
        case 't': only = optarg; break;
        case 'h': fputs(usage, stdout); return SF_EXIT_OK;
        default: fputs(usage, stderr); return SF_EXIT_USAGE;
        }
    }
    if (!path || optind < argc) {
        fputs(usage, stderr);
        return SF_EXIT_USAGE;
    }
    struct sf_config *cfg = sf_cli_load_config(path, &rc);
    if (!cfg)
        return rc;
    int bad = check_formats(cfg) + check_outputs(cfg);
    char errbuf[1024];
    if (cfg->cluster.enabled && sf_cluster_check(cfg, errbuf, sizeof(errbuf)) != SF_OK) {
        fprintf(stderr, "%s\n", errbuf);
        bad++;
    }
    if (bad) {
        sf_config_free(cfg);
        return SF_EXIT_USAGE;
    }
    if (only && !sf_config_tenant(cfg, only)) {
        fprintf(stderr, "siemfwd check: %s has no tenant '%s'\n", path, only);
        sf_config_free(cfg);
        return SF_EXIT_USAGE;
    }
    printf("%s: ok (%zu tenants, %zu formats, %zu outputs)\n", path, cfg->n_tenants,
           cfg->n_formats, cfg->n_outputs);
    if (dump) {
        struct sf_buf out;
        sf_buf_init(&out, 0);
        sf_config_dump(cfg, &out);
        fwrite(out.data ? out.data : "", 1, out.len, stdout);
        sf_buf_free(&out);
    }
    if (online && check_online(cfg, only))
        rc = SF_EXIT_FAIL;
    sf_config_free(cfg);
    return rc;
}
