/* json_stream.c - alerts from input fed in pieces. A top-level array (or the
 * "value" array of an API page) is split here: the brackets, commas and
 * whitespace between elements are read by hand, each element is parsed by
 * its own json-c tokener. Anything else - JSON lines, bare objects, and any
 * byte between elements the splitter does not expect (a comment, garbage, a
 * bracket) - goes to a json-c tokener primed with the state json-c would
 * have had there, so error messages and positions stay those of one
 * json_tokener_parse_ex() over the whole input (the reader this replaced). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_json_stream.h"

#define MAX_DEPTH 64   /* as the whole-buffer reader: json-c counts the container levels */
#define TOK_CHUNK ((size_t)INT32_MAX)
#define CARRY_MAX ((size_t)64 * 1024)

enum mode {
    M_TOP,       /* between top-level values */
    M_SKIPLINE,  /* after malformed JSON: up to the next newline */
    M_VALUE,     /* tok parses a whole top-level value (or the tail of a container) */
    M_OBJECT,    /* tok parses a top-level object while scan looks for "value": [ */
    M_ARR_OPEN,  /* after '[' */
    M_ARR_SEP,   /* after ',' */
    M_ARR_ELEM,  /* etok parses one element */
    M_ARR_NEXT,  /* after an element */
    M_PENDING,   /* a value ended with the piece; trailing whitespace may follow */
    M_TRAIL,     /* tok reads a comment after a pending value */
};

/* Just enough lexing of an object's prefix to see a depth-1 key "value"
 * followed by ':' and '['. Only ever trusted on a prefix json-c accepted. */
enum lex { L_CODE, L_STR, L_ESC, L_SLASH, L_BLOCK, L_STAR, L_LINE };
enum key { K_NONE, K_EXPECT, K_IN, K_VALUE, K_COLON };

struct scan {
    enum lex lex;
    enum key key;
    int depth, done, match;
    char quote;
    size_t keylen;
};

struct sf_json_stream {
    sf_alert_fn on_alert;
    sf_alert_err_fn on_err;
    void *opaque;
    json_tokener *tok;      /* whole values, tails and trails: depth MAX_DEPTH */
    json_tokener *etok[2];  /* elements of an array / of a page's "value" */
    enum mode mode;
    int page;               /* the container being split is a page's array */
    int fresh;              /* tok has read nothing of this value yet */
    int elem_num;           /* the element being parsed is a number */
    char elem_last;         /* the byte before this piece, inside the element */
    char *carry;            /* a piece's bytes after its last delimiter (owned) */
    size_t carry_len;
    size_t skip;            /* synthetic elements heading the tail value */
    json_object *pending;   /* owned while mode is M_PENDING or M_TRAIL */
    size_t line, start_line, index, bad;
    sf_err stopped;         /* a callback's error: reading is over */
    struct scan sc;
};

struct sf_json_stream *sf_json_stream_new(sf_alert_fn on_alert, sf_alert_err_fn on_err,
                                          void *opaque)
{
    struct sf_json_stream *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->on_alert = on_alert;
    s->on_err = on_err;
    s->opaque = opaque;
    s->line = 1;
    s->carry = malloc(CARRY_MAX);
    s->tok = json_tokener_new_ex(MAX_DEPTH);
    s->etok[0] = json_tokener_new_ex(MAX_DEPTH - 1);
    s->etok[1] = json_tokener_new_ex(MAX_DEPTH - 2);
    if (!s->carry || !s->tok || !s->etok[0] || !s->etok[1]) {
        sf_json_stream_free(s);
        return NULL;
    }
    return s;
}

void sf_json_stream_free(struct sf_json_stream *s)
{
    if (!s)
        return;
    if (s->mode == M_PENDING || s->mode == M_TRAIL)
        json_object_put(s->pending);
    free(s->carry);
    if (s->tok)
        json_tokener_free(s->tok);
    for (int i = 0; i < 2; i++)
        if (s->etok[i])
            json_tokener_free(s->etok[i]);
    free(s);
}

