/* state_sqlite.h - private to forwarder/: the SQLite backend's handle for
 * modules that keep their own tables in the same state_dir/siemfwd.db (the
 * notification state): one connection, one lock, so a table of theirs and
 * the cursors never contend through two connections. Works only on a handle
 * from sf_state_open / sf_state_open_readonly (not the Kafka backend). */
#ifndef SF_STATE_SQLITE_H
#define SF_STATE_SQLITE_H

#include <sqlite3.h>
#include "sf_state.h"

/* Called with the state's lock held; db is borrowed for the call only (do
 * not keep it, nor prepared statements, past the call). Its return value
 * is returned by sf_state_sqlite_with_db. */
typedef sf_err (*sf_state_db_fn)(sqlite3 *db, void *opaque);

/* Run fn(db, opaque) under the state's lock. SF_ERR_INVALID when st is not
 * the SQLite backend (cluster mode keeps cursors in Kafka). */
sf_err sf_state_sqlite_with_db(struct sf_state *st, sf_state_db_fn fn, void *opaque);

/* Create extra tables right after sf_state_open: sql is executed as is
 * (use CREATE TABLE IF NOT EXISTS; several statements allowed). SF_ERR_IO
 * with the SQLite message in errbuf (read-only handle, disk full). */
sf_err sf_state_sqlite_schema(struct sf_state *st, const char *sql, char *errbuf,
                              size_t errlen);

#endif
