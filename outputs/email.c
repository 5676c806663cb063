/* email.c - the `email` transport: each record it is given is a complete
 * RFC 5322 message, sent to the configured recipients over SMTP with
 * libcurl: smtp:// with STARTTLS required, or smtps:// (implicit TLS);
 * optional AUTH. Verdicts from the server's replies: 250 after DATA
 * delivered, 4xx retry, 5xx for the recipients or the message rejected
 * (quarantined with the server's text). Knows no rules and writes no
 * message: the forwarder's notification policy (forwarder/notify_policy.c)
 * and the renderer (formats/notify_email.c) do. The ctx owns its curl
 * handle and config. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sf_conf.h"
#include "sf_curl_tls.h"
#include "sf_log.h"
#include "sf_output.h"
#include "sf_redact.h"

#if LIBCURL_VERSION_NUM >= 0x080200
#define RCPT_ALLOWFAILS CURLOPT_MAIL_RCPT_ALLOWFAILS
#else
#define RCPT_ALLOWFAILS CURLOPT_MAIL_RCPT_ALLLOWFAILS   /* its 7.69-8.1 spelling */
#endif

enum smtp_cmd { CMD_NONE, CMD_EHLO, CMD_STARTTLS, CMD_AUTH, CMD_MAIL, CMD_RCPT, CMD_DATA,
                CMD_BODY, CMD_OTHER };

struct email_conf {
    char *url, *from, *username, *password;
    struct sf_strlist to;
    const struct sf_node *include, *tls, *legacy_ca_file;
    long long timeout;
};

struct email {
    struct sf_output *o;
    struct email_conf c;
    struct sf_tls_conf tls;    /* owned: the bound tls: block */
    CURL *curl;
    struct curl_slist *rcpt;
    char *mail_from;           /* "<from>" */
    const char *msg;           /* the message being uploaded (the record) */
    size_t msg_len;
    size_t pos;
    /* what the server said in this transaction (debug callback) */
    enum smtp_cmd cmd;
    char rcpt_addr[320];
    char reply[400];           /* the last reply */
    int code;
    enum smtp_cmd fail_cmd;    /* the first 4xx/5xx reply and its command: */
    char fail_reply[400];      /* curl may say RSET or QUIT after it */
    int fail_code;
    struct sf_buf refused;     /* "addr: reply; " for each refused recipient */
    char curl_err[CURL_ERROR_SIZE];
};

#define C(f) offsetof(struct email_conf, f)
static const struct sf_conf_entry email_table[] = {
    { "url", SF_CT_STRING, NULL, C(url), 0, 0, NULL, 1,
      "smtp://host:587 (STARTTLS required) or smtps://host:465 (implicit TLS); a path "
      "sets the EHLO name" },
    { "from", SF_CT_STRING, NULL, C(from), 0, 0, NULL, 1, "sender address" },
    { "to", SF_CT_STRLIST, NULL, C(to), 0, 0, NULL, 1, "recipient addresses" },
    { "username", SF_CT_STRING, NULL, C(username), 0, 0, NULL, 0, "SMTP AUTH user" },
    { "password", SF_CT_SECRET, NULL, C(password), 0, 0, NULL, 0,
      "SMTP AUTH password: ${ENV} or file:/path" },
    { "tls", SF_CT_NODE, NULL, C(tls), 0, 0, NULL, 0,
      "TLS (STARTTLS or implicit): ca_file, cert_file, key_file, verify (the shared "
      "tls: table)" },
    { "ca_file", SF_CT_NODE, NULL, C(legacy_ca_file), 0, 0, NULL, 0,
      "deprecated (warned) spelling of tls.ca_file, same meaning" },
    { "include", SF_CT_NODE, NULL, C(include), 0, 0, NULL, 0,
      "{organization, portal_link, device}: what the message shows (all true; read by "
      "the notification renderer)" },
    { "timeout", SF_CT_DURATION, "60s", C(timeout), 1000, 600000, NULL, 0,
      "deadline of one SMTP transaction" },
    SF_CONF_END
};
#undef C


/* A bare addr-spec: printable ASCII, one '@', nothing a header could abuse. */
static int valid_address(const char *s)
{
    const char *at = strchr(s, '@');

    if (!at || at == s || !at[1] || strchr(at + 1, '@'))
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || strchr("<>(),;:\"[]\\", *s))
            return 0;
    return 1;
}

static void key_error(struct sf_buf *errs, const struct sf_node *cfg, const char *path,
                      const char *key, const char *msg, const char *arg)
{
    char kp[320];
    const struct sf_node *at = sf_node_get(cfg, key);

    snprintf(kp, sizeof(kp), "%s.%s", path, key);
    sf_conf_error(errs, at ? at : cfg, kp, "%s%s", msg, arg ? arg : "");
}

