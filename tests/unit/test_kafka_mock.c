/* test_kafka_mock.c - the kafka output against librdkafka's mock cluster
 * (3 brokers, 127.0.0.1): verdicts, read-back with a consumer (every id
 * exactly once, key = tenant), topic templates, injected errors, a broker
 * down and up, config errors with FILE:LINE, oversized records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "sf_output.h"

extern const struct sf_output_type sf_output_kafka;

#define MAXID 4096
#define NPART 4
#define PRODUCE_API 0 /* Kafka ApiKey of Produce (rdkafka_protocol.h is not installed) */

static const char *const tenants[] = { "acme", "globex", "initech" };

struct fx {
    rd_kafka_t *mrk;             /* hosts the mock cluster */
    rd_kafka_mock_cluster_t *mc;
    char brokers[256];
    struct sf_doc *doc;
    struct sf_output o;
    int started;
    unsigned count[MAXID];       /* verdicts per id */
    enum sf_verdict v[MAXID];
    char reason[MAXID][400];
};

/* One consumed record. */
struct rec {
    uint64_t id;
    char topic[64];
    char key[32];
    int32_t partition;
    int value_ok; /* value bytes equal to render(id) */
};

static void render(uint64_t id, char *out, size_t len)
{
    snprintf(out, len,
             "CEF:0|siemfwd|test|1|alert-%llu|Suspicious activity|5|cs1Label=tenant cs1=%s "
             "externalId=%llu",
             (unsigned long long)id, tenants[id % 3], (unsigned long long)id);
}

static void on_verdict(void *opaque, uint64_t id, enum sf_verdict v, const char *reason)
{
    struct fx *f = opaque;

    assert_true(id < MAXID);
    f->count[id]++;
    f->v[id] = v;
    snprintf(f->reason[id], sizeof(f->reason[id]), "%s", reason ? reason : "");
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[256];

    assert_non_null(f);
    assert_int_equal(rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)),
                     RD_KAFKA_CONF_OK);
    f->mrk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    assert_non_null(f->mrk);
    f->mc = rd_kafka_mock_cluster_new(f->mrk, 3);
    assert_non_null(f->mc);
    snprintf(f->brokers, sizeof(f->brokers), "%s", rd_kafka_mock_cluster_bootstraps(f->mc));
    f->o.type = &sf_output_kafka;
    f->o.name = "kout";
    f->o.verdict = on_verdict;
    f->o.verdict_opaque = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    if (f->o.ctx)
        f->o.type->destroy(&f->o);
    sf_doc_free(f->doc);
    rd_kafka_mock_cluster_destroy(f->mc);
    rd_kafka_destroy(f->mrk);
    free(f);
    return 0;
}

/* init from YAML (the output's mapping at the root, reported as outputs[2]);
 * returns init's result, errs filled with its lines. */
static sf_err out_init(struct fx *f, const char *yaml, struct sf_buf *errs)
{
    char errbuf[256];

    sf_doc_free(f->doc);
    f->doc = NULL;
    assert_int_equal(sf_yaml_load_string("test.yaml", yaml, strlen(yaml), &f->doc, errbuf,
                                         sizeof(errbuf)), SF_OK);
    return f->o.type->init(&f->o, f->doc->root, "outputs[2]", errs);
}

/* init + start with brokers = the mock cluster and extra YAML lines. */
static void out_open(struct fx *f, const char *topic, const char *extra)
{
    char yaml[2048], errbuf[256];
    struct sf_buf errs;

    snprintf(yaml, sizeof(yaml),
             "name: kout\ntype: kafka\nformat: arcsight-cef\nbrokers: \"%s\"\ntopic: \"%s\"\n%s",
             f->brokers, topic, extra ? extra : "");
    sf_buf_init(&errs, 65536);
    if (out_init(f, yaml, &errs) != SF_OK)
        fail_msg("init failed: %s", errs.data ? errs.data : "");
    sf_buf_free(&errs);
    if (f->o.type->start(&f->o, errbuf, sizeof(errbuf)) != SF_OK)
        fail_msg("start failed: %s", errbuf);
}

