/* bench_syslog.c - throughput of the syslog output through the sf_output
 * interface (init/start/send/flush/destroy), as the pipeline drives it: N
 * pre-rendered ~1 KB CEF records (default 100,000) in batches (default 500),
 * send + flush per batch, DELIVERED verdicts counted. Prints records/s, MB/s
 * of record bytes, and the process CPU time. Numbers, no asserts; the
 * receiver (rsyslogd, see syslog_bench.sh) is started by the caller.
 * -y FILE drives any output type from a YAML file instead (hec_tls_bench.sh).
 * Usage: bench_syslog -a HOST:PORT [-t tcp|tls] [-c CA_FILE] [-f lf|octet-counting]
 *                     [-H rfc5424|rfc3164|none] [-n RECORDS] [-b BATCH] [-l LABEL]
 *        bench_syslog -y OUTPUT.yaml [-n RECORDS] [-b BATCH] [-l LABEL] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sf_output.h"
#include "sf_yaml.h"

#define RECLEN 1024

struct opts {
    const char *address, *transport, *ca_file, *framing, *header, *yaml_file, *label;
    size_t n, batch;
};

struct tally {
    size_t verdicts[SF_V_FATAL + 1];
    char reason[256];   /* first reason of a verdict other than DELIVERED */
};

static void on_verdict(void *opaque, uint64_t id, enum sf_verdict v, const char *reason)
{
    struct tally *t = opaque;
    (void)id;
    t->verdicts[v]++;
    if (v != SF_V_DELIVERED && !t->reason[0])
        snprintf(t->reason, sizeof(t->reason), "%s: %s", sf_verdict_name(v),
                 reason ? reason : "");
}

static double clock_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* n CEF records of exactly RECLEN bytes each, no LF, unique externalId. */
static char *render_records(size_t n, struct sf_msg *msgs)
{
    static const char pad[] = "abcdefghij klmnopqrstuvwxyz0123456789";
    char *all = malloc(n * (RECLEN + 1));
    if (!all)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char *d = all + i * (RECLEN + 1);
        int k = snprintf(d, RECLEN, "CEF:0|Microsoft|Microsoft Defender for Endpoint|1.0|"
                         "SuspiciousActivity|Suspicious PowerShell command line|8|"
                         "externalId=da%08zu cs1Label=tenant cs1=t%zu "
                         "dhost=host%zu.contoso.local duser=CONTOSO\\\\user%zu msg=",
                         i, i % 50, i % 1000, i % 300);
        for (; k < RECLEN; k++)
            d[k] = pad[(i + (size_t)k) % (sizeof(pad) - 1)];
        d[k] = '\0';
        msgs[i] = (struct sf_msg){ .data = d, .len = RECLEN, .tenant = "t1",
                                   .tenant_id = "00000000-0000-0000-0000-000000000001",
                                   .alert_id = "da", .time_ms = 1714644672000LL + (int64_t)i,
                                   .id = i };
    }
    return all;
}

/* The output's YAML: the -y file, or a syslog config built from the options. */
static char *config_text(const struct opts *op)
{
    char *text = NULL;
    size_t cap = 0, len = 0;

    if (op->yaml_file) {
        FILE *f = fopen(op->yaml_file, "rb");
        if (!f)
            return NULL;
        for (;;) {
            if (len + 4097 > cap) {
                char *p = realloc(text, cap = cap * 2 + 8192);
                if (!p)
                    break;
                text = p;
            }
            size_t r = fread(text + len, 1, 4096, f);
            if (!r)
                break;
            len += r;
        }
        fclose(f);
        if (text)
            text[len] = '\0';
        return text;
    }
    text = malloc(cap = 2048);
    if (!text)
        return NULL;
    len = (size_t)snprintf(text, cap, "type: syslog\naddress: \"%s\"\ntransport: %s\n"
                           "header: %s\n", op->address, op->transport, op->header);
    if (op->framing)
        len += (size_t)snprintf(text + len, cap - len, "framing: %s\n", op->framing);
    if (op->ca_file)
        snprintf(text + len, cap - len, "tls:\n  ca_file: \"%s\"\n", op->ca_file);
    return text;
}

