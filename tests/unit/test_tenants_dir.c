/* test_tenants_dir.c - tenants in their own files (config/tenants_dir.c):
 * every *.yaml of tenants_dir, sorted, merged after `tenants:` with
 * tenant_defaults applied; and each bad input named with its path (and
 * line): a file that is not YAML, a tenant duplicated across files, a
 * missing directory, a file that cannot be read. Files live in a temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "sf_config.h"

static char top[256];   /* the temp dir: main config here, tenants in top/t.d */

#define GUID(n) "00000000-0000-0000-0000-00000000000" #n

static void put(const char *rel, const char *text)
{
    char path[512];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", top, rel);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static const char *at(const char *rel)
{
    static char path[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof(path[k]), "%s/%s", top, rel);
    return path[k];
}

/* The main config: tenant_defaults with the credentials, `tenants_line` as
 * the tenants section (may be empty) and tenants_dir: t.d (relative). */
static void main_config(const char *tenants, const char *dir)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "state_dir: state\n"                              /* 1 */
             "%s%s%s"                                          /* 2: tenants_dir */
             "tenant_defaults:\n"                              /* 3 */
             "  client_id: 11111111-1111-1111-1111-111111111111\n"
             "  client_secret: s3cret-value\n"                 /* 5 */
             "  start_from: 2h\n"                              /* 6 */
             "outputs:\n"                                      /* 7 */
             "  - {name: out, type: stdout, format: json}\n"   /* 8 */
             "%s",                                             /* 9...: tenants */
             dir ? "tenants_dir: " : "", dir ? dir : "", dir ? "\n" : "# no dir\n",
             tenants);
    put("siemfwd.yaml", text);
}

static int setup(void **state)
{
    (void)state;
    snprintf(top, sizeof(top), "%s/sf-tenants-dir-XXXXXX", getenv("TMPDIR") ?
             getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(top));
    assert_int_equal(mkdir(at("t.d"), 0750), 0);
    return 0;
}

static int teardown(void **state)
{
    char cmd[600];
    (void)state;
    chmod(at("t.d/locked.yaml"), 0600);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static struct sf_config *load_ok(void)
{
    struct sf_config *cfg = NULL;
    struct sf_buf errs;

    sf_buf_init(&errs, 0);
    sf_err err = sf_config_load(at("siemfwd.yaml"), &cfg, &errs);
    if (err != SF_OK)
        fail_msg("%s\n%s", sf_strerror(err), errs.data ? errs.data : "");
    assert_null(errs.data);
    sf_buf_free(&errs);
    return cfg;
}

/* Loads expecting SF_ERR_CONFIG (or want_err); every "@" in want stands
 * for the temp dir. */
static void expect_errors(sf_err want_err, const char *want)
{
    struct sf_config *cfg = NULL;
    struct sf_buf errs, exp;

    sf_buf_init(&errs, 0);
    sf_buf_init(&exp, 0);
    for (const char *p = want; *p; p++) {
        if (*p == '@')
            sf_buf_adds(&exp, top);
        else
            sf_buf_addc(&exp, *p);
    }
    assert_int_equal(sf_config_load(at("siemfwd.yaml"), &cfg, &errs), want_err);
    assert_null(cfg);
    assert_string_equal(errs.data ? errs.data : "", exp.data);
    sf_buf_free(&errs);
    sf_buf_free(&exp);
}

static void clear_dir(void)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s/t.d' && mkdir '%s/t.d'", top, top);
    assert_int_equal(system(cmd), 0);
}

/* Main-file tenants first, then the files in name order; tenant_defaults
 * merged under both; other files and dot files ignored. */
