/* test_tls_conf.c - the one tls: binder (config/tls_conf.c): the shared keys
 * and paths made absolute, the deprecated bare ca_file on outputs and on
 * http: (their meanings and FILE:LINE warnings), both spellings at once, and
 * the "verification is OFF" warning said exactly once per bind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "sf_tls_conf.h"

struct fx {
    struct sf_doc *doc;
    struct sf_tls_conf t;
    struct sf_buf errs;
    char log[4096];          /* what went to stderr while binding */
    sf_err err;
};

/* Loads text as "/etc/siemfwd/t.yaml", binds the root's `key` map with opts
 * under path, and captures stderr (the warnings) meanwhile. */
static void bind_at(struct fx *f, const char *text, const char *key, const char *path,
                    const struct sf_tls_bind_opts *opts)
{
    char errbuf[256], tmpl[] = "/tmp/test_tls_conf.XXXXXX";
    int fd = mkstemp(tmpl), saved = dup(STDERR_FILENO);
    ssize_t n;

    memset(f, 0, sizeof(*f));
    sf_buf_init(&f->errs, 0);
    assert_true(fd >= 0 && saved >= 0);
    unlink(tmpl);
    if (sf_yaml_load_string("/etc/siemfwd/t.yaml", text, strlen(text), &f->doc, errbuf,
                            sizeof(errbuf)) != SF_OK)
        fail_msg("YAML: %s", errbuf);
    dup2(fd, STDERR_FILENO);
    f->err = sf_tls_bind(sf_node_get(f->doc->root, key), path, opts, &f->t, &f->errs);
    dup2(saved, STDERR_FILENO);
    close(saved);
    n = pread(fd, f->log, sizeof(f->log) - 1, 0);
    f->log[n > 0 ? n : 0] = '\0';
    close(fd);
}

static void done(struct fx *f)
{
    sf_tls_release(&f->t);
    sf_buf_free(&f->errs);
    sf_doc_free(f->doc);
}

static int count(const char *hay, const char *needle)
{
    int k = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        k++;
    return k;
}

static void test_defaults_without_tls(void **state)
{
    struct sf_tls_bind_opts o = { .who = "siem" };
    struct fx f;

    (void)state;
    bind_at(&f, "out:\n  address: h:6514\n", "out", "outputs[0]", &o);
    assert_int_equal(f.err, SF_OK);
    assert_int_equal(f.t.verify, 1);
    assert_null(f.t.ca_file);
    assert_null(f.t.cert_file);
    assert_null(f.t.server_name);
    assert_int_equal(f.t.ca_add, 0);
    assert_string_equal(f.log, "");
    done(&f);
}

static void test_new_keys_paths_absolute(void **state)
{
    struct sf_tls_bind_opts o = { .who = "siem" };
    struct fx f;

    (void)state;
    bind_at(&f, "out:\n  tls:\n    ca_file: tls/ca.pem\n    cert_file: /abs/c.pem\n"
                "    key_file: k.pem\n    server_name: siem.example\n    verify: true\n",
            "out", "outputs[0]", &o);
    assert_int_equal(f.err, SF_OK);
    assert_string_equal(f.t.ca_file, "/etc/siemfwd/tls/ca.pem");
    assert_string_equal(f.t.cert_file, "/abs/c.pem");
    assert_string_equal(f.t.key_file, "/etc/siemfwd/k.pem");
    assert_string_equal(f.t.server_name, "siem.example");
    assert_int_equal(f.t.verify, 1);
    assert_int_equal(f.t.ca_add, 0);   /* tls.ca_file replaces the system store */
    assert_string_equal(f.log, "");
    done(&f);
}

static void test_legacy_output_ca_file_warned(void **state)
{
    struct sf_tls_bind_opts o = { .who = "oncall", .legacy_ca_file = "ca_file" };
    struct fx f;

    (void)state;
    setenv("TEST_TLS_CA", "/etc/ssl/smtp-ca.pem", 1);
    bind_at(&f, "out:\n  url: smtps://mx:465\n  ca_file: ${TEST_TLS_CA}\n", "out",
            "outputs[1]", &o);
    assert_int_equal(f.err, SF_OK);
    assert_string_equal(f.t.ca_file, "/etc/ssl/smtp-ca.pem");
    assert_int_equal(f.t.ca_add, 0);   /* same meaning as before: instead of */
    assert_non_null(strstr(f.log, "/etc/siemfwd/t.yaml:3: outputs[1].ca_file is deprecated: "
                                  "write it as tls: {ca_file: ...} (same meaning: these "
                                  "CAs instead of the system store)"));
    assert_non_null(strstr(f.log, "output=oncall"));
    assert_int_equal(count(f.log, "deprecated"), 1);
    done(&f);
}

static void test_legacy_http_ca_file_keeps_adding(void **state)
{
    struct sf_tls_bind_opts o = { .legacy_ca_file = "ca_file", .legacy_ca_add = 1,
                                  .no_server_name = 1 };
    struct fx f;

    (void)state;
    bind_at(&f, "http:\n  timeout: 10s\n  ca_file: proxy-ca.pem\n", "http", "http", &o);
    assert_int_equal(f.err, SF_OK);
    assert_string_equal(f.t.ca_file, "/etc/siemfwd/proxy-ca.pem");
    assert_int_equal(f.t.ca_add, 1);
    assert_int_equal(f.t.verify, 1);
    assert_non_null(strstr(f.log, "/etc/siemfwd/t.yaml:3: http.ca_file is deprecated: it "
                                  "adds its CAs to the system store, which it keeps doing; "
                                  "tls.ca_file trusts only the CAs it names"));
    done(&f);

    /* the new spelling on http: means the same as everywhere else */
    bind_at(&f, "http:\n  tls: {ca_file: /etc/ssl/emu.pem}\n", "http", "http", &o);
    assert_int_equal(f.err, SF_OK);
    assert_string_equal(f.t.ca_file, "/etc/ssl/emu.pem");
    assert_int_equal(f.t.ca_add, 0);
    assert_string_equal(f.log, "");
    done(&f);
}

