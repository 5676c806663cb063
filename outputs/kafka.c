/* kafka.c - the Kafka output (type: kafka): an idempotent librdkafka producer
 * keyed by tenant name, one verdict per record from its delivery report.
 * It does not retry, spool or render (the pipeline owns retry and cursors);
 * the producer handle and the config copy belong to this output's ctx. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "sf_clock.h"
#include "sf_conf.h"
#include "sf_log.h"
#include "sf_output.h"
#include "sf_tls_conf.h"

/* The message opaque carries the pipeline id as a pointer-sized integer. */
_Static_assert(sizeof(void *) >= sizeof(uint64_t), "msg id must fit a pointer");

#define TOPIC_MAX 249          /* Kafka's limit on topic names */
#define QUEUE_FULL_WAIT_MS 500 /* per send(): how long a full queue may block */
#define START_CHECK_MS 5000    /* start(): metadata round trip to the brokers */
#define DESTROY_FLUSH_MS 5000  /* destroy(): last chance for queued records */

struct kconf {
    struct sf_strlist brokers;
    const struct sf_node *topic;
    char *compression;
    long long delivery_timeout; /* ms */
    const struct sf_node *properties;
    const struct sf_node *tls;  /* bound by sf_tls_bind into kafka.tlsc */
};

struct kafka {
    struct sf_output *o;       /* borrowed: the instance owning this ctx */
    struct kconf c;
    struct sf_tls_conf tlsc;   /* owned: `tls:` (the one table, sf_tls_conf.h) */
    char *topic;               /* owned: topic name or template */
    int templated;             /* topic contains ${tenant} / ${tenant.name} */
    rd_kafka_conf_t *kconf;    /* owned: duplicated for every rd_kafka_new */
    rd_kafka_t *rk;            /* owned, from start() on */
    rd_kafka_topic_t *rkt;     /* owned: the fixed topic (not templated) */
    size_t inflight;           /* produced, delivery report not yet served */
    int closing;               /* destroy() runs: verdicts are suppressed */
};

static const char *const codecs[] = { "none", "gzip", "snappy", "lz4", "zstd", NULL };

static const struct sf_conf_entry table[] = {
    { "brokers", SF_CT_STRLIST, NULL, offsetof(struct kconf, brokers), 0, 0, NULL, 1,
      "bootstrap brokers, host:port (list or comma-separated)" },
    { "topic", SF_CT_NODE, NULL, offsetof(struct kconf, topic), 0, 0, NULL, 1,
      "topic name; ${tenant} or ${tenant.name} makes one topic per tenant" },
    { "compression", SF_CT_ENUM, "lz4", offsetof(struct kconf, compression), 0, 0,
      codecs, 0, "compression codec of produced batches" },
    { "delivery_timeout", SF_CT_DURATION, "120s", offsetof(struct kconf, delivery_timeout),
      1000, 86400000, NULL, 0,
      "time a record may spend in librdkafka (retries included) before RETRY" },
    { "properties", SF_CT_NODE, NULL, offsetof(struct kconf, properties), 0, 0, NULL, 0,
      "librdkafka properties (mapping), applied after the keys above" },
    { "tls", SF_CT_NODE, NULL, offsetof(struct kconf, tls), 0, 0, NULL, 0,
      "TLS to the brokers (the common tls: keys; server_name is not supported): "
      "security.protocol ssl and its ssl.* properties" },
    SF_CONF_END
};

/* Properties owned by a key above or by the delivery model: refused in
 * `properties:` so there is one source of truth. */
static const struct {
    const char *prop;
    const char *why;
} guarded[] = {
    { "bootstrap.servers", "set it with brokers:" },
    { "metadata.broker.list", "set it with brokers:" },
    { "compression.codec", "set it with compression:" },
    { "compression.type", "set it with compression:" },
    { "message.timeout.ms", "set it with delivery_timeout:" },
    { "delivery.timeout.ms", "set it with delivery_timeout:" },
};

/* Properties `tls:` sets: refused in `properties:` when tls: is given, so a
 * reader of the config sees one place that decides trust. */
static const char *const tls_props[] = {
    "ssl.ca.location", "ssl.certificate.location", "ssl.key.location",
    "enable.ssl.certificate.verification", "ssl.endpoint.identification.algorithm",
};

/* ---- logging ---------------------------------------------------------- */

