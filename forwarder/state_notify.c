/* state_notify.c - the notification policy's memory in the one state store
 * state_dir/siemfwd.db, tables notify_sent and notify_held beside the
 * cursors: which (rule, alert id) was sent at which severity, and the
 * alerts flood control holds for a digest, so a restart never loses or
 * repeats one. Works through the SQLite backend's shared connection and
 * lock (state_sqlite.h). When the pipeline's state store is not SQLite
 * (cluster mode keeps cursors in Kafka) it opens the instance's local
 * siemfwd.db through the same backend: notification memory is per
 * instance. A notify.db left by an older siemfwd is imported once (then
 * renamed notify.db.imported). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sf_log.h"
#include "sf_state_notify.h"
#include "state_sqlite.h"

/* Alerts are re-read for up to 180 days (the longest retention). */
#define SENT_KEEP_MS (200LL * 86400 * 1000)

struct sf_nstore {
    struct sf_state *st;         /* the pipeline's (borrowed) or own */
    struct sf_state *own;        /* owned: the local store when the pipeline's is not SQLite */
    char *output;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS notify_sent ("
    " output TEXT NOT NULL, rule TEXT NOT NULL, alert_id TEXT NOT NULL,"
    " severity INTEGER NOT NULL, sent_ms INTEGER NOT NULL,"
    " PRIMARY KEY (output, rule, alert_id)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS notify_held ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, output TEXT NOT NULL, rule TEXT NOT NULL,"
    " window_ms INTEGER NOT NULL, tenant TEXT NOT NULL, tenant_id TEXT,"
    " alert_id TEXT NOT NULL, severity TEXT, title TEXT, link TEXT,"
    " held_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS notify_held_rule ON notify_held(output, rule, seq);"
    "CREATE TABLE IF NOT EXISTS notify_meta (key TEXT PRIMARY KEY, value TEXT);";

/* One statement: prepared, ?1 = the output, then the caller binds the rest. */
static sqlite3_stmt *prep(sqlite3 *db, const struct sf_nstore *s, const char *sql)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, s->output, -1, SQLITE_STATIC);
    return st;
}

/* Step to the end; 0 if it ran, -1 if not. Finalizes st. */
static int finish(sqlite3_stmt *st)
{
    int rc = SQLITE_ERROR;

    if (st)
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            ;
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

struct import_arg {
    const struct sf_nstore *s;
    const char *old;
    int imported;                /* 1: this call brought the rows over */
};

/* The rows of an older notify.db, once (the notify_meta marker). */
static sf_err import_rows(sqlite3 *db, void *opaque)
{
    static const char rows[] =
        "INSERT OR IGNORE INTO notify_sent SELECT output, rule, alert_id, severity, sent_ms"
        " FROM old.sent;"
        "INSERT INTO notify_held(output, rule, window_ms, tenant, tenant_id, alert_id,"
        " severity, title, link, held_ms) SELECT output, rule, window_ms, tenant,"
        " tenant_id, alert_id, severity, title, link, held_ms FROM old.held ORDER BY seq;"
        "INSERT INTO notify_meta(key, value) VALUES('imported notify.db', 'yes');";
    struct import_arg *a = opaque;
    sqlite3_stmt *st = NULL;
    int done = 0, rc;

    rc = sqlite3_prepare_v2(db, "SELECT 1 FROM notify_meta WHERE key='imported notify.db'",
                            -1, &st, NULL);
    if (rc == SQLITE_OK)
        done = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (rc != SQLITE_OK || done)
        return rc == SQLITE_OK ? SF_OK : SF_ERR_IO;
    st = NULL;
    rc = sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS old", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, a->old, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(db, "SAVEPOINT notify_import", NULL, NULL, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_exec(db, rows, NULL, NULL, NULL)) != SQLITE_OK)
            sf_error(NULL, a->s->output, "cannot import %s: %s", a->old, sqlite3_errmsg(db));
        sqlite3_exec(db, rc == SQLITE_OK ? "RELEASE notify_import"
                         : "ROLLBACK TO notify_import; RELEASE notify_import", NULL, NULL, NULL);
        sqlite3_exec(db, "DETACH DATABASE old", NULL, NULL, NULL);
    } else {
        sf_error(NULL, a->s->output, "cannot open %s: %s", a->old, sqlite3_errmsg(db));
    }
    a->imported = rc == SQLITE_OK;
    return rc == SQLITE_OK ? SF_OK : SF_ERR_IO;
}