static void test_merge_sorted(void **state)
{
    (void)state;
    clear_dir();
    main_config("tenants:\n  - {name: main, tenant_id: " GUID(1) "}\n", "t.d");
    put("t.d/zeta.yaml", "name: zeta\ntenant_id: " GUID(2) "\nsource: mde\n");
    put("t.d/alpha.yaml", "- name: alpha1\n  tenant_id: " GUID(3) "\n"
                          "- name: alpha2\n  tenant_id: " GUID(4) "\n  start_from: 1h\n");
    put("t.d/notes.txt", "not a tenant\n");
    put("t.d/.hidden.yaml", ": not even YAML [\n");
    put("t.d/alpha.yaml.dpkg-old", "name: old\n");
    struct sf_config *cfg = load_ok();
    assert_string_equal(cfg->tenants_dir, at("t.d"));
    assert_int_equal(cfg->n_tenants, 4);
    assert_string_equal(cfg->tenants[0].name, "main");
    assert_string_equal(cfg->tenants[1].name, "alpha1");
    assert_string_equal(cfg->tenants[2].name, "alpha2");
    assert_string_equal(cfg->tenants[3].name, "zeta");
    assert_int_equal(cfg->tenants[3].line, 1);
    assert_string_equal(cfg->tenants[3].source_name, "mde");
    for (size_t i = 0; i < cfg->n_tenants; i++) {
        assert_string_equal(cfg->tenants[i].client_id, "11111111-1111-1111-1111-111111111111");
        assert_string_equal(cfg->tenants[i].client_secret, "s3cret-value");
        assert_int_equal(cfg->tenants[i].outputs.n, 1);
    }
    assert_int_equal(cfg->tenants[1].start_from_ms, 2 * 3600 * 1000LL);
    assert_int_equal(cfg->tenants[2].start_from_ms, 3600 * 1000LL);
    sf_config_free(cfg);
}

/* With tenants_dir, `tenants:` may be left out and the dir may be empty
 * (a fresh install before the first `siemfwd tenant add`). */
static void test_dir_only_and_empty(void **state)
{
    (void)state;
    clear_dir();
    main_config("", "t.d");
    struct sf_config *cfg = load_ok();
    assert_int_equal(cfg->n_tenants, 0);
    sf_config_free(cfg);

    main_config("tenants: []\n", at("t.d")); /* absolute path too */
    put("t.d/one.yaml", "name: one\ntenant_id: " GUID(1) "\n");
    cfg = load_ok();
    assert_int_equal(cfg->n_tenants, 1);
    assert_string_equal(cfg->tenants[0].name, "one");
    sf_config_free(cfg);
}

static void test_no_tenants_no_dir(void **state)
{
    (void)state;
    main_config("", NULL);
    expect_errors(SF_ERR_CONFIG, "@/siemfwd.yaml:1: tenants: required key is missing "
                  "(or set tenants_dir)\n");
}

static void test_missing_dir(void **state)
{
    (void)state;
    main_config("", "no-such.d");
    expect_errors(SF_ERR_CONFIG, "@/siemfwd.yaml:2: tenants_dir: cannot open directory "
                  "'@/no-such.d': No such file or directory\n");
}

static void test_not_yaml(void **state)
{
    (void)state;
    clear_dir();
    main_config("", "t.d");
    put("t.d/good.yaml", "name: good\ntenant_id: " GUID(1) "\n");
    put("t.d/broken.yaml", "name: broken\ntenant_id: [" GUID(2) "\n");
    expect_errors(SF_ERR_CONFIG, "@/t.d/broken.yaml:3: did not find expected ',' or ']' "
                  "while parsing a flow sequence (a tenants file must be YAML)\n");
}

static void test_not_a_tenant(void **state)
{
    (void)state;
    clear_dir();
    main_config("", "t.d");
    put("t.d/scalar.yaml", "just some text\n");
    put("t.d/empty.yaml", "");
    put("t.d/list.yaml", "- [a, b]\n");
    expect_errors(SF_ERR_CONFIG,
                  "@/t.d/empty.yaml: empty; expected a tenant (a mapping) or a list of "
                  "tenants\n"
                  "@/t.d/scalar.yaml:1: expected a tenant (a mapping) or a list of tenants, "
                  "got a scalar\n"
                  "@/t.d/list.yaml:1: tenants[0]: expected a mapping, got a list\n");
}

/* (File-level problems come first, then those of the tenants' keys.) */

/* Errors inside a tenants file name that file and line. */
static void test_error_in_file(void **state)
{
    (void)state;
    clear_dir();
    main_config("", "t.d");
    put("t.d/bad.yaml", "name: bad\n"
                        "tenant_id: contoso.onmicrosoft.com\n"
                        "overlpa: 5m\n");
    expect_errors(SF_ERR_CONFIG,
                  "@/t.d/bad.yaml:3: tenant.overlpa: unknown key (did you mean 'overlap'?)\n"
                  "@/t.d/bad.yaml:2: tenant.tenant_id: 'contoso.onmicrosoft.com' is not a "
                  "GUID (like 00000000-0000-0000-0000-000000000000)\n");
}

