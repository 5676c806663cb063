/* bench_kafka.c - throughput of the kafka output: 100,000 pre-rendered
 * ~1 KB CEF records from 3 tenants to librdkafka's mock cluster (3 brokers),
 * timed from the first send to the last delivery report. Prints numbers,
 * asserts nothing. Usage: bench_kafka [records] [compression] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "sf_output.h"

extern const struct sf_output_type sf_output_kafka;

#define BATCH 500
#define RECLEN 1024

static const char *const tenants[] = { "acme", "globex", "initech" };

struct tally {
    size_t delivered, other;
};

static void on_verdict(void *opaque, uint64_t id, enum sf_verdict v, const char *reason)
{
    struct tally *t = opaque;

    if (v == SF_V_DELIVERED)
        t->delivered++;
    else
        t->other++;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A CEF record padded with a msg= text to exactly RECLEN bytes. */
static void render(size_t id, char *out)
{
    int n = snprintf(out, RECLEN + 1,
                     "CEF:0|Microsoft|Microsoft Defender XDR|2.0|DefenderAlert|Suspicious "
                     "PowerShell command line|8|rt=1700000000000 externalId=da%08zu "
                     "cs1Label=tenant cs1=%s dhost=host-%zu.contoso.local duser=CONTOSO\\\\user%zu "
                     "cat=Execution act=Detected msg=",
                     id, tenants[id % 3], id % 500, id % 97);

    for (size_t i = n > 0 ? (size_t)n : 0; i < RECLEN; i++)
        out[i] = (char)('a' + (i % 26));
    out[RECLEN] = '\0';
}

static int run(const char *brokers, size_t count, const char *codec)
{
    struct tally t = { 0, 0 };
    struct sf_output o = { .type = &sf_output_kafka, .name = "bench",
                           .verdict = on_verdict, .verdict_opaque = &t };
    char yaml[1024], errbuf[512] = "";
    struct sf_doc *doc = NULL;
    struct sf_buf errs;
    struct sf_msg *msgs = calloc(count, sizeof(*msgs));
    char *data = malloc(count * (RECLEN + 1));
    double t0, t1;
    int rc = 1;

    sf_buf_init(&errs, 65536);
    if (!msgs || !data)
        goto out;
    for (size_t i = 0; i < count; i++) {
        render(i, data + i * (RECLEN + 1));
        msgs[i] = (struct sf_msg){ .data = data + i * (RECLEN + 1), .len = RECLEN,
                                   .tenant = tenants[i % 3], .id = i };
    }
    snprintf(yaml, sizeof(yaml), "brokers: \"%s\"\ntopic: bench\ncompression: %s\n", brokers,
             codec);
    if (sf_yaml_load_string("bench.yaml", yaml, strlen(yaml), &doc, errbuf, sizeof(errbuf)) ||
        o.type->init(&o, doc->root, "outputs[0]", &errs) != SF_OK) {
        fprintf(stderr, "init: %s%s\n", errbuf, errs.data ? errs.data : "");
        goto out;
    }
    if (o.type->start(&o, errbuf, sizeof(errbuf)) != SF_OK) {
        fprintf(stderr, "start: %s\n", errbuf);
        goto out;
    }
    t0 = now_s();
    for (size_t i = 0; i < count; i += BATCH) {
        o.type->send(&o, msgs + i, count - i < BATCH ? count - i : BATCH);
        o.type->poll(&o, 0);
    }
    while (o.type->flush(&o, 1000) > 0 && now_s() - t0 < 120)
        ;
    t1 = now_s();
    printf("kafka output, compression=%s: %zu records of %d bytes in %.2f s: "
           "%.0f records/s, %.1f MB/s (delivered %zu, other verdicts %zu)\n",
           codec, count, RECLEN, t1 - t0, (double)count / (t1 - t0),
           (double)count * RECLEN / (t1 - t0) / 1e6, t.delivered, t.other);
    rc = 0;
out:
    if (o.ctx)
        o.type->destroy(&o);
    sf_doc_free(doc);
    sf_buf_free(&errs);
    free(data);
    free(msgs);
    return rc;
}

int main(int argc, char **argv)
{
    size_t count = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    const char *codec = argc > 2 ? argv[2] : "lz4";
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_mock_cluster_t *mc;
    char errstr[256];
    rd_kafka_t *mrk;
    int rc;

    /* This handle only hosts the cluster: its "no bootstrap.servers" notice is noise. */
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    mrk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!mrk || !(mc = rd_kafka_mock_cluster_new(mrk, 3))) {
        fprintf(stderr, "mock cluster: %s\n", mrk ? "creation failed" : errstr);
        return 1;
    }
    rc = run(rd_kafka_mock_cluster_bootstraps(mc), count ? count : 1, codec);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mrk);
    return rc;
}
