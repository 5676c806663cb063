/* state_sqlite.c - the state store's embedded backend (state_ops.h): cursors
 * in SQLite (WAL mode), one row per (tenant, output) plus the delivered
 * (alert id, lastUpdate) pairs inside the overlap window. Every change is one
 * transaction, so kill -9 at any moment leaves either the old or the new
 * cursor. Owns the sqlite3 handle; serialised by a mutex that other tables
 * of siemfwd.db share through state_sqlite.h. */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state_ops.h"
#include "state_sqlite.h"

struct sqlite_state {
    struct sf_state base; /* first: a struct sf_state * is a struct sqlite_state * */
    sqlite3 *db;
    pthread_mutex_t lock;
    sqlite3_stmt *get, *seen, *mark, *ensure, *advance, *prune, *note, *count, *start;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS cursor ("
    " tenant TEXT NOT NULL, output TEXT NOT NULL,"
    " watermark_ms INTEGER NOT NULL DEFAULT -1,"
    " last_success_ms INTEGER NOT NULL DEFAULT 0,"
    " last_attempt_ms INTEGER NOT NULL DEFAULT 0,"
    " delivered INTEGER NOT NULL DEFAULT 0,"
    " quarantined INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY (tenant, output));"
    "CREATE TABLE IF NOT EXISTS seen ("
    " tenant TEXT NOT NULL, output TEXT NOT NULL, alert_id TEXT NOT NULL,"
    " last_update_ms INTEGER NOT NULL,"
    " PRIMARY KEY (tenant, output, alert_id, last_update_ms)) WITHOUT ROWID;";

static const char *const sql_text[] = {
    "SELECT watermark_ms, last_success_ms, last_attempt_ms, delivered, quarantined,"
    " last_error FROM cursor WHERE tenant=?1 AND output=?2",
    "SELECT 1 FROM seen WHERE tenant=?1 AND output=?2 AND alert_id=?3 AND last_update_ms=?4",
    "INSERT OR IGNORE INTO seen(tenant, output, alert_id, last_update_ms) VALUES(?1,?2,?3,?4)",
    "INSERT OR IGNORE INTO cursor(tenant, output) VALUES(?1,?2)",
    "UPDATE cursor SET watermark_ms=MAX(watermark_ms, ?3), last_success_ms=?4,"
    " last_attempt_ms=?4, last_error='' WHERE tenant=?1 AND output=?2",
    "DELETE FROM seen WHERE tenant=?1 AND output=?2 AND last_update_ms < ?3",
    "UPDATE cursor SET last_error=?3, last_attempt_ms=?4 WHERE tenant=?1 AND output=?2",
    "UPDATE cursor SET delivered=delivered+?3, quarantined=quarantined+?4"
    " WHERE tenant=?1 AND output=?2",
    "UPDATE cursor SET watermark_ms=?3 WHERE tenant=?1 AND output=?2 AND watermark_ms<0",
};

static sf_err db_err(struct sqlite_state *st, char *errbuf, size_t errlen, const char *what)
{
    sf_errf(errbuf, errlen, "state: %s: %s", what, sqlite3_errmsg(st->db));
    return SF_ERR_IO;
}

static int make_dir(const char *dir)
{
    if (mkdir(dir, 0700) == 0 || errno == EEXIST) {
        struct stat sb;
        return stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) ? 0 : -1;
    }
    return -1;
}

/* Cursors and quarantine files are trusted on the next start: a state_dir
 * another user can write to (or owns) lets that user rewrite them or plant
 * symlinks. Root's directories are trusted, as root can do that anyway. */
static sf_err check_dir(const char *dir, char *errbuf, size_t errlen)
{
    struct stat sb;

    if (stat(dir, &sb) != 0) {
        sf_errf(errbuf, errlen, "state_dir %s: %s", dir, strerror(errno));
        return SF_ERR_IO;
    }
    if (sb.st_uid != geteuid() && sb.st_uid != 0) {
        sf_errf(errbuf, errlen, "state_dir %s is owned by uid %u, not by siemfwd's uid %u:"
                " refusing to trust it (chown it or choose another state_dir)", dir,
                (unsigned)sb.st_uid, (unsigned)geteuid());
        return SF_ERR_CONFIG;
    }
    if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
        sf_errf(errbuf, errlen, "state_dir %s is writable by %s (mode %04o): refusing to"
                " trust it (chmod go-w %s)", dir, sb.st_mode & S_IWOTH ? "every user" :
                "its group", (unsigned)(sb.st_mode & 07777), dir);
        return SF_ERR_CONFIG;
    }
    return SF_OK;
}

