/* cmd_tenant.c - `siemfwd tenant add NAME TENANT_ID [--source S] [--api-base URL]
 * [-c FILE]`:
 * onboards a customer in one command. Writes tenants_dir/NAME.yaml (never
 * over an existing file, mode 0640, group of the directory), proves the
 * config still loads with it (else removes it again) and prints the
 * admin-consent link. Owns nothing past its return. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sf_cli.h"
#include "sf_config.h"
#include "sf_fetch.h"
#include "sf_sources.h"

#define SF_DEFAULT_CONFIG "/etc/siemfwd/siemfwd.yaml"

static const char tenant_usage[] =
    "usage: siemfwd tenant add NAME TENANT_ID [--source graph|mde|siem]\n"
    "                          [--api-base URL] [-c FILE]\n"
    "Onboards a customer: writes tenants_dir/NAME.yaml (never over an existing\n"
    "file; mode 0640) and prints the admin-consent link for the customer's\n"
    "administrator. NAME: letters, digits, '.', '_', '-' (1-64, not starting\n"
    "with '.'); TENANT_ID: the customer's Entra tenant id (a GUID). --source:\n"
    "the alert API (default: tenant_defaults' source, else graph). --api-base:\n"
    "the API host (https://; required for siem, whose exporter is regional:\n"
    "https://wdatp-alertexporter-eu.windows.com, -us, -uk). -c: the\n"
    "config (default " SF_DEFAULT_CONFIG "), which must set tenants_dir and\n"
    "load (run it with the service's environment, so ${ENV} and file: secrets\n"
    "resolve).\n"
    "Afterwards: siemfwd check -c FILE --online --tenant NAME, then reload the\n"
    "service (systemctl reload siemfwd).\n";

struct sf_config *sf_cli_load_config(const char *path, int *rc);

/* The config loader's rule for names (config_tenants.c), minus a leading
 * '.': tenants_dir skips dot files. */
static int name_ok(const char *name)
{
    size_t ok = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                             "0123456789._-");
    return *name && *name != '.' && name[ok] == '\0' && ok <= SF_CONFIG_NAME_MAX;
}

static int guid_ok(const char *s)
{
    static const size_t groups[] = { 8, 4, 4, 4, 12 };

    for (size_t g = 0; g < 5; g++) {
        for (size_t i = 0; i < groups[g]; i++, s++)
            if (!*s || !strchr("0123456789abcdefABCDEF", *s))
                return 0;
        if (*s++ != (g < 4 ? '-' : '\0'))
            return 0;
    }
    return 1;
}

/* Writes text to path without ever replacing a file: a dot file first
 * (tenants_dir skips those, so a SIGHUP meanwhile never sees half a
 * tenant), then link(2), which fails if path exists. 0 ok, else errno. */
static int write_new(const char *dir, const char *path, const char *text)
{
    char tmp[4096];
    struct stat dsb;
    int fd, err = 0;
    size_t len = strlen(text);

    if (stat(dir, &dsb) != 0)
        return errno;
    snprintf(tmp, sizeof(tmp), "%s/.siemfwd-tenant-add.%ld.tmp", dir, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0)
        return errno;
    /* the daemon reads it as its group (root:siemfwd 0640 in the package) */
    if (fchown(fd, (uid_t)-1, dsb.st_gid) != 0 && errno != EPERM)
        err = errno;
    if (!err && fchmod(fd, 0640) != 0)
        err = errno;
    if (!err && write(fd, text, len) != (ssize_t)len)
        err = errno ? errno : EIO;
    if (!err && fsync(fd) != 0)
        err = errno;
    if (close(fd) != 0 && !err)
        err = errno;
    if (!err && link(tmp, path) != 0)
        err = errno;
    unlink(tmp);
    return err;
}

/* A registered source name, exactly as the config will take it. */
static int known_source(const char *name)
{
    for (const char *const *n = sf_source_names(); *n; n++)
        if (strcmp(*n, name) == 0)
            return 1;
    return 0;
}

static const char *permission_of(const char *source)
{
    const char *p = sf_source_permission(source);

    return p ? p : "?";
}

/* Loads the config with the new file in place; on failure removes it. */
static int verify(const char *cfgpath, const char *file, const char *name)
{
    int rc = SF_EXIT_OK;
    struct sf_config *cfg = sf_cli_load_config(cfgpath, &rc);
    const struct sf_tenant_conf *t = cfg ? sf_config_tenant(cfg, name) : NULL;
    char url[4096];

    if (!t) {
        fprintf(stderr, "siemfwd tenant add: %s makes the configuration invalid (above); "
                "removed it\n", file);
        unlink(file);
        sf_config_free(cfg);
        return rc ? rc : SF_EXIT_USAGE;
    }
    printf("wrote %s\n", file);
    if (sf_consent_url(t->authority, t->client_id, t->tenant_id, NULL, url, sizeof(url)) == 0)
        printf("\nAn administrator of tenant %s grants the app access once, here:\n  %s\n",
               t->tenant_id, url);
    printf("The app needs: %s.\n", permission_of(t->source_name));
    printf("\nThen check it:   siemfwd check -c %s --online --tenant %s\n"
           "and reload:      systemctl reload siemfwd\n", cfgpath, name);
    sf_config_free(cfg);
    return SF_EXIT_OK;
}