static int open_output(const struct opts *op, struct sf_doc **doc, struct sf_output *o)
{
    char errbuf[512];
    char *yaml = config_text(op);
    struct sf_buf errs;
    const struct sf_node *type;
    int rc = 1;

    if (!yaml) {
        fprintf(stderr, "bench_syslog: cannot read the output config\n");
        return 1;
    }
    sf_buf_init(&errs, 0);
    if (sf_yaml_load_string("bench.yaml", yaml, strlen(yaml), doc, errbuf, sizeof(errbuf))) {
        fprintf(stderr, "bench_syslog: %s\n", errbuf);
        goto out;
    }
    type = *doc ? sf_node_get((*doc)->root, "type") : NULL;
    o->type = sf_output_type_find(type && type->type == SF_NODE_SCALAR ? type->str : "");
    o->name = "bench";
    if (!o->type || o->type->init(o, (*doc)->root, "outputs[0]", &errs)) {
        fprintf(stderr, "bench_syslog: init: %s\n", errs.data ? errs.data : "unknown type");
        goto out;
    }
    rc = 0;
out:
    sf_buf_free(&errs);
    free(yaml);
    return rc;
}

static int bench(const struct opts *op, struct sf_msg *msgs)
{
    char errbuf[512];
    struct sf_doc *doc = NULL;
    struct sf_output o = { 0 };
    struct tally t = { { 0 }, "" };
    size_t bytes = (size_t)RECLEN * op->n, left = 0;
    double t0, ts, dt, cpu0, cpu;
    int rc = 1;

    o.verdict = on_verdict;
    o.verdict_opaque = &t;
    if (open_output(op, &doc, &o))
        goto out;
    cpu0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    t0 = clock_s(CLOCK_MONOTONIC);
    if (o.type->start(&o, errbuf, sizeof(errbuf))) {
        fprintf(stderr, "bench_syslog: start: %s\n", errbuf);
        o.type->destroy(&o);
        goto out;
    }
    ts = clock_s(CLOCK_MONOTONIC);
    for (size_t i = 0; i < op->n; i += op->batch) {
        size_t k = op->n - i < op->batch ? op->n - i : op->batch;
        o.type->send(&o, msgs + i, k);
        left += o.type->flush(&o, 60000);
    }
    dt = clock_s(CLOCK_MONOTONIC) - ts;
    cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
    printf("%-24s %zu records x %d B, batch %zu: start %.3f s, send+flush %.3f s, "
           "%.0f records/s, %.1f MB/s, cpu %.3f s (%.1f us/record); delivered %zu, "
           "other %zu, unfinished %zu\n",
           op->label, op->n, RECLEN, op->batch, ts - t0, dt, (double)op->n / dt,
           (double)bytes / dt / 1e6, cpu, cpu * 1e6 / (double)op->n,
           t.verdicts[SF_V_DELIVERED], op->n - t.verdicts[SF_V_DELIVERED] - left, left);
    if (t.reason[0])
        printf("  first non-delivered verdict: %s\n", t.reason);
    rc = t.verdicts[SF_V_DELIVERED] == op->n ? 0 : 1;
    o.type->destroy(&o);
out:
    sf_doc_free(doc);
    return rc;
}

static int parse_opts(int argc, char **argv, struct opts *op)
{
    int c;
    *op = (struct opts){ .transport = "tcp", .header = "rfc5424", .n = 100000, .batch = 500 };
    while ((c = getopt(argc, argv, "a:t:c:f:H:n:b:l:y:")) != -1) {
        switch (c) {
        case 'a': op->address = optarg; break;
        case 't': op->transport = optarg; break;
        case 'c': op->ca_file = optarg; break;
        case 'f': op->framing = optarg; break;
        case 'H': op->header = optarg; break;
        case 'n': op->n = (size_t)strtoul(optarg, NULL, 10); break;
        case 'b': op->batch = (size_t)strtoul(optarg, NULL, 10); break;
        case 'l': op->label = optarg; break;
        case 'y': op->yaml_file = optarg; break;
        default: return -1;
        }
    }
    if ((!op->address && !op->yaml_file) || !op->n || !op->batch)
        return -1;
    if (!op->label)
        op->label = op->yaml_file ? op->yaml_file : op->transport;
    return 0;
}

int main(int argc, char **argv)
{
    struct opts op;
    struct sf_msg *msgs;
    char *data;
    int rc;

    if (parse_opts(argc, argv, &op)) {
        fprintf(stderr, "usage: bench_syslog -a HOST:PORT [-t tcp|tls] [-c CA_FILE] "
                "[-f lf|octet-counting] [-H rfc5424|rfc3164|none] [-n RECORDS] [-b BATCH] "
                "[-l LABEL]\n       bench_syslog -y OUTPUT.yaml [-n RECORDS] [-b BATCH] "
                "[-l LABEL]\n");
        return 2;
    }
    msgs = calloc(op.n, sizeof(*msgs));
    data = msgs ? render_records(op.n, msgs) : NULL;
    if (!data) {
        fprintf(stderr, "bench_syslog: out of memory\n");
        free(msgs);
        return 1;
    }
    rc = bench(&op, msgs);
    free(data);
    free(msgs);
    return rc;
}
