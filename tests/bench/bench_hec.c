/* bench_hec.c - throughput of the HEC output against tests/emulator/hec_emu.py
 * (HTTP on loopback, --no-store): 100,000 pre-rendered ~1 KB records per
 * run, printed as records/s and MB/s of record bytes. Numbers, no asserts;
 * the emulator (Python) is usually the bottleneck, so read them as a floor.
 * Usage: bench_hec [records]   (SF_SOURCE_DIR = repo root, else from __FILE__) */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "sf_output.h"
#include "sf_yaml.h"

#define TOKEN "11111111-aaaa-4bbb-8ccc-00000000beef"
#define ACK_TOKEN "11111111-aaaa-4bbb-8ccc-00000000ac00"
#define RECORD_BYTES 1000

struct tally {
    size_t verdicts[SF_V_FATAL + 1];
};

static void on_verdict(void *opaque, uint64_t id, enum sf_verdict v, const char *reason)
{
    struct tally *t = opaque;
    (void)id;
    (void)reason;
    t->verdicts[v]++;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pid_t start_emu(const char *root, int *port)
{
    char script[600], line[64];
    int fds[2];
    size_t n = 0;
    pid_t pid;

    snprintf(script, sizeof(script), "%s/tests/emulator/hec_emu.py", root);
    if (pipe(fds) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/usr/bin/python3", "python3", script, "--no-store", "--exit-with-parent",
              "--ack-delay", "0.05", "--token", TOKEN, "--token", ACK_TOKEN ",ack",
              (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    while (n + 1 < sizeof(line)) {
        struct pollfd p = { fds[0], POLLIN, 0 };
        if (poll(&p, 1, 10000) <= 0 || read(fds[0], line + n, 1) != 1 || line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    close(fds[0]);
    if (sscanf(line, "READY port=%d", port) != 1) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

/* ~1 KB JSON alert-like records; odd ones CEF text (embedded as strings). */
static char *render_records(size_t n, struct sf_msg *msgs)
{
    char *all = malloc(n * (RECORD_BYTES + 1));
    if (!all)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char *d = all + i * (RECORD_BYTES + 1);
        int k = i % 2
            ? snprintf(d, RECORD_BYTES, "CEF:0|Microsoft|Microsoft Defender|1.0|Alert|"
                       "Suspicious PowerShell|7|externalId=da%zu cs1Label=tenant cs1=t%zu msg=",
                       i, i % 50)
            : snprintf(d, RECORD_BYTES, "{\"id\":\"da%zu\",\"tenant\":\"t%zu\",\"severity\":"
                       "\"high\",\"title\":\"Suspicious PowerShell\",\"description\":\"", i,
                       i % 50);
        for (; k < RECORD_BYTES - 2; k++)
            d[k] = "abcdefghij klmnopqrstuvwxyz0123456789"[(i + (size_t)k) % 37];
        if (i % 2 == 0)
            memcpy(d + k, "\"}", 2), k += 2;
        d[k] = '\0';
        msgs[i] = (struct sf_msg){ .data = d, .len = (size_t)k, .tenant = "t1",
                                   .tenant_id = "00000000-0000-0000-0000-000000000001",
                                   .alert_id = "da", .time_ms = 1714644672000LL + (int64_t)i,
                                   .id = i };
    }
    return all;
}

static int run(const char *label, const char *extra, const char *token, int port,
               struct sf_msg *msgs, size_t n)
{
    char yaml[512], errbuf[512];
    struct sf_doc *doc = NULL;
    struct sf_output o = { 0 };
    struct sf_buf errs;
    struct tally t = { { 0 } };
    size_t bytes = 0, left;
    double t0, dt;

    snprintf(yaml, sizeof(yaml), "type: hec\nurl: http://127.0.0.1:%d\ntoken: %s\n%s", port,
             token, extra);
    if (sf_yaml_load_string("bench.yaml", yaml, strlen(yaml), &doc, errbuf, sizeof(errbuf)))
        return fprintf(stderr, "%s\n", errbuf), 1;
    o.type = sf_output_type_find("hec");
    o.verdict = on_verdict;
    o.verdict_opaque = &t;
    sf_buf_init(&errs, 0);
    if (!o.type || o.type->init(&o, doc->root, "outputs[0]", &errs)) {
        fprintf(stderr, "init: %s\n", errs.data ? errs.data : "no hec type");
        sf_buf_free(&errs);
        sf_doc_free(doc);
        return 1;
    }
    sf_buf_free(&errs);
    if (o.type->start(&o, errbuf, sizeof(errbuf)))
        fprintf(stderr, "start: %s\n", errbuf);
    t0 = now_s();
    for (size_t i = 0; i < n; i += 500) {
        size_t k = n - i < 500 ? n - i : 500;
        o.type->send(&o, msgs + i, k);
        o.type->poll(&o, 0);
    }
    left = o.type->flush(&o, 60000);
    dt = now_s() - t0;
    for (size_t i = 0; i < n; i++)
        bytes += msgs[i].len;
    printf("%-22s %8zu records %6.2f s %9.0f records/s %7.1f MB/s  delivered %zu, other %zu,"
           " unfinished %zu\n", label, n, dt, (double)n / dt, (double)bytes / dt / 1e6,
           t.verdicts[SF_V_DELIVERED], n - t.verdicts[SF_V_DELIVERED] - left, left);
    o.type->destroy(&o);
    sf_doc_free(doc);
    return 0;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 100000;
    const char *root = getenv("SF_SOURCE_DIR");
    char guess[512];
    struct sf_msg *msgs = calloc(n ? n : 1, sizeof(*msgs));
    char *data = msgs ? render_records(n, msgs) : NULL;
    int port, rc = 0;
    pid_t pid;

    if (!root) {
        /* __FILE__ is .../tests/bench/bench_hec.c in a CMake build. */
        snprintf(guess, sizeof(guess), "%s", __FILE__);
        char *cut = strstr(guess, "/tests/bench/");
        if (cut)
            *cut = '\0';
        root = guess;
    }
    if (!data)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pid = start_emu(root, &port);
    if (pid < 0) {
        fprintf(stderr, "bench_hec: cannot start %s/tests/emulator/hec_emu.py\n", root);
        return 1;
    }
    rc |= run("gzip, ack off", "gzip: true\n", TOKEN, port, msgs, n);
    rc |= run("no gzip, ack off", "gzip: false\n", TOKEN, port, msgs, n);
    rc |= run("gzip, ack on", "gzip: true\nack: true\nack_poll_interval: 100ms\n",
              ACK_TOKEN, port, msgs, n);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    curl_global_cleanup();
    free(data);
    free(msgs);
    return rc;
}