/* An https:// URL made of characters that are safe as a plain YAML scalar,
 * short enough for the file's text. */
static int api_base_ok(const char *url)
{
    if (strncmp(url, "https://", 8) != 0 || !url[8] || strlen(url) > 512)
        return 0;
    for (const char *p = url; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                    ":/._-[]%", *p))
            return 0;
    return 1;
}

static int tenant_add(const char *cfgpath, const char *name, const char *tid,
                      const char *source, const char *api_base)
{
    int rc = SF_EXIT_OK, err;
    struct sf_config *cfg = sf_cli_load_config(cfgpath, &rc);
    const struct sf_tenant_conf *old;
    char file[4096], text[1024], when[32];
    time_t now = time(NULL);
    struct tm tm;

    if (!cfg)
        return rc;
    if (!cfg->tenants_dir) {
        fprintf(stderr, "siemfwd tenant add: %s sets no tenants_dir (add e.g. "
                "`tenants_dir: /etc/siemfwd/tenants.d`)\n", cfgpath);
        rc = SF_EXIT_USAGE;
        goto out;
    }
    if ((old = sf_config_tenant(cfg, name)) != NULL) {
        fprintf(stderr, "siemfwd tenant add: tenant '%s' already exists (tenant_id %s); "
                "not changed\n", name, old->tenant_id);
        rc = SF_EXIT_USAGE;
        goto out;
    }
    for (size_t i = 0; i < cfg->n_tenants; i++)
        if (cfg->tenants[i].tenant_id && strcasecmp(cfg->tenants[i].tenant_id, tid) == 0)
            fprintf(stderr, "siemfwd tenant add: warning: tenant '%s' already has tenant_id "
                    "%s\n", cfg->tenants[i].name, tid);
    if ((size_t)snprintf(file, sizeof(file), "%s/%s.yaml", cfg->tenants_dir, name) >=
        sizeof(file)) {
        fprintf(stderr, "siemfwd tenant add: tenants_dir path too long\n");
        rc = SF_EXIT_USAGE;
        goto out;
    }
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(text, sizeof(text), "# written by `siemfwd tenant add` at %s\n"
             "name: %s\ntenant_id: %s\n%s%s%s%s%s%s", when, name, tid,
             source ? "source: " : "", source ? source : "", source ? "\n" : "",
             api_base ? "api_base: " : "", api_base ? api_base : "", api_base ? "\n" : "");
    err = write_new(cfg->tenants_dir, file, text);
    if (err) {
        fprintf(stderr, "siemfwd tenant add: %s: %s%s\n", file, strerror(err),
                err == EEXIST ? " (not overwritten; remove it first to replace it)" : "");
        rc = err == EEXIST ? SF_EXIT_USAGE : SF_EXIT_FAIL;
        goto out;
    }
    rc = verify(cfgpath, file, name);
out:
    sf_config_free(cfg);
    return rc;
}

int sf_cmd_tenant(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "source", required_argument, NULL, 's' },
        { "api-base", required_argument, NULL, 'a' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *path = SF_DEFAULT_CONFIG, *source = NULL, *api_base = NULL;
    int opt;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(tenant_usage, stdout);
        return SF_EXIT_OK;
    }
    if (argc < 2 || strcmp(argv[1], "add") != 0) {
        fputs(tenant_usage, stderr);
        return SF_EXIT_USAGE;
    }
    optind = 1;
    while ((opt = getopt_long(argc - 1, argv + 1, "c:s:a:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': path = optarg; break;
        case 's': source = optarg; break;
        case 'a': api_base = optarg; break;
        case 'h': fputs(tenant_usage, stdout); return SF_EXIT_OK;
        default: fputs(tenant_usage, stderr); return SF_EXIT_USAGE;
        }
    }
    if (optind + 2 != argc - 1) {
        fputs(tenant_usage, stderr);
        return SF_EXIT_USAGE;
    }
    const char *name = argv[1 + optind], *tid = argv[2 + optind];
    if (!name_ok(name)) {
        fprintf(stderr, "siemfwd tenant add: NAME '%s' may only use letters, digits, '.', "
                "'_' and '-' (1-%d, not starting with '.')\n", name, SF_CONFIG_NAME_MAX);
        return SF_EXIT_USAGE;
    }
    if (!guid_ok(tid)) {
        fprintf(stderr, "siemfwd tenant add: TENANT_ID '%s' is not a GUID (like "
                "00000000-0000-0000-0000-000000000000)\n", tid);
        return SF_EXIT_USAGE;
    }
    if (source && !known_source(source)) {
        fprintf(stderr, "siemfwd tenant add: --source '%s' is not graph, mde or siem\n",
                source);
        return SF_EXIT_USAGE;
    }
    if (api_base && !api_base_ok(api_base)) {
        fprintf(stderr, "siemfwd tenant add: --api-base '%s' is not an https:// URL (letters, "
                "digits and :/._-[]%% only)\n", api_base);
        return SF_EXIT_USAGE;
    }
    return tenant_add(path, name, tid, source, api_base);
}