static size_t count_lines(const char *p, size_t n)
{
    size_t lines = 0;
    for (const char *end = p + n; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
        lines++;
    return lines;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* One tokener call over at most TOK_CHUNK bytes; *used is how far it read. */
static json_object *parse(json_tokener *tok, const char *p, size_t n, size_t *used,
                          enum json_tokener_error *jerr)
{
    json_object *v = json_tokener_parse_ex(tok, p, (int)(n > TOK_CHUNK ? TOK_CHUNK : n));
    *jerr = json_tokener_get_error(tok);
    *used = json_tokener_get_parse_end(tok);
    return v;
}

static void report(struct sf_json_stream *s, size_t line, enum json_tokener_error jerr)
{
    struct sf_alert_pos pos = { s->index + 1, line };
    char msg[160];
    snprintf(msg, sizeof(msg), "malformed JSON: %s", json_tokener_error_desc(jerr));
    s->bad++;
    if (s->on_err)
        s->on_err(s->opaque, &pos, msg);
}

/* Malformed JSON at p[used]: report its line, drop the value, skip the line. */
static size_t fail(struct sf_json_stream *s, const char *p, size_t used,
                   enum json_tokener_error jerr)
{
    s->line += count_lines(p, used);
    report(s, s->line, jerr);
    if (s->mode == M_TRAIL)
        json_object_put(s->pending);
    s->mode = M_SKIPLINE;
    return used;
}

static sf_err emit(struct sf_json_stream *s, json_object *v)
{
    struct sf_alert_pos pos = { ++s->index, s->start_line };
    return s->on_alert(s->opaque, v, &pos);
}

/* A whole top-level value: an array or a page yields its elements (after
 * the synthetic ones a primed tail began with), anything else itself. */
static sf_err emit_value(struct sf_json_stream *s, json_object *v)
{
    json_object *arr = NULL;
    size_t from = 0;

    if (json_object_is_type(v, json_type_array))
        arr = v;
    else if (json_object_is_type(v, json_type_object) &&
             json_object_object_get_ex(v, "value", &arr) &&
             json_object_is_type(arr, json_type_array))
        ; /* API page: {"@odata.context": ..., "value": [...]} */
    else
        arr = NULL;
    if (!arr)
        return emit(s, v);
    size_t n = json_object_array_length(arr);
    if (s->skip && n) {
        json_object *first = json_object_array_get_idx(arr, 0);
        if (json_object_is_type(first, json_type_array) && json_object_array_length(first) == 0)
            from = s->skip;
    }
    for (size_t i = from; i < n; i++) {
        sf_err err = emit(s, json_object_array_get_idx(arr, i));
        if (err)
            return err;
    }
    return SF_OK;
}

static sf_err finish_value(struct sf_json_stream *s, json_object *v)
{
    sf_err err = emit_value(s, v);
    json_object_put(v);
    s->mode = M_TOP;
    return err;
}

/* Hand the rest of a container to tok in the state json-c would be in:
 * after '[' ("["), after an element ("[[]") or after ',' ("[[],"), inside a
 * page's array when it is one. The synthetic [] is skipped when emitting. */
static void to_tail(struct sf_json_stream *s)
{
    static const char *const arr[3] = { "[", "[[]", "[[]," };
    int st = s->mode == M_ARR_OPEN ? 0 : s->mode == M_ARR_NEXT ? 1 : 2;
    char prefix[32];
    size_t used;
    enum json_tokener_error jerr;

    snprintf(prefix, sizeof(prefix), "%s%s", s->page ? "{\"value\":" : "", arr[st]);
    json_tokener_reset(s->tok);
    json_object_put(parse(s->tok, prefix, strlen(prefix), &used, &jerr));
    s->skip = st ? 1 : 0;
    s->mode = M_VALUE;
}

/* tok finished a top-level value at p[used]. If that is the end of the
 * piece, whitespace or a comment in the next piece still belongs to it (a
 * bad comment there would lose it): hold it back until a value starts. */
static sf_err value_done(struct sf_json_stream *s, json_object *v, size_t used, size_t n)
{
    if (used < n)
        return finish_value(s, v);
    s->pending = v;
    s->mode = M_PENDING;
    return SF_OK;
}

static size_t step_top(struct sf_json_stream *s, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && is_ws(p[i])) {
        if (p[i] == '\n')
            s->line++;
        i++;
    }
    if (i == n)
        return i;
    s->start_line = s->line;
    s->skip = 0;
    s->page = 0;
    s->fresh = 1;
    json_tokener_reset(s->tok);
    if (p[i] == '[') {
        s->mode = M_ARR_OPEN;
        return i + 1;
    }
    if (p[i] == '{') {
        memset(&s->sc, 0, sizeof(s->sc));
        s->mode = M_OBJECT;
    } else {
        s->mode = M_VALUE;
    }
    return i;
}

static size_t step_skipline(struct sf_json_stream *s, const char *p, size_t n)
{
    const char *nl = memchr(p, '\n', n);
    if (!nl)
        return n;
    s->mode = M_TOP;
    return (size_t)(nl - p); /* M_TOP counts the newline */
}

static size_t step_value(struct sf_json_stream *s, const char *p, size_t n, sf_err *err)
{
    size_t used;
    enum json_tokener_error jerr;
    json_object *v = parse(s->tok, p, n, &used, &jerr);
    int fresh = s->fresh;

    s->fresh = 0;
    if (jerr == json_tokener_continue) {
        s->line += count_lines(p, used);
        return used;
    }
    if (jerr != json_tokener_success)
        return fail(s, p, used, jerr);
    s->line += count_lines(p, used);
    if (!used && fresh)
        used = 1; /* as the whole-buffer reader: never stall (0 is fine mid-value:
                     a number or literal ended by this piece's first byte) */
    *err = value_done(s, v, used, n);
    return used;
}

static void scan_code(struct scan *sc, char c)
{
    switch (c) {
    case ' ': case '\t': case '\r': case '\n':
        return;
    case '/':
        sc->lex = L_SLASH;
        return;
    case '"': case '\'':
        sc->lex = L_STR;
        sc->quote = c;
        if (sc->depth == 1 && sc->key == K_EXPECT) {
            sc->key = K_IN;
            sc->keylen = 0;
            sc->match = 1;
        } else {
            sc->key = K_NONE;
        }
        return;
    case ':':
        sc->key = sc->key == K_VALUE ? K_COLON : K_NONE;
        return;
    case ',':
        sc->key = sc->depth == 1 ? K_EXPECT : K_NONE;
        return;
    case '{': case '[':
        sc->key = ++sc->depth == 1 ? K_EXPECT : K_NONE;
        return;
    case '}': case ']':
        if (--sc->depth <= 0)
            sc->done = 1;
        sc->key = K_NONE;
        return;
    default:
        sc->key = K_NONE;
    }
}

static void scan_str(struct scan *sc, char c)
{
    if (sc->lex == L_ESC) {
        sc->lex = L_STR;
        sc->match = 0;
    } else if (c == '\\') {
        sc->lex = L_ESC;
        sc->match = 0;
    } else if (c == sc->quote) {
        sc->lex = L_CODE;
        if (sc->key == K_IN)
            sc->key = sc->match && sc->keylen == 5 ? K_VALUE : K_NONE;
    } else if (sc->key == K_IN) {
        if (sc->keylen < 5 && c == "value"[sc->keylen])
            sc->keylen++;
        else
            sc->match = 0;
    }
}

/* Index of the '[' opening a depth-1 "value" array, or n. */
static size_t scan(struct scan *sc, const char *p, size_t n)
{
    for (size_t i = 0; i < n && !sc->done; i++) {
        char c = p[i];
        switch (sc->lex) {
        case L_CODE:
            if (c == '[' && sc->depth == 1 && sc->key == K_COLON)
                return i;
            scan_code(sc, c);
            break;
        case L_STR: case L_ESC:
            scan_str(sc, c);
            break;
        case L_SLASH:
            sc->lex = c == '*' ? L_BLOCK : c == '/' ? L_LINE : L_CODE;
            if (sc->lex == L_CODE)
                sc->done = 1; /* json-c rejects it; stop guessing */
            break;
        case L_BLOCK:
            if (c == '*')
                sc->lex = L_STAR;
            break;
        case L_STAR:
            sc->lex = c == '/' ? L_CODE : c == '*' ? L_STAR : L_BLOCK;
            break;
        case L_LINE:
            if (c == '\n')
                sc->lex = L_CODE;
            break;
        }
    }
    return n;
}

/* A top-level object: parsed whole unless it turns out to be a page, whose
 * "value" array is then split like a top-level one. */
static size_t step_object(struct sf_json_stream *s, const char *p, size_t n, sf_err *err)
{
    size_t cut = scan(&s->sc, p, n > TOK_CHUNK ? TOK_CHUNK : n);
    size_t used = 0;
    enum json_tokener_error jerr = json_tokener_continue;
    json_object *v = NULL;

    if (cut)
        v = parse(s->tok, p, cut, &used, &jerr);
    if (jerr == json_tokener_success) {
        s->line += count_lines(p, used);
        *err = value_done(s, v, used, n);
        return used;
    }
    if (jerr != json_tokener_continue)
        return fail(s, p, used, jerr);
    s->line += count_lines(p, used);
    if (cut == n || used < cut)
        return used;
    /* "value": [ - the object's members so far are dropped, as emit_value would */
    json_tokener_reset(s->tok);
    s->page = 1;
    s->mode = M_ARR_OPEN;
    return cut + 1;
}

static size_t step_between(struct sf_json_stream *s, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && is_ws(p[i])) {
        if (p[i] == '\n')
            s->line++;
        i++;
    }
    if (i == n)
        return i;
    if (s->mode == M_ARR_NEXT && p[i] == ',') {
        s->mode = M_ARR_SEP;
        return i + 1;
    }
    if (s->mode == M_ARR_NEXT || p[i] == ']' || p[i] == '/') {
        to_tail(s);
        return i;
    }
    json_tokener_reset(s->etok[s->page]);
    s->elem_num = p[i] == '-' || (p[i] >= '0' && p[i] <= '9');
    s->mode = M_ARR_ELEM;
    return i;
}