static enum sf_log_level log_level_of(int syslog_level)
{
    if (syslog_level <= 3)
        return SF_LOG_ERROR;
    if (syslog_level == 4)
        return SF_LOG_WARN;
    return syslog_level == 7 ? SF_LOG_DEBUG : SF_LOG_INFO;
}

/* librdkafka's syslog-style levels onto the shared logger (which honours
 * log_level / log_format and is thread-safe: this runs on librdkafka's
 * threads). */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    const struct kafka *k = rd_kafka_opaque(rk);
    enum sf_log_level lv = log_level_of(level);

    if (sf_log_enabled(lv))
        sf_log(lv, NULL, k && k->o ? k->o->name : NULL, "librdkafka %s: %s", fac, buf);
}

/* ---- verdicts --------------------------------------------------------- */

/* Map a produce or delivery error to a verdict (reference §5.2): permanent
 * per-record errors are REJECTED, an idempotence fatal error is FATAL, all
 * else is RETRY (librdkafka already retried internally). */
static enum sf_verdict classify(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                char *reason, size_t len)
{
    char fatal[256];
    rd_kafka_resp_err_t ferr;

    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        reason[0] = '\0';
        return SF_V_DELIVERED;
    }
    ferr = rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
    if (ferr != RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__FATAL) {
        if (ferr == RD_KAFKA_RESP_ERR_NO_ERROR)
            snprintf(reason, len, "fatal producer error: %s", rd_kafka_err2str(err));
        else
            snprintf(reason, len, "fatal producer error: %s: %s", rd_kafka_err2str(ferr), fatal);
        return SF_V_FATAL;
    }
    snprintf(reason, len, "%s", rd_kafka_err2str(err));
    switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
        return SF_V_REJECTED;
    default:
        return SF_V_RETRY;
    }
}

static void report(struct kafka *k, uint64_t id, enum sf_verdict v, const char *reason)
{
    if (!k->closing && k->o->verdict)
        k->o->verdict(k->o->verdict_opaque, id, v, reason);
}

/* Exactly once per produced message, from rd_kafka_poll / rd_kafka_flush
 * on the pipeline's thread. */
static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct kafka *k = opaque;
    char reason[320];
    enum sf_verdict v;

    v = classify(rk, m->err, reason, sizeof(reason));
    if (k->inflight > 0)
        k->inflight--;
    report(k, (uint64_t)(uintptr_t)m->_private, v, v == SF_V_DELIVERED ? NULL : reason);
}

/* ---- init: keys, topic template, librdkafka conf ---------------------- */

static int topic_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

/* Length of the placeholder at p ("${tenant}" / "${tenant.name}"), or 0. */
static size_t placeholder_len(const char *p)
{
    if (strncmp(p, "${tenant}", 9) == 0)
        return 9;
    if (strncmp(p, "${tenant.name}", 14) == 0)
        return 14;
    return 0;
}

/* Expand the topic for tenant into out (TOPIC_MAX + 1 bytes). 0 ok, -1 if
 * the result is empty, too long or holds characters Kafka refuses. */
static int topic_expand(const char *tpl, const char *tenant, char *out)
{
    size_t n = 0, ph;

    for (const char *p = tpl; *p;) {
        const char *s = p;
        size_t len = 1;

        if ((ph = placeholder_len(p)) > 0) {
            s = tenant ? tenant : "";
            len = strlen(s);
            p += ph;
        } else {
            p++;
        }
        for (size_t i = 0; i < len; i++) {
            if (n >= TOPIC_MAX || !topic_char_ok(s[i]))
                return -1;
            out[n++] = s[i];
        }
    }
    out[n] = '\0';
    return (n == 0 || strcmp(out, ".") == 0 || strcmp(out, "..") == 0) ? -1 : 0;
}

