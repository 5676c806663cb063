/* test_config_cluster.c - the `cluster:` section (config/config_cluster.c):
 * absent means disabled, defaults, brokers as list or text, bad values with
 * their exact "FILE:LINE: cluster.key: message" lines, the masked dump, and
 * the documented tenant -> partition hash (forwarder/cluster_hash.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "sf_cluster_hash.h"
#include "sf_config.h"

#define BASE                                                                     \
    "state_dir: /tmp/sf-cluster-test\n"                                          \
    "tenants:\n"                                                                 \
    "  - name: contoso\n"                                                        \
    "    tenant_id: 00000000-0000-0000-0000-000000000001\n"                      \
    "    client_id: 11111111-2222-3333-4444-555555555555\n"                      \
    "    client_secret: s\n"                                                     \
    "outputs:\n"                                                                 \
    "  - {name: out, type: stdout, format: json}\n"

static struct sf_config *load(const char *text, sf_err want, const char *want_errs)
{
    struct sf_config *cfg = NULL;
    struct sf_buf errs;

    sf_buf_init(&errs, 0);
    sf_err err = sf_config_load_string("F", text, strlen(text), &cfg, &errs);
    if (err != want)
        fail_msg("got %s, want %s:\n%s", sf_strerror(err), sf_strerror(want),
                 errs.data ? errs.data : "");
    if (want_errs)
        assert_string_equal(errs.data ? errs.data : "", want_errs);
    sf_buf_free(&errs);
    return cfg;
}

static void test_absent(void **state)
{
    (void)state;
    struct sf_config *cfg = load(BASE, SF_OK, "");
    assert_int_equal(cfg->cluster.enabled, 0);
    assert_null(cfg->cluster.brokers);
    struct sf_buf out;
    sf_buf_init(&out, 0);
    sf_config_dump(cfg, &out);
    assert_null(strstr(out.data, "\ncluster:"));
    sf_buf_free(&out);
    sf_config_free(cfg);
}

static void test_defaults(void **state)
{
    (void)state;
    struct sf_config *cfg = load(BASE "cluster:\n  brokers: k1:9092\n", SF_OK, "");
    const struct sf_cluster_conf *c = &cfg->cluster;
    char want[300], host[256] = "";
    assert_int_equal(c->enabled, 1);
    assert_string_equal(c->brokers, "k1:9092");
    assert_string_equal(c->group, "siemfwd");
    assert_string_equal(c->tenants_topic, "siemfwd.tenants");
    assert_string_equal(c->cursors_topic, "siemfwd.cursors");
    assert_int_equal(c->partitions, 128);
    assert_int_equal(c->n_props, 0);
    gethostname(host, sizeof(host) - 1);
    host[strcspn(host, ".")] = '\0';
    snprintf(want, sizeof(want), "%.48s-%ld", host, (long)getpid());
    assert_string_equal(c->instance_id, want);
    sf_config_free(cfg);
}

static void test_full_and_dump(void **state)
{
    (void)state;
    setenv("SF_TEST_SASL_PW", "sasl-secret-value", 1);
    struct sf_config *cfg = load(BASE
        "cluster:\n"
        "  brokers: [k1:9092, 'k2:9093']\n"
        "  group: mssp\n"
        "  tenants_topic: t.tenants\n"
        "  cursors_topic: t.cursors\n"
        "  partitions: 12\n"
        "  instance_id: node-a\n"
        "  properties:\n"
        "    session.timeout.ms: 3000\n"
        "    sasl.password: ${SF_TEST_SASL_PW}\n", SF_OK, "");
    const struct sf_cluster_conf *c = &cfg->cluster;
    assert_string_equal(c->brokers, "k1:9092,k2:9093");
    assert_string_equal(c->group, "mssp");
    assert_string_equal(c->tenants_topic, "t.tenants");
    assert_string_equal(c->cursors_topic, "t.cursors");
    assert_int_equal(c->partitions, 12);
    assert_string_equal(c->instance_id, "node-a");
    assert_int_equal(c->n_props, 2);
    assert_string_equal(c->prop_keys[0], "session.timeout.ms");
    assert_string_equal(c->prop_vals[0], "3000");
    assert_string_equal(c->prop_keys[1], "sasl.password");
    assert_string_equal(c->prop_vals[1], "sasl-secret-value");

    struct sf_buf out;
    sf_buf_init(&out, 0);
    sf_config_dump(cfg, &out);
    assert_non_null(strstr(out.data,
        "cluster:\n  brokers: \"k1:9092,k2:9093\"\n  group: mssp\n  tenants_topic: t.tenants\n"
        "  cursors_topic: t.cursors\n  partitions: 12\n  instance_id: node-a\n"
        "  properties:\n    session.timeout.ms: 3000\n    sasl.password: \"***\"\n"));
    assert_null(strstr(out.data, "sasl-secret-value"));
    sf_buf_free(&out);
    sf_config_free(cfg);
}

static void test_brokers_text_list(void **state)
{
    (void)state;
    struct sf_config *cfg = load(BASE "cluster: {brokers: \"a:1, b:2\"}\n", SF_OK, "");
    assert_string_equal(cfg->cluster.brokers, "a:1,b:2");
    sf_config_free(cfg);
}

static void test_errors(void **state)
{
    (void)state;
    load(BASE "cluster:\n  group: g\n", SF_ERR_CONFIG,
         "F:10: cluster.brokers: required key is missing\n");
    load(BASE "cluster:\n", SF_ERR_CONFIG,
         "F:9: cluster.brokers: required key is missing\n");
    load(BASE "cluster:\n  brokers: k1\n  partitions: 0\n", SF_ERR_CONFIG,
         "F:11: cluster.partitions: 0 is out of range 1..10000\n"
         "F:10: cluster.brokers: 'k1' is not HOST:PORT (e.g. kafka1:9092)\n");
    load(BASE "cluster:\n  brokers: k:1\n  partitions: 10001\n  tenant_topic: x\n",
         SF_ERR_CONFIG,
         "F:12: cluster.tenant_topic: unknown key (did you mean 'tenants_topic'?)\n"
         "F:11: cluster.partitions: 10001 is out of range 1..10000\n");
    load(BASE "cluster:\n  brokers: k:1\n  tenants_topic: 'bad topic'\n"
         "  cursors_topic: siemfwd.tenants\n", SF_ERR_CONFIG,
         "F:11: cluster.tenants_topic: 'bad topic' is not a valid topic name "
         "(1..249 of a-z A-Z 0-9 . _ -)\n");
    load(BASE "cluster:\n  brokers: k:1\n  cursors_topic: siemfwd.tenants\n", SF_ERR_CONFIG,
         "F:11: cluster.cursors_topic: must differ from cluster.tenants_topic "
         "('siemfwd.tenants')\n");
    load(BASE "cluster:\n  brokers: k:1\n  instance_id: 'a b'\n", SF_ERR_CONFIG,
         "F:11: cluster.instance_id: 'a b' may only use letters, digits, '.', '_' and '-'\n");
    load(BASE "cluster:\n  brokers: k:1\n  properties:\n    group.id: x\n"
         "    enable.auto.commit: 'true'\n", SF_ERR_CONFIG,
         "F:12: cluster.properties.group.id: may not be set here: set by cluster.group\n"
         "F:13: cluster.properties.enable.auto.commit: may not be set here: siemfwd keeps "
         "no consumer offsets (the tenants topic is only used for its assignment)\n");
    load(BASE "cluster:\n  brokers: k:1\n  properties: [a]\n", SF_ERR_CONFIG,
         "F:11: cluster.properties: must be a mapping of librdkafka properties, not a "
         "list\n");
    load(BASE "cluster: [k:1]\n", SF_ERR_CONFIG, NULL);
}

static void test_doc(void **state)
{
    (void)state;
    struct sf_buf out;
    sf_buf_init(&out, 0);
    sf_config_doc(&out);
    assert_non_null(strstr(out.data, "\ncluster:\nKEY "));
    assert_non_null(strstr(out.data, "\npartitions "));
    sf_buf_free(&out);
}

/* The documented hash: FNV-1a 32 of the lower-case tenant_id, mod P. */
static void test_hash(void **state)
{
    (void)state;
    /* FNV-1a("a") = 0xe40c292c, FNV-1a("") = 0x811c9dc5 */
    assert_int_equal(sf_cluster_partition("a", 1000000007), 0xe40c292cu % 1000000007u);
    assert_int_equal(sf_cluster_partition("A", 128), sf_cluster_partition("a", 128));
    assert_int_equal(sf_cluster_partition("", 7), (int32_t)(0x811c9dc5u % 7u));
    assert_int_equal(sf_cluster_partition("00000000-0000-0000-0000-000000000001", 1), 0);
}

/* 10,000 GUID-like tenant ids over 128 partitions: every partition used, none
 * holding more than twice its share (a lopsided hash would overload one
 * instance). */
static void test_hash_spread(void **state)
{
    (void)state;
    int count[128] = { 0 };
    char id[64];
    for (int i = 0; i < 10000; i++) {
        snprintf(id, sizeof(id), "%08x-0000-4000-8000-%012d", i * 2654435761u, i);
        int32_t p = sf_cluster_partition(id, 128);
        assert_true(p >= 0 && p < 128);
        count[p]++;
    }
    for (int p = 0; p < 128; p++) {
        assert_true(count[p] > 0);
        assert_true(count[p] < 2 * 10000 / 128);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absent),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full_and_dump),
        cmocka_unit_test(test_brokers_text_list),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_doc),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_hash_spread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