/* Send ids [first, first+n) in batches of 100 through the interface. */
static void send_range(struct fx *f, uint64_t first, size_t n)
{
    static char data[100][256];
    struct sf_msg msgs[100];

    for (size_t done = 0; done < n;) {
        size_t b = n - done < 100 ? n - done : 100;

        for (size_t i = 0; i < b; i++) {
            uint64_t id = first + done + i;

            render(id, data[i], sizeof(data[i]));
            msgs[i] = (struct sf_msg){ .data = data[i], .len = strlen(data[i]),
                                       .tenant = tenants[id % 3], .tenant_id = "tid",
                                       .alert_id = "aid", .time_ms = 0, .id = id };
        }
        assert_int_equal(f->o.type->send(&f->o, msgs, b), SF_OK);
        f->o.type->poll(&f->o, 0);
        done += b;
    }
}

static void assert_all_delivered(struct fx *f, uint64_t first, size_t n)
{
    for (uint64_t id = first; id < first + n; id++) {
        if (f->count[id] != 1 || f->v[id] != SF_V_DELIVERED)
            fail_msg("id %llu: %u verdicts, last %s (%s)", (unsigned long long)id,
                     f->count[id], sf_verdict_name(f->v[id]), f->reason[id]);
    }
}

static void assign_topic(rd_kafka_topic_partition_list_t *parts, const char *topic)
{
    for (int32_t p = 0; p < NPART; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
}

static void take(const rd_kafka_message_t *m, struct rec *r)
{
    char want[256];
    const char *ext;

    memset(r, 0, sizeof(*r));
    snprintf(r->topic, sizeof(r->topic), "%s", rd_kafka_topic_name(m->rkt));
    snprintf(r->key, sizeof(r->key), "%.*s", (int)m->key_len, m->key ? (char *)m->key : "");
    r->partition = m->partition;
    ext = memmem(m->payload, m->len, "externalId=", 11);
    assert_non_null(ext);
    r->id = strtoull(ext + 11, NULL, 10);
    render(r->id, want, sizeof(want));
    r->value_ok = m->len == strlen(want) && memcmp(m->payload, want, m->len) == 0;
}

/* Read every partition of topics from the beginning to its end (the log is
 * complete: callers flushed first). Returns the number of records. */
static size_t consume_all(struct fx *f, const char *const *topics, size_t ntopics,
                          struct rec *out, size_t max)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(NPART * 4);
    char errstr[256];
    size_t n = 0, eofs = 0;
    rd_kafka_t *c;

    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", f->brokers, errstr,
                                       sizeof(errstr)), RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "group.id", "readback", errstr, sizeof(errstr)),
                     RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr,
                                       sizeof(errstr)), RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)),
                     RD_KAFKA_CONF_OK);
    c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    assert_non_null(c);
    for (size_t t = 0; t < ntopics; t++)
        assign_topic(parts, topics[t]);
    assert_int_equal(rd_kafka_assign(c, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
    for (time_t end = time(NULL) + 20; eofs < (size_t)parts->cnt && time(NULL) < end;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);

        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            eofs++;
        else if (m->err)
            fail_msg("consumer: %s", rd_kafka_message_errstr(m));
        else if (n < max)
            take(m, &out[n++]);
        else
            fail_msg("more records than expected");
        rd_kafka_message_destroy(m);
    }
    assert_int_equal(eofs, (size_t)parts->cnt);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return n;
}

/* Every id in [first, first+n) exactly once, exact bytes, key = tenant, and
 * topic = pre + tenant + suf (just pre when suf is NULL: a fixed topic). */