static sf_err topic_compile(struct kafka *k, const char *path, struct sf_buf *errs)
{
    const struct sf_node *t = k->c.topic;
    char probe[TOPIC_MAX + 1], tpath[512];
    const char *bad;

    snprintf(tpath, sizeof(tpath), "%s.topic", path);
    if (t->type != SF_NODE_SCALAR || sf_node_is_null(t)) {
        sf_conf_error(errs, t, tpath, "must be a topic name, not a %s",
                      sf_node_is_null(t) ? "null" : sf_node_type_name(t));
        return SF_ERR_CONFIG;
    }
    for (const char *p = t->str; (bad = strstr(p, "${")) != NULL; p = bad + 2) {
        if (placeholder_len(bad) == 0) {
            sf_conf_error(errs, t, tpath,
                          "unknown placeholder in \"%s\" (allowed: ${tenant}, ${tenant.name})",
                          t->str);
            return SF_ERR_CONFIG;
        }
        k->templated = 1;
    }
    /* "x" stands in for any valid tenant name. */
    if (topic_expand(t->str, "x", probe) != 0) {
        sf_conf_error(errs, t, tpath,
                      "\"%s\" is not a valid topic name (1..249 of a-z A-Z 0-9 . _ -)", t->str);
        return SF_ERR_CONFIG;
    }
    k->topic = strdup(t->str);
    return k->topic ? SF_OK : SF_ERR_NOMEM;
}

static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                    char *errstr, size_t errlen)
{
    return rd_kafka_conf_set(conf, name, value, errstr, errlen) == RD_KAFKA_CONF_OK ? 0 : -1;
}

/* Settings of a reliable forwarder (reference §5.1); properties may tune
 * the rest but not idempotence or acks. */
static sf_err conf_defaults(struct kafka *k, char *errstr, size_t errlen)
{
    struct sf_buf brokers;
    char timeout[32];
    sf_err err = SF_ERR_CONFIG;

    sf_buf_init(&brokers, 64 * 1024);
    for (size_t i = 0; i < k->c.brokers.n; i++) {
        if ((i && sf_buf_addc(&brokers, ',') != SF_OK) ||
            sf_buf_adds(&brokers, k->c.brokers.v[i]) != SF_OK) {
            err = SF_ERR_NOMEM;
            goto out;
        }
    }
    snprintf(timeout, sizeof(timeout), "%lld", k->c.delivery_timeout);
    if (conf_set(k->kconf, "bootstrap.servers", brokers.data ? brokers.data : "", errstr, errlen) ||
        conf_set(k->kconf, "enable.idempotence", "true", errstr, errlen) ||
        conf_set(k->kconf, "acks", "all", errstr, errlen) ||
        conf_set(k->kconf, "compression.codec", k->c.compression, errstr, errlen) ||
        conf_set(k->kconf, "message.timeout.ms", timeout, errstr, errlen) ||
        conf_set(k->kconf, "linger.ms", "10", errstr, errlen) ||
        conf_set(k->kconf, "socket.keepalive.enable", "true", errstr, errlen) ||
        conf_set(k->kconf, "client.id", "siemfwd", errstr, errlen))
        goto out;
    err = SF_OK;
out:
    sf_buf_free(&brokers);
    return err;
}

/* `tls:` as librdkafka properties: TLS to every broker, the CA file instead
 * of the system store (ssl.ca.location), a client certificate, and
 * verification of chain and host name unless verify: false. */
static sf_err conf_tls(struct kafka *k, char *errstr, size_t errlen)
{
    const struct sf_tls_conf *t = &k->tlsc;

    if (!k->c.tls)
        return SF_OK;
    if (conf_set(k->kconf, "security.protocol", "ssl", errstr, errlen) ||
        (t->ca_file && conf_set(k->kconf, "ssl.ca.location", t->ca_file, errstr, errlen)) ||
        (t->cert_file &&
         conf_set(k->kconf, "ssl.certificate.location", t->cert_file, errstr, errlen)) ||
        (t->key_file && conf_set(k->kconf, "ssl.key.location", t->key_file, errstr, errlen)) ||
        conf_set(k->kconf, "enable.ssl.certificate.verification",
                 t->verify ? "true" : "false", errstr, errlen) ||
        conf_set(k->kconf, "ssl.endpoint.identification.algorithm",
                 t->verify ? "https" : "none", errstr, errlen))
        return SF_ERR_CONFIG;
    return SF_OK;
}

