/* kafka_mock.c - test tool: runs librdkafka's mock cluster (3 brokers by
 * default) on 127.0.0.1, prints "READY bootstrap=<servers>", serves until
 * stdin reaches EOF or SIGTERM/SIGINT, then reads every message of the
 * --topic names (or ^regex) from the beginning and writes "key<TAB>value"
 * lines to --dump. Named topics are created before READY, with --partitions
 * partitions or NAME:P (cluster tests pre-create their tenants and cursors
 * topics: the mock ignores topic configs and times out on CreateTopics
 * with configs). Does not check what it reads (the calling test does).
 * Owns the cluster, the consumer and the dump file. */
#include <errno.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MAX_TOPICS 32
#define DUMP_TIMEOUT_MS 120000

struct opts {
    int brokers;
    int partitions;
    const char *topics[MAX_TOPICS];   /* names without ":P" */
    int topic_parts[MAX_TOPICS];      /* P from NAME:P, else 0 (--partitions) */
    int ntopics;
    const char *dump;
};

struct part {
    const char *topic;   /* borrowed from the metadata */
    int32_t id;
    int64_t high;        /* high watermark when the dump started */
    int64_t next;        /* next offset expected */
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: kafka_mock [--brokers N] [--partitions N] "
            "[--topic NAME[:P]|^REGEX]... [--dump FILE]\n"
            "  creates the named topics (P partitions, default --partitions), prints\n"
            "  READY bootstrap=<servers>; on stdin EOF or SIGTERM dumps every\n"
            "  message of the topics as key<TAB>value lines to FILE and exits\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){ .brokers = 3, .partitions = 4 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            usage();
            return -1;
        }
        if (strcmp(a, "--brokers") == 0)
            o->brokers = atoi(v);
        else if (strcmp(a, "--partitions") == 0)
            o->partitions = atoi(v);
        else if (strcmp(a, "--dump") == 0)
            o->dump = v;
        else if (strcmp(a, "--topic") == 0 && o->ntopics < MAX_TOPICS) {
            char *colon = v[0] != '^' ? strrchr(v, ':') : NULL;
            if (colon) {
                *colon = '\0';   /* argv is ours to change */
                o->topic_parts[o->ntopics] = atoi(colon + 1);
                if (o->topic_parts[o->ntopics] < 1) {
                    usage();
                    return -1;
                }
            }
            o->topics[o->ntopics++] = v;
        } else {
            usage();
            return -1;
        }
        i++;
    }
    if (o->brokers < 1 || o->partitions < 1) {
        usage();
        return -1;
    }
    return 0;
}

static rd_kafka_t *new_handle(rd_kafka_type_t type, const char *bootstrap)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    struct { const char *k, *v; } props[] = {
        { "log_level", "3" },
        { "bootstrap.servers", bootstrap },
        { "group.id", "kafka_mock_dump" },
        { "enable.auto.commit", "false" },
        { "enable.partition.eof", "true" },
        { "auto.offset.reset", "earliest" },
    };
    size_t n = type == RD_KAFKA_CONSUMER ? sizeof(props) / sizeof(props[0]) : 1;
    for (size_t i = 0; i < n; i++) {
        if (rd_kafka_conf_set(conf, props[i].k, props[i].v, errstr, sizeof(errstr))
            != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "kafka_mock: %s: %s\n", props[i].k, errstr);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (!rk)
        fprintf(stderr, "kafka_mock: rd_kafka_new: %s\n", errstr);
    return rk;
}

/* Serve until stdin EOF or a signal. */
static void serve(void)
{
    char buf[512];
    struct pollfd pfd = { .fd = 0, .events = POLLIN };

    while (!stop_flag) {
        int r = poll(&pfd, 1, 200);
        if (r < 0 && errno != EINTR)
            return;
        if (r > 0) {
            ssize_t got = read(0, buf, sizeof(buf));
            if (got <= 0 && !(got < 0 && errno == EINTR))
                return;
        }
    }
}

static int topic_wanted(const struct opts *o, const char *name)
{
    for (int i = 0; i < o->ntopics; i++) {
        const char *t = o->topics[i];
        if (t[0] != '^') {
            if (strcmp(t, name) == 0)
                return 1;
            continue;
        }
        regex_t re;
        if (regcomp(&re, t, REG_EXTENDED | REG_NOSUB) != 0) {
            fprintf(stderr, "kafka_mock: bad regex %s\n", t);
            continue;
        }
        int ok = regexec(&re, name, 0, NULL, 0) == 0;
        regfree(&re);
        if (ok)
            return 1;
    }
    return 0;
}

/* Partitions of the wanted topics that hold messages; *nparts set. */
static struct part *collect_parts(rd_kafka_t *rk, const struct opts *o,
                                  const struct rd_kafka_metadata *md, size_t *nparts)
{
    size_t cap = 0, n = 0;
    for (int t = 0; t < md->topic_cnt; t++)
        cap += (size_t)md->topics[t].partition_cnt;
    struct part *p = calloc(cap ? cap : 1, sizeof(*p));
    if (!p)
        return NULL;
    for (int t = 0; t < md->topic_cnt; t++) {
        const rd_kafka_metadata_topic_t *mt = &md->topics[t];
        if (!topic_wanted(o, mt->topic))
            continue;
        for (int k = 0; k < mt->partition_cnt; k++) {
            int64_t lo = 0, hi = 0;
            rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
                rk, mt->topic, mt->partitions[k].id, &lo, &hi, 10000);
            if (e) {
                fprintf(stderr, "kafka_mock: watermarks %s[%d]: %s\n", mt->topic,
                        mt->partitions[k].id, rd_kafka_err2str(e));
                free(p);
                return NULL;
            }
            if (hi > lo)
                p[n++] = (struct part){ mt->topic, mt->partitions[k].id, hi, lo };
        }
    }
    *nparts = n;
    return p;
}