static void test_duplicate_across_files(void **state)
{
    (void)state;
    clear_dir();
    main_config("", "t.d");
    put("t.d/a.yaml", "name: contoso\ntenant_id: " GUID(1) "\n");
    put("t.d/b.yaml", "- name: other\n  tenant_id: " GUID(2) "\n"
                      "- name: contoso\n  tenant_id: " GUID(3) "\n");
    expect_errors(SF_ERR_CONFIG, "@/t.d/b.yaml:3: tenants[1].name: duplicate tenant name "
                  "'contoso' (first at @/t.d/a.yaml:1)\n");
}

static void test_duplicate_main_and_file(void **state)
{
    (void)state;
    clear_dir();
    main_config("tenants:\n  - name: contoso\n    tenant_id: " GUID(1) "\n", "t.d");
    put("t.d/contoso.yaml", "tenant_id: " GUID(1) "\nname: contoso\n");
    expect_errors(SF_ERR_CONFIG, "@/t.d/contoso.yaml:2: tenant.name: duplicate tenant name "
                  "'contoso' (first at @/siemfwd.yaml:10)\n");
}

static void test_unreadable(void **state)
{
    (void)state;
    clear_dir();
    main_config("", "t.d");
    assert_int_equal(symlink(at("t.d/gone"), at("t.d/dangling.yaml")), 0);
    assert_int_equal(mkdir(at("t.d/sub.yaml"), 0750), 0);
    expect_errors(SF_ERR_CONFIG,
                  "@/t.d/dangling.yaml: cannot read tenants file: No such file or directory\n"
                  "@/t.d/sub.yaml: cannot read tenants file: not a regular file\n");
    if (geteuid() == 0)
        return; /* root reads a mode 000 file */
    clear_dir();
    put("t.d/locked.yaml", "name: locked\ntenant_id: " GUID(1) "\n");
    assert_int_equal(chmod(at("t.d/locked.yaml"), 0), 0);
    expect_errors(SF_ERR_CONFIG, "@/t.d/locked.yaml: cannot open: Permission denied\n");
}

/* What SIGHUP sees: each load reads the directory anew. */
static void test_added_changed_removed(void **state)
{
    (void)state;
    clear_dir();
    main_config("", "t.d");
    put("t.d/a.yaml", "name: a\ntenant_id: " GUID(1) "\n");
    struct sf_config *cfg = load_ok();
    assert_int_equal(cfg->n_tenants, 1);
    sf_config_free(cfg);

    put("t.d/b.yaml", "name: b\ntenant_id: " GUID(2) "\n");
    put("t.d/a.yaml", "name: a\ntenant_id: " GUID(1) "\nenabled: false\n");
    cfg = load_ok();
    assert_int_equal(cfg->n_tenants, 2);
    assert_int_equal(cfg->tenants[0].enabled, 0);
    assert_string_equal(cfg->tenants[1].name, "b");
    sf_config_free(cfg);

    assert_int_equal(unlink(at("t.d/a.yaml")), 0);
    cfg = load_ok();
    assert_int_equal(cfg->n_tenants, 1);
    assert_string_equal(cfg->tenants[0].name, "b");
    assert_null(sf_config_tenant(cfg, "a"));
    sf_config_free(cfg);
}

/* A certificate path in a tenants file is relative to that file. */
static void test_relative_paths(void **state)
{
    (void)state;
    clear_dir();
    main_config("", "t.d");
    put("t.d/cert.yaml", "name: cert\ntenant_id: " GUID(1) "\n"
                         "certificate: {cert_file: app.crt, key_file: /etc/k.pem}\n");
    struct sf_config *cfg = load_ok();
    assert_int_equal(cfg->tenants[0].has_cert, 1);
    assert_null(cfg->tenants[0].client_secret);
    assert_string_equal(cfg->tenants[0].cert.cert_file, at("t.d/app.crt"));
    sf_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_sorted),
        cmocka_unit_test(test_dir_only_and_empty),
        cmocka_unit_test(test_no_tenants_no_dir),
        cmocka_unit_test(test_missing_dir),
        cmocka_unit_test(test_not_yaml),
        cmocka_unit_test(test_not_a_tenant),
        cmocka_unit_test(test_error_in_file),
        cmocka_unit_test(test_duplicate_across_files),
        cmocka_unit_test(test_duplicate_main_and_file),
        cmocka_unit_test(test_unreadable),
        cmocka_unit_test(test_added_changed_removed),
        cmocka_unit_test(test_relative_paths),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
