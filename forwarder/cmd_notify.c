/* cmd_notify.c - `siemfwd notify-test -c FILE --output NAME [--tenant NAME]
 * [--alert FILE]`: sends one message through an email or webhook output
 * (Defender's "Send test email") and prints the server's answer. Bypasses
 * rules, the sent-once memory and flood control; touches no state. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sf_cli.h"
#include "sf_config.h"
#include "sf_log.h"
#include "sf_notify_policy.h"
#include "sf_redact.h"
#include "sf_sources.h"

#define ALERT_MAX ((size_t)16 * 1024 * 1024)

struct sf_config *sf_cli_load_config(const char *path, int *rc);

static const char usage[] =
    "usage: siemfwd notify-test -c FILE --output NAME [--tenant NAME] [--alert FILE]\n"
    "  sends one test message through an email or webhook output and prints the\n"
    "  server's answer; --alert sends that alert (a JSON object, or the first of\n"
    "  an API page, as --tenant's source writes it) instead of the built-in test\n"
    "  alert, as if from --tenant\n";

/* The tenant shown in the message: --tenant, else the first that feeds
 * output, else the first configured. */
static const struct sf_tenant_conf *pick_tenant(const struct sf_config *cfg, const char *name,
                                                const char *output)
{
    if (name)
        return sf_config_tenant(cfg, name);
    for (size_t i = 0; i < cfg->n_tenants; i++) {
        const struct sf_tenant_conf *t = &cfg->tenants[i];
        if (!t->outputs.n)
            return t;
        for (size_t k = 0; k < t->outputs.n; k++)
            if (strcmp(t->outputs.v[k], output) == 0)
                return t;
    }
    return cfg->n_tenants ? &cfg->tenants[0] : NULL;
}