/* state_dir/notify.db of an older siemfwd: its rows come over once,
 * whichever output's thread gets there first, then the file is renamed so
 * nobody reads it again. */
static sf_err import_old(struct sf_nstore *s, const char *state_dir)
{
    struct import_arg a = { s, NULL, 0 };
    char old[4096], done[4200];
    struct stat sb;

    snprintf(old, sizeof(old), "%s/notify.db", state_dir ? state_dir : ".");
    if (stat(old, &sb) != 0)
        return SF_OK;
    a.old = old;
    if (sf_state_sqlite_with_db(s->st, import_rows, &a) != SF_OK)
        return SF_ERR_IO;
    if (a.imported)
        sf_info(NULL, s->output, "imported %s (sent-once memory, held alerts) into "
                "siemfwd.db", old);
    snprintf(done, sizeof(done), "%s.imported", old);
    rename(old, done);   /* a race with another output's thread is harmless */
    return SF_OK;
}

static sf_err prune(sqlite3 *db, void *opaque)
{
    const struct sf_nstore *s = opaque;
    sqlite3_stmt *st = prep(db, s, "DELETE FROM notify_sent WHERE output=?1 AND sent_ms<?2");

    if (st)
        sqlite3_bind_int64(st, 2, (int64_t)time(NULL) * 1000 - SENT_KEEP_MS);
    return finish(st) ? SF_ERR_IO : SF_OK;
}

sf_err sf_nstore_open(struct sf_state *shared, const char *state_dir, const char *output,
                      struct sf_nstore **out, char *errbuf, size_t errlen)
{
    struct sf_nstore *s = calloc(1, sizeof(*s));
    sf_err err;

    *out = NULL;
    if (!s || !(s->output = strdup(output))) {
        free(s);
        return SF_ERR_NOMEM;
    }
    s->st = shared;
    err = sf_state_sqlite_schema(shared, schema, errbuf, errlen);
    if (err == SF_ERR_INVALID) {
        /* not SQLite (or none): the instance's own siemfwd.db */
        err = sf_state_open(state_dir, 1, &s->own, errbuf, errlen);
        s->st = s->own;
        if (!err)
            err = sf_state_sqlite_schema(s->st, schema, errbuf, errlen);
    }
    if (!err && (err = import_old(s, state_dir)) != SF_OK)
        sf_errf(errbuf, errlen, "%s/notify.db: cannot import it into siemfwd.db",
                state_dir ? state_dir : ".");
    if (!err)
        sf_state_sqlite_with_db(s->st, prune, s);
    if (err) {
        sf_nstore_close(s);
        return err;
    }
    *out = s;
    return SF_OK;
}

void sf_nstore_close(struct sf_nstore *s)
{
    if (!s)
        return;
    sf_state_close(s->own);
    free(s->output);
    free(s);
}

struct sent_arg {
    const struct sf_nstore *s;
    const char *rule, *alert_id;
    int rank;
    int64_t now_ms;
    const struct sf_notify_item *item;
    int64_t window_ms;
};