static void check_readback(struct fx *f, const char *const *topics, size_t ntopics,
                           uint64_t first, size_t n, const char *pre, const char *suf)
{
    static struct rec recs[MAXID];
    static unsigned seen[MAXID];
    size_t got = consume_all(f, topics, ntopics, recs, MAXID);
    char want_topic[64];

    memset(seen, 0, sizeof(seen));
    assert_int_equal(got, n);
    for (size_t i = 0; i < got; i++) {
        const struct rec *r = &recs[i];

        assert_true(r->id >= first && r->id < first + n);
        seen[r->id]++;
        assert_true(r->value_ok);
        assert_string_equal(r->key, tenants[r->id % 3]);
        snprintf(want_topic, sizeof(want_topic), "%s%s%s", pre, suf ? tenants[r->id % 3] : "",
                 suf ? suf : "");
        assert_string_equal(r->topic, want_topic);
    }
    for (uint64_t id = first; id < first + n; id++)
        if (seen[id] != 1)
            fail_msg("id %llu read back %u times", (unsigned long long)id, seen[id]);
}

static void test_delivers_1000_from_3_tenants(void **state)
{
    struct fx *f = *state;
    static struct rec recs[MAXID];
    const char *topics[] = { "alerts" };
    int32_t part_of[3] = { -1, -1, -1 };

    assert_int_equal(rd_kafka_mock_topic_create(f->mc, "alerts", NPART, 3), 0);
    out_open(f, "alerts", NULL);
    send_range(f, 0, 1000);
    assert_int_equal(f->o.type->flush(&f->o, 30000), 0);
    assert_all_delivered(f, 0, 1000);
    check_readback(f, topics, 1, 0, 1000, "alerts", NULL);
    /* Keyed by tenant: one tenant's records share one partition (order). */
    assert_int_equal(consume_all(f, topics, 1, recs, MAXID), 1000);
    for (size_t i = 0; i < 1000; i++) {
        int t = (int)(recs[i].id % 3);

        if (part_of[t] < 0)
            part_of[t] = recs[i].partition;
        assert_int_equal(recs[i].partition, part_of[t]);
    }
}

static void test_topic_template_per_tenant(void **state)
{
    struct fx *f = *state;
    const char *topics[] = { "siem.acme.cef", "siem.globex.cef", "siem.initech.cef" };

    for (size_t i = 0; i < 3; i++)
        assert_int_equal(rd_kafka_mock_topic_create(f->mc, topics[i], NPART, 3), 0);
    out_open(f, "siem.${tenant}.cef", NULL);
    send_range(f, 0, 300);
    assert_int_equal(f->o.type->flush(&f->o, 30000), 0);
    assert_all_delivered(f, 0, 300);
    check_readback(f, topics, 3, 0, 300, "siem.", ".cef");
}

static void test_topic_template_tenant_name_and_bad_tenant(void **state)
{
    struct fx *f = *state;
    const char *topics[] = { "x-acme", "x-globex", "x-initech" };
    struct sf_msg bad = { .data = "r", .len = 1, .tenant = "has space", .id = 500 };

    for (size_t i = 0; i < 3; i++)
        assert_int_equal(rd_kafka_mock_topic_create(f->mc, topics[i], NPART, 3), 0);
    out_open(f, "x-${tenant.name}", NULL);
    send_range(f, 0, 30);
    /* A tenant name Kafka cannot use in a topic rejects that record only. */
    assert_int_equal(f->o.type->send(&f->o, &bad, 1), SF_OK);
    assert_int_equal(f->count[500], 1);
    assert_int_equal(f->v[500], SF_V_REJECTED);
    assert_string_equal(f->reason[500],
                        "tenant \"has space\" gives no valid topic name from \"x-${tenant.name}\"");
    assert_int_equal(f->o.type->flush(&f->o, 30000), 0);
    assert_all_delivered(f, 0, 30);
    check_readback(f, topics, 3, 0, 30, "x-", "");
}

