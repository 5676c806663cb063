/* state_notify.c - the notification policy's memory in the one state store
 * state_dir/siemfwd.db (tables notify_sent and notify_held beside the
 * cursors; WAL, synchronous=FULL): which (rule, alert id) was sent at which
 * severity, and the alerts flood control holds for a digest, so a crash
 * never loses one. One connection per notification output, used by its
 * runner thread only (the cursor store's own connection is not shared
 * across threads). In cluster mode, where cursors live in Kafka, this
 * memory stays in the instance's local siemfwd.db. A notify.db left by an
 * older siemfwd is imported once (then renamed notify.db.imported). */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sf_log.h"
#include "sf_state_notify.h"

/* Alerts are re-read for up to 180 days (the longest retention). */
#define SENT_KEEP_MS (200LL * 86400 * 1000)

struct sf_nstore {
    sqlite3 *db;
    char *output;
    sqlite3_stmt *get, *put, *hold, *list, *drop, *rules, *begin, *commit, *rollback;
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

static const char *const sql_text[] = {
    "SELECT severity FROM notify_sent WHERE output=?1 AND rule=?2 AND alert_id=?3",
    "INSERT INTO notify_sent(output, rule, alert_id, severity, sent_ms) VALUES(?1,?2,?3,?4,?5)"
    " ON CONFLICT(output, rule, alert_id) DO UPDATE SET"
    " severity=MAX(severity, excluded.severity), sent_ms=excluded.sent_ms",
    "INSERT INTO notify_held(output, rule, window_ms, tenant, tenant_id, alert_id, severity,"
    " title, link, held_ms) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
    "SELECT seq, window_ms, tenant, tenant_id, alert_id, severity, title, link, held_ms"
    " FROM notify_held WHERE output=?1 AND rule=?2 ORDER BY seq LIMIT ?3",
    "DELETE FROM notify_held WHERE output=?1 AND rule=?2 AND seq<=?3",
    "SELECT rule, MIN(window_ms), COUNT(*) FROM notify_held WHERE output=?1 GROUP BY rule"
    " ORDER BY MIN(seq)",
    "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK",
};

static int make_dir(const char *dir)
{
    struct stat sb;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -1;
    return stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) ? 0 : -1;
}

static int run(sqlite3_stmt *st);

/* state_dir/notify.db of an older siemfwd: its rows come over once (the
 * marker in notify_meta says so, whichever output's thread got there
 * first), then the file is renamed so nobody reads it again. */