static void sq_close(struct sf_state *base);
static const struct sf_state_ops sqlite_ops;

static sf_err open_db(const char *state_dir, int sync_full, int readonly,
                      struct sf_state **out, char *errbuf, size_t errlen)
{
    struct sqlite_state *st = calloc(1, sizeof(*st));
    char path[4096];
    sf_err err = SF_OK;
    struct stat sb;

    if (!st)
        return SF_ERR_NOMEM;
    sqlite3_stmt **stmts[] = { &st->get, &st->seen, &st->mark, &st->ensure,
                               &st->advance, &st->prune, &st->note, &st->count,
                               &st->start };

    st->base.ops = &sqlite_ops;
    pthread_mutex_init(&st->lock, NULL);
    if (!readonly && make_dir(state_dir) != 0) {
        sf_errf(errbuf, errlen, "state_dir %s: cannot create: %s", state_dir, strerror(errno));
        err = SF_ERR_IO;
        goto out;
    }
    if (!readonly && (err = check_dir(state_dir, errbuf, errlen)) != SF_OK)
        goto out;
    snprintf(path, sizeof(path), "%s/siemfwd.db", state_dir);
    if (readonly && stat(path, &sb) != 0) {
        sf_errf(errbuf, errlen, "%s: %s (has siemfwd run with this state_dir?)", path,
                strerror(errno));
        err = errno == ENOENT ? SF_ERR_NOTFOUND : SF_ERR_IO;
        goto out;
    }
    if (sqlite3_open_v2(path, &st->db, (readonly ? SQLITE_OPEN_READONLY :
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                        SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        err = db_err(st, errbuf, errlen, path);
        goto out;
    }
    sqlite3_busy_timeout(st->db, 5000);
    if (!readonly &&
        (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL;", NULL, NULL, NULL) != SQLITE_OK ||
         sqlite3_exec(st->db, sync_full ? "PRAGMA synchronous=FULL;" :
                      "PRAGMA synchronous=NORMAL;", NULL, NULL, NULL) != SQLITE_OK ||
         sqlite3_exec(st->db, schema, NULL, NULL, NULL) != SQLITE_OK)) {
        err = db_err(st, errbuf, errlen, path);
        goto out;
    }
    for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
        if (sqlite3_prepare_v2(st->db, sql_text[i], -1, stmts[i], NULL) != SQLITE_OK) {
            err = db_err(st, errbuf, errlen, "prepare");
            goto out;
        }
    }
out:
    if (err) {
        sq_close(&st->base);
        return err;
    }
    *out = &st->base;
    return SF_OK;
}

sf_err sf_state_open(const char *state_dir, int sync_full, struct sf_state **out,
                     char *errbuf, size_t errlen)
{
    return open_db(state_dir, sync_full, 0, out, errbuf, errlen);
}

sf_err sf_state_open_readonly(const char *state_dir, struct sf_state **out, char *errbuf,
                              size_t errlen)
{
    return open_db(state_dir, 0, 1, out, errbuf, errlen);
}

static void sq_close(struct sf_state *base)
{
    struct sqlite_state *st = (struct sqlite_state *)base;

    if (!st)
        return;
    sqlite3_stmt *stmts[] = { st->get, st->seen, st->mark, st->ensure,
                              st->advance, st->prune, st->note, st->count, st->start };
    for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++)
        sqlite3_finalize(stmts[i]);
    sqlite3_close(st->db);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

static void bind_pair(sqlite3_stmt *s, const char *tenant, const char *output)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    sqlite3_bind_text(s, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, output, -1, SQLITE_STATIC);
}