/* Why a property may not be set (NULL if it may), given its value. */
static const char *property_refused(const struct kafka *k, const char *name,
                                    const char *value)
{
    for (size_t i = 0; i < sizeof(guarded) / sizeof(guarded[0]); i++)
        if (strcmp(name, guarded[i].prop) == 0)
            return guarded[i].why;
    for (size_t i = 0; k->c.tls && i < sizeof(tls_props) / sizeof(tls_props[0]); i++)
        if (strcmp(name, tls_props[i]) == 0)
            return "set by tls: (ca_file, cert_file, key_file, verify); "
                   "remove this property or the tls: block";
    if (strcmp(name, "enable.idempotence") == 0 && strcasecmp(value, "true") != 0)
        return "the kafka output always uses the idempotent producer "
               "(no duplicates or reordering on retries); remove this property";
    if ((strcmp(name, "acks") == 0 || strcmp(name, "request.required.acks") == 0) &&
        strcasecmp(value, "all") != 0 && strcmp(value, "-1") != 0)
        return "a record counts as delivered only when all in-sync replicas have it "
               "(acks=all); remove this property";
    return NULL;
}

/* Set one property; problems become "FILE:LINE: path: text" lines, with
 * librdkafka's own text for unknown properties and bad values. */
static int property_set(struct kafka *k, const struct sf_node *key, const struct sf_node *val,
                        const char *value, const char *path, struct sf_buf *errs)
{
    char kpath[512], errstr[512];
    const char *why;
    rd_kafka_conf_res_t res;

    snprintf(kpath, sizeof(kpath), "%s.properties.%s", path, key->str);
    if (!value) {
        sf_conf_error(errs, key, kpath, "needs a value");
        return -1;
    }
    if ((why = property_refused(k, key->str, value)) != NULL) {
        sf_conf_error(errs, key, kpath, "%s", why);
        return -1;
    }
    res = rd_kafka_conf_set(k->kconf, key->str, value, errstr, sizeof(errstr));
    if (res != RD_KAFKA_CONF_OK) {
        sf_conf_error(errs, res == RD_KAFKA_CONF_UNKNOWN ? key : val, kpath, "%s", errstr);
        return -1;
    }
    return 0;
}

/* Values are bound as secrets (one table entry per property), so they may
 * use ${ENV} and file:/path like every other value, e.g. sasl.password. */
static sf_err conf_properties(struct kafka *k, const char *path, struct sf_buf *errs)
{
    const struct sf_node *props = k->c.properties;
    struct sf_conf_entry *ptab = NULL;
    char **vals = NULL, ppath[512];
    sf_err err = SF_ERR_NOMEM;

    if (!props || sf_node_is_null(props))
        return SF_OK;
    snprintf(ppath, sizeof(ppath), "%s.properties", path);
    if (props->type != SF_NODE_MAP) {
        sf_conf_error(errs, props, ppath,
                      "must be a mapping of librdkafka properties, not a %s",
                      sf_node_type_name(props));
        return SF_ERR_CONFIG;
    }
    ptab = calloc(props->n + 1, sizeof(*ptab));
    vals = calloc(props->n + 1, sizeof(*vals));
    if (!ptab || !vals)
        goto out;
    for (size_t i = 0; i < props->n; i++) {
        ptab[i].key = props->keys[i]->str;
        ptab[i].type = SF_CT_SECRET;
        ptab[i].offset = i * sizeof(char *);
    }
    if ((err = sf_conf_bind(props, ppath, ptab, NULL, vals, errs)) != SF_OK)
        goto out;
    for (size_t i = 0; i < props->n; i++)
        if (property_set(k, props->keys[i], props->items[i], vals[i], path, errs) != 0)
            err = SF_ERR_CONFIG;
out:
    if (ptab && vals)
        sf_conf_release(ptab, vals);
    free(ptab);
    free(vals);
    return err;
}

static void kafka_free(struct kafka *k)
{
    if (!k)
        return;
    if (k->rkt)
        rd_kafka_topic_destroy(k->rkt);
    if (k->rk)
        rd_kafka_destroy(k->rk);
    if (k->kconf)
        rd_kafka_conf_destroy(k->kconf);
    sf_conf_release(table, &k->c);
    sf_tls_release(&k->tlsc);
    free(k->topic);
    free(k);
}

static sf_err kafka_init(struct sf_output *o, const struct sf_node *cfg, const char *path,
                         struct sf_buf *errs)
{
    struct kafka *k = calloc(1, sizeof(*k));
    char errstr[512];
    sf_err err = SF_ERR_NOMEM;

