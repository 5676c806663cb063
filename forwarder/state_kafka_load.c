/* state_kafka_load.c - reads partitions of the cursors topic from the
 * beginning to their high watermark with a plain (non-group) consumer:
 * assign + query watermarks, Kafka Connect's rule for its offset topic.
 * Keeps the last record per key, as compaction would (the mock cluster does
 * not compact): a tombstone removes the key, and so does a record that does
 * not parse (logged with its key), so that cursor restarts from start_from. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_clock.h"
#include "sf_log.h"
#include "state_kafka_priv.h"

#define KEY_MAX 512

struct lpart {
    int32_t part;
    int64_t hi;           /* read up to (not including) this offset */
    int64_t next;         /* next offset expected */
};

static long left_ms(int64_t deadline)
{
    int64_t l = deadline - sf_mono_ms();
    return l > 0 ? (long)l : 0;
}

/* One record into m: the last one per key wins. */
static void apply(struct kmap *m, const rd_kafka_message_t *msg)
{
    char key[KEY_MAX], why[200];
    size_t klen = msg->key_len < sizeof(key) - 1 ? msg->key_len : sizeof(key) - 1;

    if (!msg->key || msg->key_len == 0 || msg->key_len >= sizeof(key)) {
        sf_warn(NULL, NULL, "state: cursors record at partition %" PRId32 " offset %" PRId64
                " has %s key: skipped", msg->partition, msg->offset,
                msg->key ? "an oversized" : "no");
        return;
    }
    memcpy(key, msg->key, klen);
    key[klen] = '\0';
    if (strlen(key) != klen || !strchr(key, '/')) {
        sf_warn(NULL, NULL, "state: cursors record key \"%s\" (partition %" PRId32 " offset %"
                PRId64 ") is not tenant/output: skipped", key, msg->partition, msg->offset);
        return;
    }
    kmap_del(m, key);
    if (!msg->payload)
        return; /* tombstone: the key is gone */
    struct kcur *k = kmap_put(m, key, msg->partition);
    if (!k) {
        sf_error(NULL, NULL, "state: out of memory loading cursor %s", key);
        return;
    }
    sf_err err = kcur_decode(k, msg->payload, msg->len, why, sizeof(why));
    if (err) {
        kmap_del(m, key);
        sf_error(NULL, NULL, "state: cursor record for key %s (partition %" PRId32
                 " offset %" PRId64 ") does not parse: %s; skipped, that cursor restarts from"
                 " start_from", key, msg->partition, msg->offset,
                 err == SF_ERR_NOMEM ? "out of memory" : why);
    }
}

/* Low/high watermarks of each partition; keeps those with records. */
static sf_err query(rd_kafka_t *rk, const char *topic, const int32_t *parts, size_t n,
                    int64_t deadline, struct lpart *lp, size_t *nlp, char *errbuf,
                    size_t errlen)
{
    *nlp = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topic, parts[i], &lo,
                                                                 &hi, left_ms(deadline));
        if (e) {
            sf_errf(errbuf, errlen, "state: %s partition %" PRId32 ": cannot read its"
                    " watermarks: %s", topic, parts[i], rd_kafka_err2str(e));
            return e == RD_KAFKA_RESP_ERR__TIMED_OUT ? SF_ERR_TIMEOUT : SF_ERR_NETWORK;
        }
        if (hi > lo)
            lp[(*nlp)++] = (struct lpart){ parts[i], hi, lo };
    }
    return SF_OK;
}

static int by_part(const void *a, const void *b)
{
    int32_t x = ((const struct lpart *)a)->part, y = ((const struct lpart *)b)->part;
    return (x > y) - (x < y);
}

static struct lpart *find(struct lpart *lp, size_t n, int32_t part)
{
    struct lpart want = { .part = part };
    return bsearch(&want, lp, n, sizeof(*lp), by_part);
}

static size_t pending(const struct lpart *lp, size_t n)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++)
        k += lp[i].next < lp[i].hi;
    return k;
}

/* Consume until every partition reached its high watermark. */
static sf_err drain(rd_kafka_t *rk, const char *topic, struct lpart *lp, size_t nlp,
                    int64_t deadline, struct kmap *m, size_t *nrecords, char *errbuf,
                    size_t errlen)
{
    char last[256] = "";

    while (pending(lp, nlp)) {
        if (left_ms(deadline) == 0) {
            sf_errf(errbuf, errlen, "state: %s: %zu partition(s) not read to their end in"
                    " time%s%s", topic, pending(lp, nlp), last[0] ? "; last error: " : "",
                    last);
            return SF_ERR_TIMEOUT;
        }
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 100);
        if (!msg)
            continue;
        if (msg->err) {
            if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                snprintf(last, sizeof(last), "%s", rd_kafka_message_errstr(msg));
        } else {
            struct lpart *p = find(lp, nlp, msg->partition);
            apply(m, msg);
            (*nrecords)++;
            if (p && msg->offset + 1 > p->next)
                p->next = msg->offset + 1;
        }
        rd_kafka_message_destroy(msg);
    }
    return SF_OK;
}

sf_err kload_read(rd_kafka_t *rk, const char *topic, const int32_t *parts, size_t n,
                  long timeout_ms, struct kmap *m, size_t *nrecords, char *errbuf,
                  size_t errlen)
{
    int64_t deadline = sf_mono_ms() + timeout_ms;
    struct lpart *lp = calloc(n ? n : 1, sizeof(*lp));
    rd_kafka_topic_partition_list_t *tl = NULL;
    size_t nlp = 0;
    sf_err err;

    *nrecords = 0;
    if (!lp)
        return SF_ERR_NOMEM;
    err = query(rk, topic, parts, n, deadline, lp, &nlp, errbuf, errlen);
    if (err || nlp == 0)
        goto out;
    qsort(lp, nlp, sizeof(*lp), by_part);
    if (!(tl = rd_kafka_topic_partition_list_new((int)nlp))) {
        err = SF_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < nlp; i++)
        rd_kafka_topic_partition_list_add(tl, topic, lp[i].part)->offset = lp[i].next;
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, tl);
    if (e) {
        sf_errf(errbuf, errlen, "state: %s: assign: %s", topic, rd_kafka_err2str(e));
        err = SF_ERR_NETWORK;
        goto out;
    }
    err = drain(rk, topic, lp, nlp, deadline, m, nrecords, errbuf, errlen);
    rd_kafka_assign(rk, NULL);
out:
    if (tl)
        rd_kafka_topic_partition_list_destroy(tl);
    free(lp);
    return err;
}