static sf_err get_rank(sqlite3 *db, void *opaque)
{
    struct sent_arg *a = opaque;
    sqlite3_stmt *st = prep(db, a->s, "SELECT severity FROM notify_sent WHERE output=?1 AND "
                            "rule=?2 AND alert_id=?3");

    a->rank = -1;
    if (!st)
        return SF_ERR_IO;
    sqlite3_bind_text(st, 2, a->rule, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->alert_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        a->rank = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return SF_OK;
}

int sf_nstore_sent_rank(struct sf_nstore *s, const char *rule, const char *alert_id)
{
    struct sent_arg a = { .s = s, .rule = rule, .alert_id = alert_id, .rank = -1 };

    sf_state_sqlite_with_db(s->st, get_rank, &a);
    return a.rank;
}

static int put_sent(sqlite3 *db, const struct sent_arg *a)
{
    sqlite3_stmt *st = prep(db, a->s, "INSERT INTO notify_sent(output, rule, alert_id, "
                            "severity, sent_ms) VALUES(?1,?2,?3,?4,?5) ON CONFLICT(output, "
                            "rule, alert_id) DO UPDATE SET severity=MAX(severity, "
                            "excluded.severity), sent_ms=excluded.sent_ms");

    if (st) {
        sqlite3_bind_text(st, 2, a->rule, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, a->alert_id, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, a->rank);
        sqlite3_bind_int64(st, 5, a->now_ms);
    }
    return finish(st);
}

static sf_err mark(sqlite3 *db, void *opaque)
{
    return put_sent(db, opaque) ? SF_ERR_IO : SF_OK;
}

sf_err sf_nstore_mark_sent(struct sf_nstore *s, const char *rule, const char *alert_id,
                           int rank, int64_t now_ms)
{
    struct sent_arg a = { .s = s, .rule = rule, .alert_id = alert_id, .rank = rank,
                          .now_ms = now_ms };

    return sf_state_sqlite_with_db(s->st, mark, &a);
}

/* The held row and the sent mark, both or neither. */
static sf_err hold(sqlite3 *db, void *opaque)
{
    struct sent_arg *a = opaque;
    const struct sf_notify_item *it = a->item;
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_exec(db, "SAVEPOINT notify_hold", NULL, NULL, NULL) != SQLITE_OK)
        return SF_ERR_IO;
    st = prep(db, a->s, "INSERT INTO notify_held(output, rule, window_ms, tenant, tenant_id, "
              "alert_id, severity, title, link, held_ms) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,"
              "?10)");
    if (st) {
        sqlite3_bind_text(st, 2, a->rule, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, a->window_ms);
        sqlite3_bind_text(st, 4, it->tenant ? it->tenant : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, it->tenant_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, a->alert_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, it->severity, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, it->title, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, it->link && *it->link ? it->link : NULL, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 10, a->now_ms);
    }
    rc = finish(st);
    if (!rc)
        rc = put_sent(db, a);
    sqlite3_exec(db, rc ? "ROLLBACK TO notify_hold; RELEASE notify_hold"
                        : "RELEASE notify_hold", NULL, NULL, NULL);
    return rc ? SF_ERR_IO : SF_OK;
}