static sf_err check_conf(struct email *e, const struct sf_node *cfg, const char *path,
                         struct sf_buf *errs)
{
    struct email_conf *c = &e->c;
    sf_err err = SF_OK;

    if (strncmp(c->url, "smtp://", 7) != 0 && strncmp(c->url, "smtps://", 8) != 0) {
        key_error(errs, cfg, path, "url", "must start with smtp:// (STARTTLS) or smtps://",
                  NULL);
        err = SF_ERR_CONFIG;
    }
    if (!valid_address(c->from)) {
        key_error(errs, cfg, path, "from", "not a plain address like siemfwd@mssp.example: ",
                  c->from);
        err = SF_ERR_CONFIG;
    }
    for (size_t i = 0; i < c->to.n; i++) {
        if (!valid_address(c->to.v[i])) {
            key_error(errs, cfg, path, "to", "not a plain address: ", c->to.v[i]);
            err = SF_ERR_CONFIG;
        }
    }
    if (!c->to.n) {
        key_error(errs, cfg, path, "to", "needs at least one recipient", NULL);
        err = SF_ERR_CONFIG;
    }
    if (!c->username != !c->password) {
        key_error(errs, cfg, path, c->username ? "username" : "password",
                  "username and password go together", NULL);
        err = SF_ERR_CONFIG;
    }
    return err;
}

static void email_destroy(struct sf_output *o);

static sf_err email_init(struct sf_output *o, const struct sf_node *cfg, const char *path,
                         struct sf_buf *errs)
{
    struct email *e = calloc(1, sizeof(*e));
    sf_err err;

    if (!e)
        return SF_ERR_NOMEM;
    e->o = o;
    o->ctx = e;
    sf_buf_init(&e->refused, 4096);
    err = sf_conf_bind(cfg, path, email_table, sf_output_common_keys, &e->c, errs);
    if (!err)
        err = check_conf(e, cfg, path, errs);
    if (!err) {
        struct sf_tls_bind_opts to = { .who = o->name, .legacy_ca_file = "ca_file",
                                       .no_server_name = 1 };
        err = sf_tls_bind(cfg, path, &to, &e->tls, errs);
    }
    /* the password itself is registered by the binder; AUTH PLAIN sends
     * base64("\0user\0password") as one piece */
    if (!err && e->c.password &&
        sf_redact_add_plain(e->c.username, e->c.password) == SF_ERR_NOMEM)
        err = SF_ERR_NOMEM;
    /* borrowed from the document: not kept past init */
    e->c.include = e->c.tls = e->c.legacy_ca_file = NULL;
    if (err) {
        email_destroy(o);
        o->ctx = NULL;
    }
    return err;
}

static void capture_reply(struct email *e, const char *p, size_t n)
{
    char *full;

    while (n && (p[n - 1] == '\n' || p[n - 1] == '\r'))
        n--;
    /* A server may quote what we sent (a 535 echoing AUTH PLAIN): the whole
     * reply is redacted before it is cut to fit, logged or stored. */
    if ((full = malloc(n + 1)) != NULL) {
        for (size_t i = 0; i < n; i++)
            full[i] = (unsigned char)p[i] < 0x20 ? ' ' : p[i];
        full[n] = '\0';
        sf_redact_copy(e->reply, sizeof(e->reply), full);
        free(full);
    } else {
        if (n > sizeof(e->reply) - 1)
            n = sizeof(e->reply) - 1;
        for (size_t i = 0; i < n; i++)
            e->reply[i] = (unsigned char)p[i] < 0x20 ? ' ' : p[i];
        e->reply[n] = '\0';
        sf_redact(e->reply, sizeof(e->reply));
    }
    n = strlen(e->reply);
    e->code = n >= 3 ? atoi(e->reply) : 0;
    if (e->code >= 400 && !e->fail_code && (n < 4 || e->reply[3] != '-')) {
        e->fail_code = e->code;
        e->fail_cmd = e->cmd;
        memcpy(e->fail_reply, e->reply, sizeof(e->reply));
    }
    if (e->cmd == CMD_DATA && e->code == 354)
        e->cmd = CMD_BODY;   /* the next reply is about the message itself */
    else if (e->cmd == CMD_RCPT && e->code >= 400 && (n < 4 || e->reply[3] != '-'))
        sf_buf_printf(&e->refused, "%s%s: %s", e->refused.len ? "; " : "", e->rcpt_addr,
                      e->reply);
}