static json_object *load_alert(const char *path)
{
    char errbuf[512];
    size_t len = 0;
    char *data = sf_read_input(path, ALERT_MAX, &len, errbuf, sizeof(errbuf));
    json_object *obj, *page, *first = NULL;

    if (!data) {
        fprintf(stderr, "siemfwd notify-test: %s\n", errbuf);
        return NULL;
    }
    obj = json_tokener_parse(data);
    free(data);
    if (json_object_object_get_ex(obj, "value", &page))   /* an API response page */
        first = json_object_array_get_idx(page, 0);
    else if (json_object_is_type(obj, json_type_array))
        first = json_object_array_get_idx(obj, 0);
    if (first) {
        json_object_get(first);
        json_object_put(obj);
        obj = first;
    }
    if (!json_object_is_type(obj, json_type_object)) {
        fprintf(stderr, "siemfwd notify-test: %s: not a JSON alert object\n", path);
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

/* The built-in test alert, shaped like a Graph alert. */
static json_object *test_alert(const char *tenant_id)
{
    char id[64], link[256];
    json_object *a = json_object_new_object();

    snprintf(id, sizeof(id), "siemfwd-test-%lld", (long long)time(NULL));
    snprintf(link, sizeof(link), "https://security.microsoft.com/alerts?tid=%s",
             tenant_id ? tenant_id : "");
    if (!a)
        return NULL;
    json_object_object_add(a, "id", json_object_new_string(id));
    json_object_object_add(a, "title", json_object_new_string("siemfwd test notification"));
    json_object_object_add(a, "severity", json_object_new_string("informational"));
    json_object_object_add(a, "status", json_object_new_string("new"));
    json_object_object_add(a, "description", json_object_new_string(
        "A test message sent by `siemfwd notify-test`. No alert was raised."));
    if (tenant_id)
        json_object_object_add(a, "alertWebUrl", json_object_new_string(link));
    return a;
}

static int run_test(const struct sf_config *cfg, const struct sf_output_conf *oc,
                    const struct sf_tenant_conf *t, json_object *alert)
{
    struct sf_output o = { 0 };
    struct sf_buf errs;
    enum sf_verdict v = SF_V_FATAL;
    char answer[1024];
    int rc = SF_EXIT_USAGE;

    o.type = sf_output_type_find(oc->type);
    o.name = oc->name;
    o.state_dir = cfg->state_dir;
    sf_buf_init(&errs, 0);
    if (!o.type || !o.type->notify) {
        fprintf(stderr, "siemfwd notify-test: output %s is of type %s; notify-test sends "
                "through email and webhook outputs\n", oc->name, oc->type);
        goto out;
    }
    /* no rules: notify-test bypasses them (and memory and flood control) */
    if (sf_notify_output_init(&o, oc->node, oc->path, NULL, NULL, &errs) != SF_OK) {
        fprintf(stderr, "%s", errs.data ? errs.data : "siemfwd notify-test: invalid output\n");
        goto out;
    }
    /* the alert as its source writes it: the built-in one is Graph-shaped */
    struct sf_fetch_tenant ft = { .name = t ? t->name : "test", .tenant_id = t ? t->tenant_id
                                                                             : NULL };
    const char *source = alert && t && t->source_name ? t->source_name : "graph";
    struct sf_alert_view view;
    json_object *own = NULL;
    if (!alert && !(alert = own = test_alert(ft.tenant_id))) {
        fprintf(stderr, "siemfwd notify-test: out of memory\n");
        goto out;
    }
    sf_source_view(source, alert, &ft, &view);
    if (!view.id)
        view.id = "siemfwd-test";
    sf_err err = sf_notify_test(&o, alert, &view, &v, answer, sizeof(answer));
    json_object_put(own);
    /* the answer quotes the server, which may echo the URL or a password */
    sf_redact(answer, sizeof(answer));
    if (err != SF_OK) {
        fprintf(stderr, "siemfwd notify-test: %s\n", answer);
        goto out;
    }
    printf("%s (%s): %s: %s\n", oc->name, oc->type, sf_verdict_name(v), answer);
    rc = v == SF_V_DELIVERED ? SF_EXIT_OK : SF_EXIT_FAIL;
out:
    if (o.ctx)
        o.type->destroy(&o);
    sf_buf_free(&errs);
    return rc;
}

int sf_cmd_notify_test(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "output", required_argument, NULL, 'o' },
        { "tenant", required_argument, NULL, 't' },
        { "alert", required_argument, NULL, 'a' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *path = NULL, *output = NULL, *tenant = NULL, *alert_file = NULL;
    int opt, rc = SF_EXIT_OK;
    json_object *alert = NULL;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:o:t:a:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': path = optarg; break;
        case 'o': output = optarg; break;
        case 't': tenant = optarg; break;
        case 'a': alert_file = optarg; break;
        case 'h': fputs(usage, stdout); return SF_EXIT_OK;
        default: fputs(usage, stderr); return SF_EXIT_USAGE;
        }
    }
    if (!path || !output || optind < argc) {
        fputs(usage, stderr);
        return SF_EXIT_USAGE;
    }
    struct sf_config *cfg = sf_cli_load_config(path, &rc);
    if (!cfg)
        return rc;
    enum sf_log_level level = SF_LOG_INFO;
    sf_log_level_parse(cfg->log_level, &level);
    sf_log_setup(level, cfg->log_format && strcmp(cfg->log_format, "json") == 0);
    const struct sf_output_conf *oc = sf_config_output(cfg, output);
    const struct sf_tenant_conf *t = pick_tenant(cfg, tenant, output);
    if (!oc || (tenant && !t)) {
        fprintf(stderr, "siemfwd notify-test: %s: no %s named '%s'\n", path,
                oc ? "tenant" : "output", oc ? tenant : output);
        rc = SF_EXIT_USAGE;
    } else if (alert_file && !(alert = load_alert(alert_file))) {
        rc = SF_EXIT_USAGE;
    } else {
        rc = run_test(cfg, oc, t, alert);
    }
    json_object_put(alert);
    sf_config_free(cfg);
    return rc;
}