/* json-c ends a number at depth 0 on any byte (the next value may start
 * there) but inside a container only on these; the element tokener runs at
 * depth 0, so the container's rule is checked here. A number was cut short
 * by c when the byte before c is still one of its own (not space, not the
 * end of a comment, not the 'y' of -Infinity). */
static int number_cut_short(char before, char c)
{
    if (!strchr("0123456789.eE+-", before) || !before)
        return 0;
    return !(c == ',' || c == ']' || c == '}' || c == '/' || c == 'I' || c == 'i' || is_ws(c));
}

static size_t step_elem(struct sf_json_stream *s, const char *p, size_t n, sf_err *err)
{
    size_t used;
    enum json_tokener_error jerr;
    json_object *v = parse(s->etok[s->page], p, n, &used, &jerr);

    char before = used ? p[used - 1] : s->elem_last;
    if (jerr == json_tokener_success && s->elem_num && used < n &&
        number_cut_short(before, p[used])) {
        json_object_put(v);
        jerr = json_tokener_error_parse_number;
    }
    if (jerr != json_tokener_success && jerr != json_tokener_continue)
        return fail(s, p, used, jerr);
    s->line += count_lines(p, used);
    if (used)
        s->elem_last = p[used - 1];
    if (jerr == json_tokener_success) {
        s->mode = M_ARR_NEXT;
        *err = emit(s, v);
        json_object_put(v);
    }
    return used;
}