static struct part *find_part(struct part *p, size_t n, const char *topic, int32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (p[i].id == id && strcmp(p[i].topic, topic) == 0)
            return &p[i];
    return NULL;
}

static void write_msg(FILE *f, const rd_kafka_message_t *m)
{
    if (m->key)
        fwrite(m->key, 1, m->key_len, f);
    fputc('\t', f);
    if (m->payload)
        fwrite(m->payload, 1, m->len, f);
    fputc('\n', f);
}

/* Consume every assigned partition up to its high watermark. */
static int consume_all(rd_kafka_t *rk, struct part *p, size_t n, FILE *out, long *count)
{
    size_t left = 0;
    for (size_t i = 0; i < n; i++)
        left += p[i].next < p[i].high;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (left) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - t0.tv_sec) * 1000 > DUMP_TIMEOUT_MS) {
            fprintf(stderr, "kafka_mock: %zu partitions not read to the end in time\n", left);
            return -1;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        if (!m)
            continue;
        struct part *pp = m->rkt ? find_part(p, n, rd_kafka_topic_name(m->rkt),
                                             m->partition) : NULL;
        if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            fprintf(stderr, "kafka_mock: consumer: %s\n", rd_kafka_message_errstr(m));
        if (!m->err && pp && m->offset >= pp->next && m->offset < pp->high) {
            write_msg(out, m);
            (*count)++;
        }
        if (pp && pp->next < pp->high && (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF ||
                                         (!m->err && m->offset + 1 >= pp->high))) {
            pp->next = pp->high;
            left--;
        } else if (pp && !m->err && m->offset >= pp->next) {
            pp->next = m->offset + 1;
        }
        rd_kafka_message_destroy(m);
    }
    return 0;
}

static int assign_parts(rd_kafka_t *rk, const struct part *p, size_t n)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(l, p[i].topic, p[i].id)->offset = p[i].next;
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        fprintf(stderr, "kafka_mock: assign: %s\n", rd_kafka_err2str(e));
    return e ? -1 : 0;
}

static int dump(const struct opts *o, const char *bootstrap)
{
    const struct rd_kafka_metadata *md = NULL;
    struct part *parts = NULL;
    size_t nparts = 0;
    long count = 0;
    int rc = -1;
    FILE *out = fopen(o->dump, "w");
    rd_kafka_t *rk = out ? new_handle(RD_KAFKA_CONSUMER, bootstrap) : NULL;

    if (!out)
        fprintf(stderr, "kafka_mock: %s: %s\n", o->dump, strerror(errno));
    if (!rk)
        goto out;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, 10000);
    if (e) {
        fprintf(stderr, "kafka_mock: metadata: %s\n", rd_kafka_err2str(e));
        goto out;
    }
    parts = collect_parts(rk, o, md, &nparts);
    if (!parts || (nparts && assign_parts(rk, parts, nparts) != 0))
        goto out;
    if (consume_all(rk, parts, nparts, out, &count) != 0)
        goto out;
    fprintf(stderr, "kafka_mock: %ld messages from %zu partitions written to %s\n", count,
            nparts, o->dump);
    rc = 0;
out:
    free(parts);
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    if (out && fclose(out) != 0)
        rc = -1;
    return rc;
}

int main(int argc, char **argv)
{
    struct opts o;
    struct sigaction sa = { .sa_handler = on_signal };
    int rc = 1;

    if (parse_args(argc, argv, &o) != 0)
        return 2;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    rd_kafka_t *host = new_handle(RD_KAFKA_PRODUCER, "");
    rd_kafka_mock_cluster_t *mc = host ? rd_kafka_mock_cluster_new(host, o.brokers) : NULL;
    if (!mc) {
        fprintf(stderr, "kafka_mock: cannot create the mock cluster\n");
        goto out;
    }
    int rf = o.brokers < 3 ? o.brokers : 3;
    for (int i = 0; i < o.ntopics; i++)
        if (o.topics[i][0] != '^' &&
            rd_kafka_mock_topic_create(mc, o.topics[i],
                                       o.topic_parts[i] ? o.topic_parts[i] : o.partitions,
                                       rf) != 0)
            fprintf(stderr, "kafka_mock: cannot create topic %s\n", o.topics[i]);
    char *bootstrap = strdup(rd_kafka_mock_cluster_bootstraps(mc));
    printf("READY bootstrap=%s\n", bootstrap ? bootstrap : "");
    fflush(stdout);
    serve();
    rc = bootstrap && (!o.dump || dump(&o, bootstrap) == 0) ? 0 : 1;
    free(bootstrap);
out:
    if (mc)
        rd_kafka_mock_cluster_destroy(mc);
    if (host)
        rd_kafka_destroy(host);
    return rc;
}