    if (!k)
        goto out;
    k->o = o;
    if ((err = sf_conf_bind(cfg, path, table, sf_output_common_keys, &k->c, errs)) != SF_OK)
        goto out;
    if ((err = topic_compile(k, path, errs)) != SF_OK)
        goto out;
    if (k->c.tls) {
        struct sf_tls_bind_opts to = { .who = o->name, .no_server_name = 1 };
        if ((err = sf_tls_bind(cfg, path, &to, &k->tlsc, errs)) != SF_OK)
            goto out;
    }
    err = SF_ERR_NOMEM;
    if (!(k->kconf = rd_kafka_conf_new()))
        goto out;
    if ((err = conf_defaults(k, errstr, sizeof(errstr))) != SF_OK) {
        if (err == SF_ERR_CONFIG)
            sf_conf_error(errs, cfg, path, "%s", errstr);
        goto out;
    }
    if ((err = conf_tls(k, errstr, sizeof(errstr))) != SF_OK) {
        if (err == SF_ERR_CONFIG)
            sf_conf_error(errs, k->c.tls, path, "tls: %s", errstr);
        goto out;
    }
    if ((err = conf_properties(k, path, errs)) != SF_OK)
        goto out;
    rd_kafka_conf_set_opaque(k->kconf, k);
    rd_kafka_conf_set_dr_msg_cb(k->kconf, dr_msg_cb);
    rd_kafka_conf_set_log_cb(k->kconf, log_cb);
    o->ctx = k;
    k = NULL; /* owned by o->ctx now */
out:
    kafka_free(k);
    return err;
}

/* ---- start / send / poll / flush / destroy ---------------------------- */

/* Give every outstanding record its verdict and drop the handle (used when a
 * fatal error made the producer unusable, before a fresh one is built). */
static void handle_drop(struct kafka *k, int flush_ms)
{
    if (!k->rk)
        return;
    rd_kafka_flush(k->rk, flush_ms);
    rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    /* Purged records come back through dr_msg_cb (as RETRY, or FATAL after
     * a fatal error); serve them before the handle goes. */
    for (int i = 0; k->inflight > 0 && i < 100; i++)
        rd_kafka_poll(k->rk, 10);
    if (k->rkt)
        rd_kafka_topic_destroy(k->rkt);
    k->rkt = NULL;
    rd_kafka_destroy(k->rk);
    k->rk = NULL;
    k->inflight = 0;
}

static sf_err handle_new(struct kafka *k, char *errbuf, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_dup(k->kconf);
    char errstr[512];

    if (!conf)
        return SF_ERR_NOMEM;
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!k->rk) {
        rd_kafka_conf_destroy(conf); /* still ours when rd_kafka_new fails */
        sf_errf(errbuf, errlen, "output %s: kafka producer: %s", k->o->name, errstr);
        return SF_ERR_CONFIG;
    }
    if (!k->templated && !(k->rkt = rd_kafka_topic_new(k->rk, k->topic, NULL))) {
        sf_errf(errbuf, errlen, "output %s: topic %s: %s", k->o->name, k->topic,
                rd_kafka_err2str(rd_kafka_last_error()));
        rd_kafka_destroy(k->rk);
        k->rk = NULL;
        return SF_ERR_CONFIG;
    }
    return SF_OK;
}

static sf_err kafka_start(struct sf_output *o, char *errbuf, size_t errlen)
{
    struct kafka *k = o->ctx;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t kerr;
    char fatal[256];
    sf_err err;

    if (k->rk && rd_kafka_fatal_error(k->rk, fatal, sizeof(fatal)) != RD_KAFKA_RESP_ERR_NO_ERROR)
        handle_drop(k, 0); /* reference §5.2: re-create after a fatal error */
    if (!k->rk && (err = handle_new(k, errbuf, errlen)) != SF_OK)
        return err;
    /* Health check: one metadata round trip; the producer itself keeps
     * reconnecting, so a failure here is only reported. */
    kerr = rd_kafka_metadata(k->rk, 0, k->rkt, &md, START_CHECK_MS);
    if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        sf_errf(errbuf, errlen, "output %s: brokers %s: metadata request failed: %s",
                o->name, k->c.brokers.n ? k->c.brokers.v[0] : "-", rd_kafka_err2str(kerr));
        return kerr == RD_KAFKA_RESP_ERR__TIMED_OUT ? SF_ERR_TIMEOUT : SF_ERR_NETWORK;
    }
    rd_kafka_metadata_destroy(md);
    return SF_OK;
}