static size_t step_pending(struct sf_json_stream *s, const char *p, size_t n, sf_err *err)
{
    size_t i = 0, used;
    enum json_tokener_error jerr;

    while (i < n && is_ws(p[i])) {
        if (p[i] == '\n')
            s->line++;
        i++;
    }
    if (i == n)
        return i;
    if (p[i] != '/') {
        *err = finish_value(s, s->pending);
        return i;
    }
    /* a comment after a finished value: json-c reads it as trailing space */
    json_tokener_reset(s->tok);
    json_object_put(parse(s->tok, "0", 1, &used, &jerr));
    s->mode = M_TRAIL;
    return i;
}

static size_t step_trail(struct sf_json_stream *s, const char *p, size_t n, sf_err *err)
{
    size_t used;
    enum json_tokener_error jerr;
    json_object *v = parse(s->tok, p, n, &used, &jerr);

    json_object_put(v);
    if (jerr != json_tokener_success && jerr != json_tokener_continue)
        return fail(s, p, used, jerr);
    s->line += count_lines(p, used);
    if (jerr == json_tokener_success) {
        if (used < n)
            *err = finish_value(s, s->pending);
        else
            s->mode = M_PENDING;
    }
    return used;
}

static sf_err process(struct sf_json_stream *s, const char *data, size_t len)
{
    size_t off = 0;
    sf_err err = s->stopped;

    while (off < len && !err) {
        const char *p = data + off;
        size_t n = len - off;
        switch (s->mode) {
        case M_TOP: off += step_top(s, p, n); break;
        case M_SKIPLINE: off += step_skipline(s, p, n); break;
        case M_VALUE: off += step_value(s, p, n, &err); break;
        case M_OBJECT: off += step_object(s, p, n, &err); break;
        case M_ARR_OPEN: case M_ARR_SEP: case M_ARR_NEXT: off += step_between(s, p, n); break;
        case M_ARR_ELEM: off += step_elem(s, p, n, &err); break;
        case M_PENDING: off += step_pending(s, p, n, &err); break;
        case M_TRAIL: off += step_trail(s, p, n, &err); break;
        }
    }
    s->stopped = err;
    return err;
}