static int step_done(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

static void read_cursor(sqlite3_stmt *s, struct sf_cursor *c)
{
    c->watermark_ms = sqlite3_column_int64(s, 0);
    c->last_success_ms = sqlite3_column_int64(s, 1);
    c->last_attempt_ms = sqlite3_column_int64(s, 2);
    c->delivered = (uint64_t)sqlite3_column_int64(s, 3);
    c->quarantined = (uint64_t)sqlite3_column_int64(s, 4);
    const unsigned char *e = sqlite3_column_text(s, 5);
    snprintf(c->last_error, sizeof(c->last_error), "%s", e ? (const char *)e : "");
}

static sf_err sq_cursor(struct sf_state *base, const char *tenant, const char *output,
                       struct sf_cursor *c)
{
    struct sqlite_state *st = (struct sqlite_state *)base;
    memset(c, 0, sizeof(*c));
    c->watermark_ms = -1;
    pthread_mutex_lock(&st->lock);
    bind_pair(st->get, tenant, output);
    int rc = sqlite3_step(st->get);
    if (rc == SQLITE_ROW)
        read_cursor(st->get, c);
    sqlite3_reset(st->get);
    pthread_mutex_unlock(&st->lock);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SF_OK : SF_ERR_IO;
}

static int sq_seen(struct sf_state *base, const char *tenant, const char *output,
                  const char *alert_id, int64_t last_update_ms)
{
    struct sqlite_state *st = (struct sqlite_state *)base;
    pthread_mutex_lock(&st->lock);
    bind_pair(st->seen, tenant, output);
    sqlite3_bind_text(st->seen, 3, alert_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st->seen, 4, last_update_ms);
    int found = sqlite3_step(st->seen) == SQLITE_ROW;
    sqlite3_reset(st->seen);
    pthread_mutex_unlock(&st->lock);
    return found;
}

/* COMMIT, or ROLLBACK after an error or a failed COMMIT (disk full): a
 * transaction is never left open. */
static sf_err finish_tx(struct sqlite_state *st, sf_err err)
{
    if (!err && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        err = SF_ERR_IO;
    if (err && sqlite3_get_autocommit(st->db) == 0)
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return err;
}

static int ensure_row(struct sqlite_state *st, const char *tenant, const char *output)
{
    bind_pair(st->ensure, tenant, output);
    return step_done(st->ensure);
}

static sf_err sq_mark(struct sf_state *base, const char *tenant, const char *output,
                     const struct sf_seen *items, size_t n)
{
    struct sqlite_state *st = (struct sqlite_state *)base;
    sf_err err = SF_OK;
    int64_t nq = 0;

    if (n == 0)
        return SF_OK;
    pthread_mutex_lock(&st->lock);
    if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        err = SF_ERR_IO;
        goto out;
    }
    if (ensure_row(st, tenant, output) != 0)
        err = SF_ERR_IO;
    for (size_t i = 0; i < n && !err; i++) {
        bind_pair(st->mark, tenant, output);
        sqlite3_bind_text(st->mark, 3, items[i].alert_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st->mark, 4, items[i].last_update_ms);
        if (step_done(st->mark) != 0)
            err = SF_ERR_IO;
        nq += items[i].quarantined != 0;
    }
    if (!err) {
        bind_pair(st->count, tenant, output);
        sqlite3_bind_int64(st->count, 3, (int64_t)n - nq);
        sqlite3_bind_int64(st->count, 4, nq);
        if (step_done(st->count) != 0)
            err = SF_ERR_IO;
    }
    err = finish_tx(st, err);
out:
    pthread_mutex_unlock(&st->lock);
    return err;
}

static sf_err sq_advance(struct sf_state *base, const char *tenant, const char *output,
                        int64_t watermark_ms, int64_t prune_before_ms, int64_t now_ms)
{
    struct sqlite_state *st = (struct sqlite_state *)base;
    sf_err err = SF_OK;

    pthread_mutex_lock(&st->lock);
    if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        err = SF_ERR_IO;
        goto out;
    }
    if (ensure_row(st, tenant, output) != 0)
        err = SF_ERR_IO;
    if (!err) {
        bind_pair(st->advance, tenant, output);
        sqlite3_bind_int64(st->advance, 3, watermark_ms);
        sqlite3_bind_int64(st->advance, 4, now_ms);
        if (step_done(st->advance) != 0)
            err = SF_ERR_IO;
    }
    if (!err) {
        bind_pair(st->prune, tenant, output);
        sqlite3_bind_int64(st->prune, 3, prune_before_ms);
        if (step_done(st->prune) != 0)
            err = SF_ERR_IO;
    }
    err = finish_tx(st, err);
out:
    pthread_mutex_unlock(&st->lock);
    return err;
}