static sf_err import_old(struct sf_nstore *s, const char *state_dir)
{
    static const char import_sql[] =
        "INSERT OR IGNORE INTO notify_sent SELECT output, rule, alert_id, severity, sent_ms"
        " FROM old.sent;"
        "INSERT INTO notify_held(output, rule, window_ms, tenant, tenant_id, alert_id,"
        " severity, title, link, held_ms) SELECT output, rule, window_ms, tenant,"
        " tenant_id, alert_id, severity, title, link, held_ms FROM old.held ORDER BY seq;"
        "INSERT INTO notify_meta(key, value) VALUES('imported notify.db', 'yes');";
    char old[4096], done[4200];
    struct stat sb;
    sqlite3_stmt *st = NULL;
    int imported = 0, rc;

    snprintf(old, sizeof(old), "%s/notify.db", state_dir);
    if (stat(old, &sb) != 0)
        return SF_OK;
    if (run(s->begin))
        return SF_ERR_IO;
    rc = sqlite3_prepare_v2(s->db, "SELECT 1 FROM notify_meta WHERE key='imported notify.db'",
                            -1, &st, NULL);
    if (rc == SQLITE_OK)
        imported = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (rc == SQLITE_OK && !imported) {
        sqlite3_stmt *at = NULL;
        rc = sqlite3_prepare_v2(s->db, "ATTACH DATABASE ?1 AS old", -1, &at, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(at, 1, old, -1, SQLITE_STATIC);
            rc = sqlite3_step(at) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        }
        sqlite3_finalize(at);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(s->db, import_sql, NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK && !run(s->commit)) {
        if (!imported)
            sf_info(NULL, s->output, "imported %s (sent-once memory, held alerts) into "
                    "siemfwd.db", old);
    } else {
        sf_error(NULL, s->output, "cannot import %s: %s", old, sqlite3_errmsg(s->db));
        run(s->rollback);
        rc = SQLITE_ERROR;
    }
    sqlite3_exec(s->db, "DETACH DATABASE old", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return SF_ERR_IO;
    snprintf(done, sizeof(done), "%s.imported", old);
    rename(old, done);   /* a race with another output's thread is harmless */
    return SF_OK;
}

static sf_err prepare_all(struct sf_nstore *s)
{
    sqlite3_stmt **stmts[] = { &s->get, &s->put, &s->hold, &s->list, &s->drop, &s->rules,
                               &s->begin, &s->commit, &s->rollback };

    for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++)
        if (sqlite3_prepare_v2(s->db, sql_text[i], -1, stmts[i], NULL) != SQLITE_OK)
            return SF_ERR_IO;
    return SF_OK;
}

static void prune(struct sf_nstore *s, int64_t now_ms)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(s->db, "DELETE FROM notify_sent WHERE output=?1 AND sent_ms<?2", -1, &st,
                           NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, s->output, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_ms - SENT_KEEP_MS);
    sqlite3_step(st);
    sqlite3_finalize(st);
}

sf_err sf_nstore_open(const char *state_dir, const char *output, struct sf_nstore **out,
                      char *errbuf, size_t errlen)
{
    struct sf_nstore *s = calloc(1, sizeof(*s));
    char path[4096];
    sf_err err = SF_OK;

    if (!s || !(s->output = strdup(output))) {
        free(s);
        return SF_ERR_NOMEM;
    }
    if (!state_dir || make_dir(state_dir) != 0) {
        sf_errf(errbuf, errlen, "state_dir %s: cannot create: %s",
                state_dir ? state_dir : "(unset)", strerror(errno));
        err = SF_ERR_IO;
        goto out;
    }
    snprintf(path, sizeof(path), "%s/siemfwd.db", state_dir);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        err = SF_ERR_IO;
        goto out;
    }
    sqlite3_busy_timeout(s->db, 10000);
    if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK || prepare_all(s) != SF_OK
        || import_old(s, state_dir) != SF_OK)
        err = SF_ERR_IO;
    else
        prune(s, (int64_t)time(NULL) * 1000);
out:
    if (err) {
        if (err == SF_ERR_IO && s->db)
            sf_errf(errbuf, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
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
    sqlite3_stmt *stmts[] = { s->get, s->put, s->hold, s->list, s->drop, s->rules,
                              s->begin, s->commit, s->rollback };
    for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++)
        sqlite3_finalize(stmts[i]);
    sqlite3_close(s->db);
    free(s->output);
    free(s);
}

static void bind_key(struct sf_nstore *s, sqlite3_stmt *st, const char *rule)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_text(st, 1, s->output, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rule, -1, SQLITE_STATIC);
}

