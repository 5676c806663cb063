/* hec.h - private to the Splunk HEC output (hec.c, hec_batch.c, hec_ack.c):
 * the instance context, batches of rendered envelopes and the helpers the
 * three files share. Nothing here crosses the outputs/ directory. */
#ifndef SF_HEC_H
#define SF_HEC_H

#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <zlib.h>

#include "sf_buf.h"
#include "sf_http.h"
#include "sf_output.h"
#include "sf_tls_conf.h"


struct hec_conf {
    char *url;
    char *token;              /* secret: never logged, never in a reason */
    char *index;
    char *sourcetype;
    char *source;
    char *host;
    char *channel;
    int ack;
    int gzip;
    long long ack_timeout;    /* ms */
    long long ack_poll_interval;
    long long batch_max_bytes;
    long long batch_max_events;
    long long batch_timeout;
    long long timeout;
    const struct sf_node *tls; /* borrowed from the document during init */
};

/* Envelopes of consecutive records, one POST. offs[i] is where envelope i
 * starts in body; offs[n] == body.len. Once the server accepted the batch
 * (ack pending) the body is freed and only ids remain. */
struct hec_batch {
    struct sf_buf body;
    size_t *offs;             /* owned, n + 1 entries */
    uint64_t *ids;            /* owned, n entries */
    size_t n, cap;
    int64_t opened_ms;        /* monotonic time of the first envelope */
    int64_t sent_ms;          /* monotonic time the server accepted it */
    uint64_t ack_id;
    struct hec_batch *next;   /* in the work queue or the ack list */
};

/* A parsed HEC reply body: {"text":..., "code":N, "ackId":n, ...}. */
struct hec_reply {
    long http;                /* HTTP status, 0 when the transfer failed */
    int code;                 /* HEC code, -1 when absent or not JSON */
    long long ack_id;         /* -1 when absent */
    long long invalid_event;  /* invalid-event-number, -1 when absent */
    char text[256];           /* server text, or the curl error */
};

struct hec {
    struct sf_output *o;      /* borrowed: the instance that owns this ctx */
    struct hec_conf conf;
    struct sf_tls_conf tls;     /* owned: the bound tls: block */
    char channel[40];
    char *url_event, *url_ack, *url_health;  /* owned */
    struct curl_slist *hdr_data;   /* auth, channel, content type, gzip */
    struct curl_slist *hdr_plain;  /* same without Content-Encoding */
    struct sf_http *http;     /* the shared HTTP sender: one reused handle */
    struct sf_http_resp rs;   /* last response (body bounded) */
    struct sf_buf gz;         /* compressed body scratch */
    z_stream zs;
    int zs_ready;
    struct hec_batch *open;   /* filling; NULL when empty */
    struct hec_batch *work, **work_tail;   /* closed, waiting to be POSTed */
    struct hec_batch *acks, **acks_tail;   /* accepted, waiting for ack */
    int64_t last_ack_poll_ms;
    char ack_err[320];        /* why the last /ack poll failed, "" if it did not */
    struct sf_buf env;        /* scratch: the envelope being rendered */
    uint64_t reported;        /* verdicts reported so far (progress check) */
};

int64_t sf_hec_now_ms(void);

/* hec_batch.c */
struct hec_batch *sf_hec_batch_new(void);
void sf_hec_batch_free(struct hec_batch *b);
/* Append one rendered envelope (env, len) for record id to b. */
sf_err sf_hec_batch_add(struct hec_batch *b, const char *env, size_t len, uint64_t id);
/* New batch holding envelopes [from, to) of src (appended to dst if given). */
sf_err sf_hec_batch_take(struct hec_batch *dst, const struct hec_batch *src,
                         size_t from, size_t to);
/* Append the envelope for m to out (exact bytes of one /event object). */
sf_err sf_hec_envelope(struct hec *h, struct sf_buf *out, const struct sf_msg *m);
/* Append s as a JSON string literal; invalid UTF-8 becomes U+FFFD. */
sf_err sf_hec_json_str(struct sf_buf *out, const char *s, size_t len);
/* gzip (RFC 1952) of in into h->gz. */
sf_err sf_hec_gzip(struct hec *h, const char *in, size_t len);

/* hec.c */
/* Report verdict v for ids [from, to) of b. */
void sf_hec_report(struct hec *h, const struct hec_batch *b, size_t from, size_t to,
                   enum sf_verdict v, const char *reason);
/* One HTTP exchange on the shared handle; body NULL means GET. */
void sf_hec_exchange(struct hec *h, const char *url, const char *body, size_t len,
                     int data_headers, struct hec_reply *r);

/* hec_ack.c */
/* 1 for the codes that mean the token is refused (1-4, 16, 21, 22). */
int sf_hec_is_auth_code(int code);
/* Report the verdicts for b's reply r, splitting and re-queueing on 413
 * and invalid-event-number; returns 1 if b is now owned by the ack list
 * (else the caller frees b). */
int sf_hec_judge(struct hec *h, struct hec_batch *b, const struct hec_reply *r);
/* Parse a reply body into r (http already set). */
void sf_hec_parse_reply(const char *body, size_t len, struct hec_reply *r);
/* Poll /ack for every pending batch if due (or force), deliver the acked,
 * expire those past ack_timeout. Returns how many verdicts were reported. */
size_t sf_hec_ack_service(struct hec *h, int force);
/* Records in batches still waiting for their ack. */
size_t sf_hec_ack_pending(const struct hec *h);
/* Next monotonic time service has work (poll due or expiry); 0 = none. */
int64_t sf_hec_ack_next_due(const struct hec *h);

#endif