static void test_injected_produce_errors_still_delivered_once(void **state)
{
    struct fx *f = *state;
    const char *topics[] = { "alerts" };

    assert_int_equal(rd_kafka_mock_topic_create(f->mc, "alerts", NPART, 3), 0);
    out_open(f, "alerts", "properties:\n  retry.backoff.ms: 20\n");
    rd_kafka_mock_push_request_errors(f->mc, PRODUCE_API, 8,
                                      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                                      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
    send_range(f, 0, 500);
    assert_int_equal(f->o.type->flush(&f->o, 30000), 0);
    assert_all_delivered(f, 0, 500);
    check_readback(f, topics, 1, 0, 500, "alerts", NULL);
}

static void test_broker_down_then_up(void **state)
{
    struct fx *f = *state;
    const char *topics[] = { "alerts" };

    assert_int_equal(rd_kafka_mock_topic_create(f->mc, "alerts", NPART, 3), 0);
    for (int32_t p = 0; p < NPART; p++)
        assert_int_equal(rd_kafka_mock_partition_set_leader(f->mc, "alerts", p, 1), 0);
    out_open(f, "alerts", "properties:\n  reconnect.backoff.max.ms: 200\n");
    assert_int_equal(rd_kafka_mock_broker_set_down(f->mc, 1), 0);
    send_range(f, 0, 300);
    /* The leader is down: nothing can be acknowledged, nothing is failed. */
    assert_int_equal(f->o.type->flush(&f->o, 1500), 300);
    for (uint64_t id = 0; id < 300; id++)
        assert_int_equal(f->count[id], 0);
    assert_int_equal(rd_kafka_mock_broker_set_up(f->mc, 1), 0);
    assert_int_equal(f->o.type->flush(&f->o, 30000), 0);
    assert_all_delivered(f, 0, 300);
    check_readback(f, topics, 1, 0, 300, "alerts", NULL);
}

/* Nothing is lost when Kafka stays away: a full local queue and an expired
 * delivery_timeout both hand the records back as RETRY. */
static void test_unreachable_leader_gives_retry(void **state)
{
    struct fx *f = *state;

    assert_int_equal(rd_kafka_mock_topic_create(f->mc, "alerts", NPART, 3), 0);
    for (int32_t p = 0; p < NPART; p++)
        assert_int_equal(rd_kafka_mock_partition_set_leader(f->mc, "alerts", p, 1), 0);
    out_open(f, "alerts", "delivery_timeout: 1s\nproperties:\n"
                          "  queue.buffering.max.messages: 10\n");
    assert_int_equal(rd_kafka_mock_broker_set_down(f->mc, 1), 0);
    send_range(f, 0, 25);
    for (uint64_t id = 10; id < 25; id++) {
        assert_int_equal(f->count[id], 1);
        assert_int_equal(f->v[id], SF_V_RETRY);
        assert_string_equal(f->reason[id],
                            "local producer queue full (queue.buffering.max.messages/kbytes)");
    }
    assert_int_equal(f->o.type->flush(&f->o, 10000), 0);
    for (uint64_t id = 0; id < 10; id++) {
        assert_int_equal(f->count[id], 1);
        assert_int_equal(f->v[id], SF_V_RETRY);
        assert_string_equal(f->reason[id], rd_kafka_err2str(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT));
    }
}

static void test_message_too_large_rejected(void **state)
{
    struct fx *f = *state;
    size_t big = 1200 * 1000; /* > message.max.bytes (1000000) */
    char *data = malloc(big);
    struct sf_msg m = { .data = data, .len = big, .tenant = "acme", .id = 7 };

    assert_non_null(data);
    memset(data, 'A', big);
    out_open(f, "alerts", NULL);
    assert_int_equal(f->o.type->send(&f->o, &m, 1), SF_OK);
    assert_int_equal(f->o.type->flush(&f->o, 10000), 0);
    assert_int_equal(f->count[7], 1);
    assert_int_equal(f->v[7], SF_V_REJECTED);
    assert_string_equal(f->reason[7], rd_kafka_err2str(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE));
    free(data);

    /* The broker refusing a record permanently: REJECTED, and the producer
     * keeps working for the next one. */
    send_range(f, 0, 1);
    assert_int_equal(f->o.type->flush(&f->o, 10000), 0);
    rd_kafka_mock_push_request_errors(f->mc, PRODUCE_API, 1, RD_KAFKA_RESP_ERR_INVALID_RECORD);
    send_range(f, 1, 1);
    assert_int_equal(f->o.type->flush(&f->o, 10000), 0);
    assert_int_equal(f->v[1], SF_V_REJECTED);
    assert_string_equal(f->reason[1], rd_kafka_err2str(RD_KAFKA_RESP_ERR_INVALID_RECORD));
    send_range(f, 2, 1);
    assert_int_equal(f->o.type->flush(&f->o, 10000), 0);
    assert_int_equal(f->v[0], SF_V_DELIVERED);
    assert_int_equal(f->v[2], SF_V_DELIVERED);
}

/* With enable.gapless.guarantee a permanently failed record is a fatal
 * producer error: FATAL, and start() builds a fresh producer. */
static void test_fatal_error_then_restart(void **state)
{
    struct fx *f = *state;
    char errbuf[256];

    out_open(f, "alerts", "properties:\n  enable.gapless.guarantee: true\n");
    send_range(f, 0, 1);
    assert_int_equal(f->o.type->flush(&f->o, 10000), 0);
    rd_kafka_mock_push_request_errors(f->mc, PRODUCE_API, 1, RD_KAFKA_RESP_ERR_INVALID_RECORD);
    send_range(f, 1, 1);
    assert_int_equal(f->o.type->flush(&f->o, 10000), 0);
    assert_int_equal(f->count[1], 1);
    assert_int_equal(f->v[1], SF_V_FATAL);
    assert_non_null(strstr(f->reason[1], "fatal producer error: Local: Gap-less ordering would "
                                         "not be guaranteed if proceeding: ProduceRequest for "
                                         "alerts ["));
    assert_non_null(strstr(f->reason[1], "Broker failed to validate record"));
    /* An unusable producer refuses new records at once. */
    send_range(f, 2, 1);
    assert_int_equal(f->count[2], 1);
    assert_int_equal(f->v[2], SF_V_FATAL);
    assert_int_equal(f->o.type->start(&f->o, errbuf, sizeof(errbuf)), SF_OK);
    send_range(f, 3, 1);
    assert_int_equal(f->o.type->flush(&f->o, 10000), 0);
    assert_int_equal(f->v[0], SF_V_DELIVERED);
    assert_int_equal(f->v[3], SF_V_DELIVERED);
}

/* init's lines for yaml (must fail) compared with want. */
static void expect_init_error(struct fx *f, const char *yaml, const char *want)
{
    struct sf_buf errs;

    sf_buf_init(&errs, 65536);
    assert_int_equal(out_init(f, yaml, &errs), SF_ERR_CONFIG);
    assert_null(f->o.ctx);
    assert_non_null(errs.data);
    assert_string_equal(errs.data, want);
    sf_buf_free(&errs);
}

static void test_bad_property_fails_init_with_file_line(void **state)
{
    struct fx *f = *state;

    expect_init_error(f,
                      "name: kout\ntype: kafka\nbrokers: b:9092\ntopic: t\nproperties:\n"
                      "  linger.ms: 5\n  foo.bar: 1\n",
                      "test.yaml:7: outputs[2].properties.foo.bar: "
                      "No such configuration property: \"foo.bar\"\n");
    expect_init_error(f,
                      "brokers: b:9092\ntopic: t\nproperties:\n  linger.ms: soon\n",
                      "test.yaml:4: outputs[2].properties.linger.ms: "
                      "Invalid value for configuration property \"queue.buffering.max.ms\"\n");
    expect_init_error(f,
                      "brokers: b:9092\ntopic: t\nproperties:\n  enable.idempotence: false\n",
                      "test.yaml:4: outputs[2].properties.enable.idempotence: the kafka output "
                      "always uses the idempotent producer (no duplicates or reordering on "
                      "retries); remove this property\n");
    expect_init_error(f, "brokers: b:9092\ntopic: t\nproperties:\n  acks: 1\n",
                      "test.yaml:4: outputs[2].properties.acks: a record counts as delivered "
                      "only when all in-sync replicas have it (acks=all); remove this property\n");
    expect_init_error(f, "brokers: b:9092\ntopic: t\nproperties:\n  bootstrap.servers: x:1\n",
                      "test.yaml:4: outputs[2].properties.bootstrap.servers: "
                      "set it with brokers:\n");
}

static void test_config_errors(void **state)
{
    struct fx *f = *state;

    expect_init_error(f, "name: kout\ntype: kafka\ntopic: t\n",
                      "test.yaml:1: outputs[2].brokers: required key is missing\n");
    expect_init_error(f, "brokers: b:9092\ntopic: \"a-${tenant.id}\"\n",
                      "test.yaml:2: outputs[2].topic: unknown placeholder in \"a-${tenant.id}\" "
                      "(allowed: ${tenant}, ${tenant.name})\n");
    expect_init_error(f, "brokers: b:9092\ntopic: \"bad topic\"\n",
                      "test.yaml:2: outputs[2].topic: \"bad topic\" is not a valid topic name "
                      "(1..249 of a-z A-Z 0-9 . _ -)\n");
    expect_init_error(f, "brokers: b:9092\ntopic: t\ncompression: brotli\n",
                      "test.yaml:3: outputs[2].compression: 'brotli' is not one of "
                      "none, gzip, snappy, lz4, zstd\n");
    /* tls: the common table; librdkafka cannot override SNI, and trust is
     * decided in one place. */
    expect_init_error(f, "brokers: b:9092\ntopic: t\ntls:\n  server_name: k.example\n",
                      "test.yaml:4: outputs[2].tls.server_name: server_name is not "
                      "supported here: this peer's client (libcurl, librdkafka) sends and "
                      "verifies the host it connects to; put that name in the URL or "
                      "brokers list\n");
    expect_init_error(f, "brokers: b:9092\ntopic: t\ntls:\n  verify: true\nproperties:\n"
                         "  ssl.endpoint.identification.algorithm: none\n",
                      "test.yaml:6: outputs[2].properties.ssl.endpoint.identification."
                      "algorithm: set by tls: (ca_file, cert_file, key_file, verify); remove "
                      "this property or the tls: block\n");
}

/* tls: really switches the producer to TLS: against the plaintext mock the
 * handshake cannot succeed, so start's metadata round trip fails and names
 * the brokers (without tls: the same cluster answers, see the tests above). */
static void test_tls_block_speaks_tls(void **state)
{
    struct fx *f = *state;
    struct sf_buf errs;
    char yaml[512], errbuf[512];
    sf_err err;

    snprintf(yaml, sizeof(yaml),
             "name: kout\ntype: kafka\nbrokers: \"%s\"\ntopic: t\ntls:\n  verify: false\n",
             f->brokers);
    sf_buf_init(&errs, 65536);
    assert_int_equal(out_init(f, yaml, &errs), SF_OK);
    sf_buf_free(&errs);
    err = f->o.type->start(&f->o, errbuf, sizeof(errbuf));
    assert_true(err == SF_ERR_TIMEOUT || err == SF_ERR_NETWORK);
    assert_non_null(strstr(errbuf, "output kout: brokers "));
    assert_non_null(strstr(errbuf, "metadata request failed"));
}

/* librdkafka checks property combinations only in rd_kafka_new: start
 * reports its text. */
static void test_incompatible_properties_fail_start(void **state)
{
    struct fx *f = *state;
    struct sf_buf errs;
    char errbuf[512];
    const char *yaml = "brokers: b:9092\ntopic: t\nproperties:\n"
                       "  max.in.flight.requests.per.connection: 10\n";

    sf_buf_init(&errs, 65536);
    assert_int_equal(out_init(f, yaml, &errs), SF_OK);
    sf_buf_free(&errs);
    assert_int_equal(f->o.type->start(&f->o, errbuf, sizeof(errbuf)), SF_ERR_CONFIG);
    assert_string_equal(errbuf, "output kout: kafka producer: "
                                "`max.in.flight` must be set <= 5 when "
                                "`enable.idempotence` is true");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delivers_1000_from_3_tenants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_topic_template_per_tenant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_topic_template_tenant_name_and_bad_tenant, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_injected_produce_errors_still_delivered_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_broker_down_then_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_leader_gives_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_too_large_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fatal_error_then_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_property_fails_init_with_file_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_block_speaks_tls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incompatible_properties_fail_start, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