static int run(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

int sf_nstore_sent_rank(struct sf_nstore *s, const char *rule, const char *alert_id)
{
    int rank = -1;

    bind_key(s, s->get, rule);
    sqlite3_bind_text(s->get, 3, alert_id, -1, SQLITE_STATIC);
    if (sqlite3_step(s->get) == SQLITE_ROW)
        rank = sqlite3_column_int(s->get, 0);
    sqlite3_reset(s->get);
    return rank;
}

static int put_sent(struct sf_nstore *s, const char *rule, const char *alert_id, int rank,
                    int64_t now_ms)
{
    bind_key(s, s->put, rule);
    sqlite3_bind_text(s->put, 3, alert_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s->put, 4, rank);
    sqlite3_bind_int64(s->put, 5, now_ms);
    return run(s->put);
}

sf_err sf_nstore_mark_sent(struct sf_nstore *s, const char *rule, const char *alert_id,
                           int rank, int64_t now_ms)
{
    return put_sent(s, rule, alert_id, rank, now_ms) ? SF_ERR_IO : SF_OK;
}

sf_err sf_nstore_hold(struct sf_nstore *s, const char *rule, int64_t window_ms,
                      const struct sf_notify_item *a, int rank, int64_t now_ms)
{
    sqlite3_stmt *h = s->hold;
    int rc;

    if (run(s->begin))
        return SF_ERR_IO;
    bind_key(s, h, rule);
    sqlite3_bind_int64(h, 3, window_ms);
    sqlite3_bind_text(h, 4, a->tenant ? a->tenant : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(h, 5, a->tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(h, 6, a->alert_id ? a->alert_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(h, 7, a->severity, -1, SQLITE_STATIC);
    sqlite3_bind_text(h, 8, a->title, -1, SQLITE_STATIC);
    sqlite3_bind_text(h, 9, a->link && *a->link ? a->link : NULL, -1, SQLITE_STATIC);
    sqlite3_bind_int64(h, 10, now_ms);
    rc = run(h);
    if (!rc)
        rc = put_sent(s, rule, a->alert_id ? a->alert_id : "", rank, now_ms);
    if (!rc)
        rc = run(s->commit);
    if (rc)
        run(s->rollback);
    return rc ? SF_ERR_IO : SF_OK;
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

sf_err sf_nstore_held(struct sf_nstore *s, const char *rule, size_t max,
                      struct sf_notify_item **items, size_t *n, int64_t *from_ms,
                      int64_t *last_seq)
{
    struct sf_notify_item *v = calloc(max ? max : 1, sizeof(*v));
    size_t k = 0;

    *items = NULL;
    *n = 0;
    *from_ms = 0;
    *last_seq = 0;
    if (!v)
        return SF_ERR_NOMEM;
    bind_key(s, s->list, rule);
    sqlite3_bind_int64(s->list, 3, (sqlite3_int64)max);
    while (k < max && sqlite3_step(s->list) == SQLITE_ROW) {
        struct sf_notify_item *it = &v[k++];
        *last_seq = sqlite3_column_int64(s->list, 0);
        if (!*from_ms || sqlite3_column_int64(s->list, 1) < *from_ms)
            *from_ms = sqlite3_column_int64(s->list, 1);
        it->tenant = col_dup(s->list, 2);
        it->tenant_id = col_dup(s->list, 3);
        it->alert_id = col_dup(s->list, 4);
        it->severity = col_dup(s->list, 5);
        it->title = col_dup(s->list, 6);
        it->link = col_dup(s->list, 7);
        it->held_ms = sqlite3_column_int64(s->list, 8);
    }
    sqlite3_reset(s->list);
    *items = v;
    *n = k;
    return SF_OK;
}

sf_err sf_nstore_drop_held(struct sf_nstore *s, const char *rule, int64_t last_seq)
{
    bind_key(s, s->drop, rule);
    sqlite3_bind_int64(s->drop, 3, last_seq);
    return run(s->drop) ? SF_ERR_IO : SF_OK;
}

sf_err sf_nstore_held_rules(struct sf_nstore *s,
                            void (*fn)(void *opaque, const char *rule, int64_t window_ms,
                                       size_t n),
                            void *opaque)
{
    int rc;

    sqlite3_reset(s->rules);
    sqlite3_clear_bindings(s->rules);
    sqlite3_bind_text(s->rules, 1, s->output, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s->rules)) == SQLITE_ROW)
        fn(opaque, (const char *)sqlite3_column_text(s->rules, 0),
           sqlite3_column_int64(s->rules, 1), (size_t)sqlite3_column_int64(s->rules, 2));
    sqlite3_reset(s->rules);
    return rc == SQLITE_DONE ? SF_OK : SF_ERR_IO;
}