static void test_both_spellings_refused(void **state)
{
    struct sf_tls_bind_opts o = { .who = "hook", .legacy_ca_file = "ca_file" };
    struct fx f;

    (void)state;
    bind_at(&f, "out:\n  ca_file: /a.pem\n  tls: {ca_file: /b.pem}\n", "out", "outputs[2]",
            &o);
    assert_int_equal(f.err, SF_ERR_CONFIG);
    assert_string_equal(f.errs.data, "/etc/siemfwd/t.yaml:2: outputs[2].ca_file: ca_file and "
                                     "tls.ca_file both given; keep tls.ca_file (ca_file is "
                                     "its deprecated spelling)\n");
    done(&f);
}

static void test_verify_off_warned_once(void **state)
{
    struct sf_tls_bind_opts o = { .who = "siem" };
    struct fx f;

    (void)state;
    bind_at(&f, "out:\n  tls:\n    ca_file: /ca.pem\n    verify: false\n", "out", "outputs[0]",
            &o);
    assert_int_equal(f.err, SF_OK);
    assert_int_equal(f.t.verify, 0);
    assert_int_equal(count(f.log, "verification is OFF"), 1);
    assert_non_null(strstr(f.log, "TLS certificate verification is OFF "
                                  "(/etc/siemfwd/t.yaml:4): anyone on the path can read and "
                                  "forge what this output sends"));
    assert_non_null(strstr(f.log, "output=siem"));
    done(&f);

    /* http: says what it protects; quiet (plain http:// already warned) says nothing */
    struct sf_tls_bind_opts h = { 0 };
    bind_at(&f, "http:\n  tls: {verify: no}\n", "http", "http", &h);
    assert_int_equal(count(f.log, "verification is OFF"), 1);
    assert_non_null(strstr(f.log, "what the API calls carry"));
    done(&f);
    struct sf_tls_bind_opts q = { .who = "hec", .quiet = 1 };
    bind_at(&f, "out:\n  tls: {verify: false}\n", "out", "outputs[0]", &q);
    assert_int_equal(f.err, SF_OK);
    assert_int_equal(count(f.log, "verification is OFF"), 0);
    done(&f);
}

static void test_errors_name_file_line_key(void **state)
{
    static const char *const pin[] = { "fingerprint_sha256", NULL };
    struct sf_tls_bind_opts o = { .who = "x", .extra = pin };
    struct sf_tls_bind_opts curl = { .who = "x", .no_server_name = 1 };
    struct fx f;

    (void)state;
    bind_at(&f, "out:\n  tls: {cert_file: /c.pem, fingerprint_sha256: ab}\n", "out",
            "outputs[0]", &o);
    assert_int_equal(f.err, SF_ERR_CONFIG);
    assert_string_equal(f.errs.data, "/etc/siemfwd/t.yaml:2: outputs[0].tls.key_file: "
                                     "cert_file and key_file must be given together\n");
    done(&f);

    bind_at(&f, "out:\n  tls:\n    ca_fille: /c.pem\n", "out", "outputs[0]", &o);
    assert_int_equal(f.err, SF_ERR_CONFIG);
    assert_non_null(strstr(f.errs.data, "/etc/siemfwd/t.yaml:3: outputs[0].tls.ca_fille"));
    assert_non_null(strstr(f.errs.data, "ca_file"));
    done(&f);

    bind_at(&f, "out:\n  tls:\n    server_name: other\n", "out", "outputs[3]", &curl);
    assert_int_equal(f.err, SF_ERR_CONFIG);
    assert_non_null(strstr(f.errs.data, "/etc/siemfwd/t.yaml:3: outputs[3].tls.server_name: "
                                        "server_name is not supported here"));
    done(&f);
}

static void test_copy(void **state)
{
    struct sf_tls_conf a = { .ca_file = "/a", .server_name = "s", .verify = 0, .ca_add = 1 };
    struct sf_tls_conf b = { 0 };

    (void)state;
    assert_int_equal(sf_tls_copy(&b, &a), SF_OK);
    assert_string_equal(b.ca_file, "/a");
    assert_ptr_not_equal(b.ca_file, a.ca_file);
    assert_string_equal(b.server_name, "s");
    assert_null(b.cert_file);
    assert_int_equal(b.verify, 0);
    assert_int_equal(b.ca_add, 1);
    sf_tls_release(&b);
    assert_int_equal(sf_tls_copy(&b, NULL), SF_OK);
    assert_int_equal(b.verify, 1);
    sf_tls_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_without_tls),
        cmocka_unit_test(test_new_keys_paths_absolute),
        cmocka_unit_test(test_legacy_output_ca_file_warned),
        cmocka_unit_test(test_legacy_http_ca_file_keeps_adding),
        cmocka_unit_test(test_both_spellings_refused),
        cmocka_unit_test(test_verify_off_warned_once),
        cmocka_unit_test(test_errors_name_file_line_key),
        cmocka_unit_test(test_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