sf_err sf_nstore_hold(struct sf_nstore *s, const char *rule, int64_t window_ms,
                      const struct sf_notify_item *item, int rank, int64_t now_ms)
{
    struct sent_arg a = { .s = s, .rule = rule,
                          .alert_id = item->alert_id ? item->alert_id : "", .rank = rank,
                          .now_ms = now_ms, .item = item, .window_ms = window_ms };

    return sf_state_sqlite_with_db(s->st, hold, &a);
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

void sf_nstore_items_free(struct sf_notify_item *items, size_t n)
{
    for (size_t i = 0; items && i < n; i++) {
        free(items[i].tenant);
        free(items[i].tenant_id);
        free(items[i].alert_id);
        free(items[i].severity);
        free(items[i].title);
        free(items[i].link);
    }
    free(items);
}

struct held_arg {
    const struct sf_nstore *s;
    const char *rule;
    size_t max, n;
    struct sf_notify_item *v;
    int64_t from_ms, last_seq;
};

static sf_err list_held(sqlite3 *db, void *opaque)
{
    struct held_arg *a = opaque;
    sqlite3_stmt *st = prep(db, a->s, "SELECT seq, window_ms, tenant, tenant_id, alert_id, "
                            "severity, title, link, held_ms FROM notify_held WHERE output=?1 "
                            "AND rule=?2 ORDER BY seq LIMIT ?3");

    if (!st)
        return SF_ERR_IO;
    sqlite3_bind_text(st, 2, a->rule, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)a->max);
    while (a->n < a->max && sqlite3_step(st) == SQLITE_ROW) {
        struct sf_notify_item *it = &a->v[a->n++];
        a->last_seq = sqlite3_column_int64(st, 0);
        if (!a->from_ms || sqlite3_column_int64(st, 1) < a->from_ms)
            a->from_ms = sqlite3_column_int64(st, 1);
        it->tenant = col_dup(st, 2);
        it->tenant_id = col_dup(st, 3);
        it->alert_id = col_dup(st, 4);
        it->severity = col_dup(st, 5);
        it->title = col_dup(st, 6);
        it->link = col_dup(st, 7);
        it->held_ms = sqlite3_column_int64(st, 8);
    }
    sqlite3_finalize(st);
    return SF_OK;
}

sf_err sf_nstore_held(struct sf_nstore *s, const char *rule, size_t max,
                      struct sf_notify_item **items, size_t *n, int64_t *from_ms,
                      int64_t *last_seq)
{
    struct held_arg a = { .s = s, .rule = rule, .max = max };
    sf_err err;

    *items = NULL;
    *n = 0;
    *from_ms = *last_seq = 0;
    if (!(a.v = calloc(max ? max : 1, sizeof(*a.v))))
        return SF_ERR_NOMEM;
    err = sf_state_sqlite_with_db(s->st, list_held, &a);
    if (err) {
        sf_nstore_items_free(a.v, a.n);
        return err;
    }
    *items = a.v;
    *n = a.n;
    *from_ms = a.from_ms;
    *last_seq = a.last_seq;
    return SF_OK;
}

static sf_err drop_held(sqlite3 *db, void *opaque)
{
    struct held_arg *a = opaque;
    sqlite3_stmt *st = prep(db, a->s, "DELETE FROM notify_held WHERE output=?1 AND rule=?2 "
                            "AND seq<=?3");

    if (st) {
        sqlite3_bind_text(st, 2, a->rule, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, a->last_seq);
    }
    return finish(st) ? SF_ERR_IO : SF_OK;
}

sf_err sf_nstore_drop_held(struct sf_nstore *s, const char *rule, int64_t last_seq)
{
    struct held_arg a = { .s = s, .rule = rule, .last_seq = last_seq };

    return sf_state_sqlite_with_db(s->st, drop_held, &a);
}

struct rules_arg {
    const struct sf_nstore *s;
    void (*fn)(void *opaque, const char *rule, int64_t window_ms, size_t n);
    void *opaque;
};

static sf_err held_rules(sqlite3 *db, void *opaque)
{
    struct rules_arg *a = opaque;
    sqlite3_stmt *st = prep(db, a->s, "SELECT rule, MIN(window_ms), COUNT(*) FROM notify_held "
                            "WHERE output=?1 GROUP BY rule ORDER BY MIN(seq)");
    int rc = SQLITE_ERROR;

    while (st && (rc = sqlite3_step(st)) == SQLITE_ROW)
        a->fn(a->opaque, (const char *)sqlite3_column_text(st, 0),
              sqlite3_column_int64(st, 1), (size_t)sqlite3_column_int64(st, 2));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? SF_OK : SF_ERR_IO;
}

sf_err sf_nstore_held_rules(struct sf_nstore *s,
                            void (*fn)(void *opaque, const char *rule, int64_t window_ms,
                                       size_t n),
                            void *opaque)
{
    struct rules_arg a = { s, fn, opaque };

    return sf_state_sqlite_with_db(s->st, held_rules, &a);
}