static int is_delim(char c)
{
    return is_ws(c) || c == ',' || c == ':' || c == '[' || c == ']' || c == '{' ||
           c == '}' || c == '"';
}

/* json-c does not carry all of a number's state from one call to the next
 * ("1" then "-2" reads as "1-2", one call reads "1" and then "-2"), so
 * pieces are cut after a delimiter: the bytes after a piece's last one wait
 * for the next piece (up to CARRY_MAX, past which a token is fed as it is). */
sf_err sf_json_stream_feed(struct sf_json_stream *s, const char *data, size_t len)
{
    sf_err err = s->stopped;
    size_t i = 0, cut = len;

    if (!len)
        return err;
    if (s->carry_len) {
        while (i < len && s->carry_len < CARRY_MAX) {
            s->carry[s->carry_len++] = data[i];
            if (is_delim(data[i++]))
                break;
        }
        if (i == len && !is_delim(data[len - 1]) && s->carry_len < CARRY_MAX)
            return err; /* still inside one token */
        err = process(s, s->carry, s->carry_len);
        s->carry_len = 0;
    }
    while (cut > i && !is_delim(data[cut - 1]) && len - cut < CARRY_MAX)
        cut--;
    if (!err)
        err = process(s, data + i, cut - i);
    memcpy(s->carry, data + cut, len - cut);
    s->carry_len = len - cut;
    return err;
}

sf_err sf_json_stream_end(struct sf_json_stream *s, size_t *nbad)
{
    sf_err err = s->stopped;

    if (!err && s->carry_len)
        err = process(s, s->carry, s->carry_len);
    s->carry_len = 0;

    switch (err ? M_TOP : s->mode) {
    case M_TOP: case M_SKIPLINE:
        break;
    case M_PENDING:
        err = finish_value(s, s->pending);
        break;
    case M_TRAIL:
        json_object_put(s->pending);
        /* fall through */
    default:
        /* a value left open: json-c would still be waiting for the rest */
        report(s, s->line, json_tokener_error_parse_eof);
        s->mode = M_TOP;
        break;
    }
    if (nbad)
        *nbad = s->bad;
    s->stopped = err;
    return err;
}