static sf_err sq_start(struct sf_state *base, const char *tenant, const char *output,
                      int64_t watermark_ms)
{
    struct sqlite_state *st = (struct sqlite_state *)base;
    sf_err err = SF_OK;

    pthread_mutex_lock(&st->lock);
    if (ensure_row(st, tenant, output) != 0)
        err = SF_ERR_IO;
    if (!err) {
        bind_pair(st->start, tenant, output);
        sqlite3_bind_int64(st->start, 3, watermark_ms);
        if (step_done(st->start) != 0)
            err = SF_ERR_IO;
    }
    pthread_mutex_unlock(&st->lock);
    return err;
}

static sf_err sq_note(struct sf_state *base, const char *tenant, const char *output,
                     const char *error, int64_t now_ms)
{
    struct sqlite_state *st = (struct sqlite_state *)base;
    sf_err err = SF_OK;

    pthread_mutex_lock(&st->lock);
    if (ensure_row(st, tenant, output) != 0)
        err = SF_ERR_IO;
    bind_pair(st->note, tenant, output);
    sqlite3_bind_text(st->note, 3, error, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st->note, 4, now_ms);
    if (step_done(st->note) != 0)
        err = SF_ERR_IO;
    pthread_mutex_unlock(&st->lock);
    return err;
}

static sf_err sq_each(struct sf_state *base, sf_state_row_fn fn, void *opaque)
{
    struct sqlite_state *st = (struct sqlite_state *)base;
    sqlite3_stmt *s = NULL;
    sf_err err = SF_OK;

    pthread_mutex_lock(&st->lock);
    if (sqlite3_prepare_v2(st->db, "SELECT watermark_ms, last_success_ms, last_attempt_ms,"
                           " delivered, quarantined, last_error, tenant, output FROM cursor"
                           " ORDER BY tenant, output", -1, &s, NULL) != SQLITE_OK) {
        err = SF_ERR_IO;
        goto out;
    }
    while (sqlite3_step(s) == SQLITE_ROW) {
        struct sf_cursor c;
        read_cursor(s, &c);
        fn(opaque, (const char *)sqlite3_column_text(s, 6),
           (const char *)sqlite3_column_text(s, 7), &c);
    }
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    return err;
}

static const struct sf_state_ops sqlite_ops = {
    .name = "sqlite",
    .cursor = sq_cursor,
    .seen = sq_seen,
    .mark = sq_mark,
    .advance = sq_advance,
    .start = sq_start,
    .note = sq_note,
    .each = sq_each,
    .close = sq_close,
};

sf_err sf_state_sqlite_with_db(struct sf_state *base, sf_state_db_fn fn, void *opaque)
{
    if (!base || base->ops != &sqlite_ops)
        return SF_ERR_INVALID;
    struct sqlite_state *st = (struct sqlite_state *)base;
    pthread_mutex_lock(&st->lock);
    sf_err err = fn(st->db, opaque);
    pthread_mutex_unlock(&st->lock);
    return err;
}

struct schema_arg {
    const char *sql;
    char *errbuf;
    size_t errlen;
};

static sf_err run_schema(sqlite3 *db, void *opaque)
{
    struct schema_arg *a = opaque;

    if (sqlite3_exec(db, a->sql, NULL, NULL, NULL) != SQLITE_OK) {
        sf_errf(a->errbuf, a->errlen, "state: schema: %s", sqlite3_errmsg(db));
        return SF_ERR_IO;
    }
    return SF_OK;
}

sf_err sf_state_sqlite_schema(struct sf_state *st, const char *sql, char *errbuf,
                              size_t errlen)
{
    struct schema_arg a = { sql, errbuf, errlen };
    sf_err err = sf_state_sqlite_with_db(st, run_schema, &a);

    if (err == SF_ERR_INVALID)
        sf_errf(errbuf, errlen, "state: not the SQLite backend");
    return err;
}