static void capture_cmd(struct email *e, const char *p, size_t n)
{
    static const struct { const char *verb; enum smtp_cmd cmd; } verbs[] = {
        { "EHLO", CMD_EHLO }, { "HELO", CMD_EHLO }, { "STARTTLS", CMD_STARTTLS },
        { "AUTH", CMD_AUTH }, { "MAIL FROM", CMD_MAIL }, { "RCPT TO", CMD_RCPT },
        { "DATA", CMD_DATA },
    };

    e->cmd = CMD_OTHER;   /* e.g. base64 AUTH continuation lines: never copied */
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        size_t k = strlen(verbs[i].verb);
        if (n >= k && strncasecmp(p, verbs[i].verb, k) == 0) {
            e->cmd = verbs[i].cmd;
            break;
        }
    }
    if (e->cmd == CMD_RCPT && n >= 8) {
        size_t k = n - 8 < sizeof(e->rcpt_addr) - 1 ? n - 8 : sizeof(e->rcpt_addr) - 1;
        memcpy(e->rcpt_addr, p + 8, k);
        while (k && (e->rcpt_addr[k - 1] == '\n' || e->rcpt_addr[k - 1] == '\r'))
            k--;
        e->rcpt_addr[k] = '\0';
    }
}

static int on_debug(CURL *c, curl_infotype type, char *data, size_t size, void *opaque)
{
    if (type == CURLINFO_HEADER_OUT)
        capture_cmd(opaque, data, size);
    else if (type == CURLINFO_HEADER_IN)
        capture_reply(opaque, data, size);
    return 0;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *opaque)
{
    struct email *e = opaque;
    size_t n = e->msg_len - e->pos;

    if (n > size * nitems)
        n = size * nitems;
    memcpy(buf, e->msg + e->pos, n);
    e->pos += n;
    return n;
}

static sf_err setup_curl(struct email *e)
{
    CURL *c = curl_easy_init();
    size_t n = strlen(e->c.from) + 3;

    if (!c || !(e->mail_from = malloc(n))) {
        if (c)
            curl_easy_cleanup(c);
        return SF_ERR_NOMEM;
    }
    snprintf(e->mail_from, n, "<%s>", e->c.from);
    for (size_t i = 0; i < e->c.to.n; i++) {
        struct curl_slist *l = curl_slist_append(e->rcpt, e->c.to.v[i]);
        if (!l) {
            curl_easy_cleanup(c);
            return SF_ERR_NOMEM;
        }
        e->rcpt = l;
    }
    e->curl = c;
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_URL, e->c.url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, e->curl_err);
    /* smtp://: STARTTLS or nothing, so neither AUTH nor an alert goes in clear */
    curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (sf_curl_tls_apply(c, &e->tls, NULL, 0) != SF_OK)
        return SF_ERR_INTERNAL;   /* e->curl is set: email_destroy cleans up */
    if (e->c.username) {
        curl_easy_setopt(c, CURLOPT_USERNAME, e->c.username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, e->c.password);
    }
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, e->mail_from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, e->rcpt);
    /* deliver to the recipients the server accepts; refused ones are logged */
    curl_easy_setopt(c, RCPT_ALLOWFAILS, 1L);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, e);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)e->c.timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(e->c.timeout < 15000
                                                         ? e->c.timeout : 15000));
    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);   /* replies reach on_debug, not stderr */
    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, e);
    return SF_OK;
}

static void reset_capture(struct email *e)
{
    e->cmd = e->fail_cmd = CMD_NONE;
    e->code = e->fail_code = 0;
    e->reply[0] = e->fail_reply[0] = '\0';
    e->curl_err[0] = '\0';
    sf_buf_reset(&e->refused);
}

/* The verdict of one transaction (RFC 5321 §4.2: 4yz transient, 5yz permanent). */
static enum sf_verdict judge(struct email *e, CURLcode rc, char *answer, size_t len)
{
    const char *why = e->curl_err[0] ? e->curl_err : curl_easy_strerror(rc);

