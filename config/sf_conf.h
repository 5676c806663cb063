/* sf_conf.h - table-driven binding of a YAML mapping (sf_node) onto a C
 * struct: types, defaults-as-text, bounds, enums, durations, sizes, ${ENV}
 * and file: secrets, unknown keys rejected with the closest valid key.
 * The same table validates, fills defaults and prints docs (sf_conf_doc).
 * Every module with options (outputs, sources) owns its table. */
#ifndef SF_CONF_H
#define SF_CONF_H

#include <stddef.h>
#include "sf_buf.h"
#include "sf_yaml.h"

enum sf_ctype {
    SF_CT_STRING,   /* char* (owned). ${ENV} expanded. */
    SF_CT_SECRET,   /* char* (owned). ${ENV} or file:/path; never printed. */
    SF_CT_INT,      /* long long */
    SF_CT_BOOL,     /* int (0/1): true/false/yes/no/on/off */
    SF_CT_DURATION, /* long long milliseconds: "250ms", "30s", "5m", "24h", "1d" */
    SF_CT_SIZE,     /* long long bytes: "512", "64k"/"64KiB", "1MB", "1MiB", "2g" */
    SF_CT_ENUM,     /* char* (owned), one of .values */
    SF_CT_STRLIST,  /* struct sf_strlist: YAML list of scalars, or "a, b, c" */
    SF_CT_NODE,     /* const struct sf_node* (borrowed from the document) */
};

struct sf_strlist {
    char **v;   /* owned strings */
    size_t n;
};

struct sf_conf_entry {
    const char *key;
    enum sf_ctype type;
    const char *def;      /* default as text; NULL = no default */
    size_t offset;        /* offsetof(dst struct, field) */
    long long min, max;   /* INT / DURATION (ms) / SIZE (bytes); min == max == 0: unbounded */
    const char *const *values; /* ENUM: NULL-terminated list */
    int required;         /* missing key is an error */
    const char *desc;     /* one line, for docs */
};
#define SF_CONF_END { NULL, 0, NULL, 0, 0, 0, NULL, 0, NULL }

/* Bind map onto dst using table. path is the key path of map for messages
 * ("outputs[1]"; "" for the root). Every problem is appended to errs as one
 * line "FILE:LINE: path.key: message\n"; returns SF_ERR_CONFIG if there was
 * any, SF_ERR_NOMEM on allocation failure. Keys in `ignore` (NULL-terminated,
 * may be NULL) are accepted without binding (handled by the caller).
 * Fields of absent keys get the default or zero/NULL. */
sf_err sf_conf_bind(const struct sf_node *map, const char *path,
                    const struct sf_conf_entry *table, const char *const *ignore,
                    void *dst, struct sf_buf *errs);

/* Free what sf_conf_bind allocated in dst (strings, lists). */
void sf_conf_release(const struct sf_conf_entry *table, void *dst);

/* Append "FILE:LINE: path: message\n" for node to errs (printf-style). */
void sf_conf_error(struct sf_buf *errs, const struct sf_node *node, const char *path,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Scalars parsers shared with the rest of the code. 0 ok, -1 bad text. */
int sf_parse_duration_ms(const char *text, long long *ms);
int sf_parse_size(const char *text, long long *bytes);
int sf_parse_bool(const char *text, int *b);

/* Closest candidate to word (Levenshtein <= 3), or NULL. */
const char *sf_closest(const char *word, const char *const *candidates, size_t n);

/* Print the table as docs (key, type, default, description). */
void sf_conf_doc(const struct sf_conf_entry *table, struct sf_buf *out);

/* Added with the config loader (conf_bind.c / conf_scalar.c). */

/* A path written in the YAML file that node came from: absolute paths are
 * returned as they are, relative ones are joined to that file's directory
 * (node NULL: returned as is). malloc'd (caller frees), NULL on no memory. */
char *sf_conf_path(const struct sf_node *node, const char *path);

/* Shortest text the parsers above read back as the same value ("1m30s",
 * "64MiB", "1000"), for docs, messages and dumps. Always NUL-terminates. */
void sf_format_duration(long long ms, char *buf, size_t len);
void sf_format_size(long long bytes, char *buf, size_t len);

/* Keys every output has, handled by the config loader and the pipeline
 * (config.c); an output type passes this as `ignore` to sf_conf_bind. */
extern const char *const sf_output_common_keys[];

#endif
