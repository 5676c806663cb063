/* state_kafka_conf.c - the Kafka state backend's two librdkafka handles: the
 * idempotent producer (acks=all) and the plain reader consumer, with
 * cluster.properties applied to the handle that knows each key (librdkafka's
 * own property table says consumer, producer or both) and siemfwd's settings
 * on top; librdkafka's logs and errors go to the shared logger. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_log.h"
#include "state_kafka_priv.h"

/* librdkafka callbacks: librdkafka's threads or rd_kafka_poll. */

static enum sf_log_level level_of(int syslog_level)
{
    return syslog_level <= 3 ? SF_LOG_ERROR : syslog_level == 4 ? SF_LOG_WARN :
           syslog_level <= 6 ? SF_LOG_INFO : SF_LOG_DEBUG;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    enum sf_log_level lv = level_of(level);

    (void)rk;
    if (sf_log_enabled(lv))
        sf_log(lv, NULL, NULL, "state: librdkafka %s: %s", fac, buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    char fatal[256];

    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
        sf_error(NULL, NULL, "state: cursors producer failed for good: %s", fatal);
    } else {
        sf_warn(NULL, NULL, "state: kafka: %s", reason);
    }
}

/* Runs inside rd_kafka_poll / flush, possibly under ks->lock: takes no lock. */
static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (!m->err || m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
        m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
        return;
    /* The cache still holds the truth; the next write of the key carries it. */
    sf_error(NULL, NULL, "state: cursor record %.*s not written: %s", (int)m->key_len,
             (const char *)m->key, rd_kafka_err2str(m->err));
}

/* librdkafka's own property table (rd_kafka_conf_properties_show) gives each
 * property's scope: C (consumer), P (producer) or * (both). */
static char scope_of(const char *table, const char *name)
{
    size_t n = strlen(name);

    for (const char *l = table; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, name, n) == 0 && (l[n] == ' ' || l[n] == '|')) {
            const char *bar = strchr(l, '|');
            if (!bar)
                return '*';
            for (bar++; *bar == ' '; bar++)
                ;
            return *bar == 'C' || *bar == 'P' ? *bar : '*';
        }
    }
    return '*';
}

static char *property_table(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);

    if (!fp)
        return NULL;
    rd_kafka_conf_properties_show(fp);
    fclose(fp);
    return text;
}

static sf_err set1(rd_kafka_conf_t *conf, const char *key, const char *val, char *errbuf,
                   size_t errlen)
{
    char why[256];
    rd_kafka_conf_res_t r = rd_kafka_conf_set(conf, key, val, why, sizeof(why));

    if (r == RD_KAFKA_CONF_OK)
        return SF_OK;
    if (r == RD_KAFKA_CONF_UNKNOWN)
        sf_errf(errbuf, errlen, "cluster.properties: %s: not a librdkafka property", key);
    else
        sf_errf(errbuf, errlen, "cluster.properties: %s: %s", key, why);
    return SF_ERR_CONFIG;
}

/* cluster.properties onto the handles that know each key (prod may be NULL). */
static sf_err apply_props(const struct sf_cluster_conf *cc, rd_kafka_conf_t *prod,
                          rd_kafka_conf_t *cons, char *errbuf, size_t errlen)
{
    char *table = cc->n_props ? property_table() : NULL;
    sf_err err = SF_OK;

    for (size_t i = 0; i < cc->n_props && !err; i++) {
        char scope = scope_of(table, cc->prop_keys[i]);
        if (scope != 'P')
            err = set1(cons, cc->prop_keys[i], cc->prop_vals[i], errbuf, errlen);
        if (!err && prod && scope != 'C')
            err = set1(prod, cc->prop_keys[i], cc->prop_vals[i], errbuf, errlen);
    }
    free(table);
    return err;
}

static sf_err own_settings(struct kstate *ks, const struct sf_cluster_conf *cc,
                           rd_kafka_conf_t *prod, rd_kafka_conf_t *cons, char *errbuf,
                           size_t errlen)
{
    char gid[512];
    static const char *const pset[][2] = {
        { "enable.idempotence", "true" }, { "acks", "all" },
    };
    static const char *const cset[][2] = {
        { "enable.auto.commit", "false" }, { "enable.auto.offset.store", "false" },
        { "auto.offset.reset", "earliest" }, { "enable.partition.eof", "false" },
        /* a load waits on the slowest partition: do not idle at its end */
        { "fetch.wait.max.ms", "100" }, { "fetch.error.backoff.ms", "100" },
    };
    sf_err err = SF_OK;

    /* Never joins: rd_kafka_assign merely wants a group id to exist. */
    snprintf(gid, sizeof(gid), "%s.cursors-reader", cc->group ? cc->group : "siemfwd");
    err = set1(cons, "bootstrap.servers", cc->brokers, errbuf, errlen);
    if (!err)
        err = set1(cons, "group.id", gid, errbuf, errlen);
    for (size_t i = 0; i < sizeof(cset) / sizeof(cset[0]) && !err; i++)
        err = set1(cons, cset[i][0], cset[i][1], errbuf, errlen);
    if (prod) {
        if (!err)
            err = set1(prod, "bootstrap.servers", cc->brokers, errbuf, errlen);
        for (size_t i = 0; i < sizeof(pset) / sizeof(pset[0]) && !err; i++)
            err = set1(prod, pset[i][0], pset[i][1], errbuf, errlen);
        rd_kafka_conf_set_dr_msg_cb(prod, dr_msg_cb);
        rd_kafka_conf_set_log_cb(prod, log_cb);
        rd_kafka_conf_set_error_cb(prod, error_cb);
        rd_kafka_conf_set_opaque(prod, ks);
    }
    rd_kafka_conf_set_log_cb(cons, log_cb);
    rd_kafka_conf_set_error_cb(cons, error_cb);
    rd_kafka_conf_set_opaque(cons, ks);
    return err;
}


sf_err kconf_handles(struct kstate *ks, const struct sf_cluster_conf *cc, char *errbuf,
                    size_t errlen)
{
    rd_kafka_conf_t *pc = ks->readonly ? NULL : rd_kafka_conf_new();
    rd_kafka_conf_t *cn = rd_kafka_conf_new();
    char why[512];
    sf_err err;

    err = apply_props(cc, pc, cn, errbuf, errlen);
    if (!err)
        err = own_settings(ks, cc, pc, cn, errbuf, errlen);
    if (!err && pc) {
        if (!(ks->prod = rd_kafka_new(RD_KAFKA_PRODUCER, pc, why, sizeof(why)))) {
            sf_errf(errbuf, errlen, "cluster: cursors producer: %s", why);
            err = SF_ERR_CONFIG;
        }
        pc = NULL; /* rd_kafka_new took it (or it is freed below on failure) */
    }
    if (!err) {
        if (!(ks->cons = rd_kafka_new(RD_KAFKA_CONSUMER, cn, why, sizeof(why)))) {
            sf_errf(errbuf, errlen, "cluster: cursors reader: %s", why);
            err = SF_ERR_CONFIG;
        }
        cn = NULL;
    }
    if (pc)
        rd_kafka_conf_destroy(pc);
    if (cn)
        rd_kafka_conf_destroy(cn);
    return err;
}