    if (rc == CURLE_OK) {
        snprintf(answer, len, "%s", e->reply);
        if (e->refused.len)
            sf_warn(NULL, e->o->name, "recipients refused (the others got it): %s",
                    e->refused.data);
        return SF_V_DELIVERED;
    }
    if (rc == CURLE_USE_SSL_FAILED) {
        snprintf(answer, len, "%s: the server does not offer STARTTLS (smtp:// requires it; "
                 "smtps:// is implicit TLS)", e->c.url);
        return SF_V_FATAL;
    }
    if (e->fail_code) {   /* judge by the first refusal, not by a later RSET/QUIT */
        e->code = e->fail_code;
        e->cmd = e->fail_cmd;
        memcpy(e->reply, e->fail_reply, sizeof(e->reply));
    }
    if (rc == CURLE_LOGIN_DENIED || (e->cmd == CMD_AUTH && e->code >= 500)) {
        snprintf(answer, len, "%s: authentication refused: %s", e->c.url, e->reply);
        return SF_V_FATAL;
    }
    if (e->code >= 500 && (e->cmd == CMD_RCPT || e->cmd == CMD_DATA || e->cmd == CMD_BODY)) {
        snprintf(answer, len, "%s", e->refused.len ? e->refused.data : e->reply);
        return SF_V_REJECTED;
    }
    if (e->code >= 500) {
        snprintf(answer, len, "%s: %s refused: %s", e->c.url,
                 e->cmd == CMD_MAIL ? "the sender" : "the session", e->reply);
        return SF_V_FATAL;
    }
    if (e->code >= 400)
        snprintf(answer, len, "%s: %s", e->c.url, e->refused.len ? e->refused.data : e->reply);
    else
        snprintf(answer, len, "%s: %s", e->c.url, why);
    return SF_V_RETRY;
}

static enum sf_verdict transmit(struct email *e, char *answer, size_t len)
{
    if (!e->curl && setup_curl(e) != SF_OK) {
        snprintf(answer, len, "cannot set up the SMTP client");
        return SF_V_RETRY;
    }
    reset_capture(e);
    e->pos = 0;
    curl_easy_setopt(e->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)e->msg_len);
    return judge(e, curl_easy_perform(e->curl), answer, len);
}

/* Connect, EHLO, STARTTLS and AUTH without sending (CONNECT_ONLY). */
static sf_err email_start(struct sf_output *o, char *errbuf, size_t errlen)
{
    struct email *e = o->ctx;
    CURL *probe;
    CURLcode rc;
    char answer[512];

    if (!e->curl && setup_curl(e) != SF_OK) {
        sf_errf(errbuf, errlen, "cannot set up the SMTP client");
        return SF_ERR_NOMEM;
    }
    if (!(probe = curl_easy_duphandle(e->curl)))
        return SF_ERR_NOMEM;
    reset_capture(e);
    curl_easy_setopt(probe, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(probe, CURLOPT_ERRORBUFFER, e->curl_err);
    rc = curl_easy_perform(probe);
    curl_easy_cleanup(probe);
    if (rc != CURLE_OK) {
        judge(e, rc, answer, sizeof(answer));
        sf_errf(errbuf, errlen, "%s", answer);
        return rc == CURLE_USE_SSL_FAILED || rc == CURLE_LOGIN_DENIED ? SF_ERR_CONFIG
                                                                        : SF_ERR_NETWORK;
    }
    return SF_OK;
}

/* One SMTP transaction per record; its verdict (with the server's answer,
 * also for a delivered one) before this returns. */
static sf_err email_send(struct sf_output *o, const struct sf_msg *msgs, size_t n)
{
    struct email *e = o->ctx;
    char answer[512];

    for (size_t i = 0; i < n; i++) {
        answer[0] = '\0';
        e->msg = msgs[i].data;
        e->msg_len = msgs[i].len;
        enum sf_verdict v = transmit(e, answer, sizeof(answer));
        e->msg = NULL;
        o->verdict(o->verdict_opaque, msgs[i].id, v, answer);
    }
    return SF_OK;
}

static void email_poll(struct sf_output *o, int timeout_ms)
{
    (void)o;
    (void)timeout_ms;
}

static size_t email_flush(struct sf_output *o, int timeout_ms)
{
    (void)o;
    (void)timeout_ms;
    return 0; /* send() reports every verdict before it returns */
}

static void email_addresses(const struct sf_output *o, const char **from, char *const **to,
                            size_t *nto)
{
    const struct email *e = o->ctx;

    *from = e->c.from;
    *to = e->c.to.v;
    *nto = e->c.to.n;
}

static const struct sf_notify_cap email_notify = { SF_NOTIFY_EMAIL, email_addresses };

static void email_destroy(struct sf_output *o)
{
    struct email *e = o->ctx;

    if (!e)
        return;
    if (e->curl)
        curl_easy_cleanup(e->curl);
    curl_slist_free_all(e->rcpt);
    free(e->mail_from);
    sf_buf_free(&e->refused);
    if (e->c.password)
        explicit_bzero(e->c.password, strlen(e->c.password));
    sf_conf_release(email_table, &e->c);
    sf_tls_release(&e->tls);
    free(e);
    o->ctx = NULL;
}

const struct sf_output_type sf_output_email = {
    .name = "email",
    .init = email_init,
    .start = email_start,
    .send = email_send,
    .poll = email_poll,
    .flush = email_flush,
    .destroy = email_destroy,
    .notify = &email_notify,
};
