/* cef_dict.h - private to the CEF renderer and key check: the CEF extension
 * dictionary (formats-and-outputs.md §1.5) with per-key maximum lengths.
 * The table is static and read-only; entries are never freed. */
#ifndef CEF_DICT_H
#define CEF_DICT_H

#include <stddef.h>

enum cef_key_kind {
    CEF_KEY_PRODUCER,  /* emitters may send it (incl. the CEF 1.2 "both" keys) */
    CEF_KEY_CONSUMER,  /* set by ArcSight after ingestion: never emit */
};

struct sf_cef_key {
    const char *key;
    unsigned short max_chars;  /* 0 = no length given by the spec */
    unsigned char kind;        /* enum cef_key_kind */
};

/* Exact, case-sensitive lookup; NULL when key is not in the dictionary. */
const struct sf_cef_key *sf_cef_dict_find(const char *key);
/* Closest producer key by edit distance (case-insensitive), NULL if none
 * is close enough to be a plausible typo. */
const char *sf_cef_dict_suggest(const char *key);

#endif