static rd_kafka_resp_err_t produce(struct kafka *k, const struct sf_msg *msg, const char *topic)
{
    void *opaque = (void *)(uintptr_t)msg->id;
    size_t keylen = msg->tenant ? strlen(msg->tenant) : 0;

    /* No RD_KAFKA_V_TIMESTAMP(alert time): topic retention counts from the
     * record timestamp, and backfilled alerts may be days old. */
    if (k->rkt)
        return rd_kafka_producev(k->rk, RD_KAFKA_V_RKT(k->rkt),
                                 RD_KAFKA_V_KEY(msg->tenant, keylen),
                                 RD_KAFKA_V_VALUE((void *)msg->data, msg->len),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    return rd_kafka_producev(k->rk, RD_KAFKA_V_TOPIC(topic),
                             RD_KAFKA_V_KEY(msg->tenant, keylen),
                             RD_KAFKA_V_VALUE((void *)msg->data, msg->len),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
}

/* Produce one record; on a full local queue serve delivery reports and try
 * again until deadline. Returns 0 when the record got a verdict or was
 * queued, -1 when the queue stayed full. */
static int send_one(struct kafka *k, const struct sf_msg *msg, int64_t deadline)
{
    char topic[TOPIC_MAX + 1], reason[320];
    rd_kafka_resp_err_t kerr;
    enum sf_verdict v;

    topic[0] = '\0';
    if (k->o->max_record && msg->len > k->o->max_record) {
        snprintf(reason, sizeof(reason), "record of %zu bytes exceeds the limit of %zu",
                 msg->len, k->o->max_record);
        report(k, msg->id, SF_V_REJECTED, reason);
        return 0;
    }
    if (k->templated && topic_expand(k->topic, msg->tenant, topic) != 0) {
        snprintf(reason, sizeof(reason), "tenant \"%s\" gives no valid topic name from \"%s\"",
                 msg->tenant ? msg->tenant : "", k->topic);
        report(k, msg->id, SF_V_REJECTED, reason);
        return 0;
    }
    while ((kerr = produce(k, msg, topic)) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        if (sf_mono_ms() >= deadline)
            return -1;
        rd_kafka_poll(k->rk, 10);
    }
    if (kerr == RD_KAFKA_RESP_ERR_NO_ERROR) {
        k->inflight++;
        return 0;
    }
    v = classify(k->rk, kerr, reason, sizeof(reason));
    report(k, msg->id, v, reason);
    return 0;
}

static sf_err kafka_send(struct sf_output *o, const struct sf_msg *msgs, size_t n)
{
    struct kafka *k = o->ctx;
    int64_t deadline = sf_mono_ms() + QUEUE_FULL_WAIT_MS;
    size_t i;

    if (!k || !k->rk)
        return SF_ERR_INVALID; /* send before a successful start: no verdicts */
    for (i = 0; i < n; i++)
        if (send_one(k, &msgs[i], deadline) != 0)
            break;
    /* The queue stayed full: the rest goes back to the pipeline's backoff. */
    for (; i < n; i++)
        report(k, msgs[i].id, SF_V_RETRY,
               "local producer queue full (queue.buffering.max.messages/kbytes)");
    rd_kafka_poll(k->rk, 0);
    return SF_OK;
}

static void kafka_poll(struct sf_output *o, int timeout_ms)
{
    struct kafka *k = o->ctx;

    if (k && k->rk)
        rd_kafka_poll(k->rk, timeout_ms);
}

static size_t kafka_flush(struct sf_output *o, int timeout_ms)
{
    struct kafka *k = o->ctx;

    if (!k || !k->rk)
        return 0;
    /* rd_kafka_flush serves delivery reports (dr_msg_cb) while it waits. */
    rd_kafka_flush(k->rk, timeout_ms);
    return k->inflight;
}

static void kafka_destroy(struct sf_output *o)
{
    struct kafka *k = o->ctx;

    if (!k)
        return;
    k->closing = 1; /* the interface promises no verdicts from here on */
    handle_drop(k, DESTROY_FLUSH_MS);
    kafka_free(k);
    o->ctx = NULL;
}

const struct sf_output_type sf_output_kafka = {
    .name = "kafka",
    .init = kafka_init,
    .start = kafka_start,
    .send = kafka_send,
    .poll = kafka_poll,
    .flush = kafka_flush,
    .destroy = kafka_destroy,
};
