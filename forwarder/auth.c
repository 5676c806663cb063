/* auth.c - OAuth2 client-credentials tokens from Entra ID (reference
 * defender-api.md 1.3-1.5): secret or certificate assertion, v1 resource or
 * v2 scope, cached per (authority, tenant, client, audience) under a mutex.
 * It never logs or returns secrets in messages; token copies are wiped. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "sf_clock.h"
#include "sf_redact.h"
#include "source.h"

#define SF_ASSERTION_TTL_S 600   /* the doc suggests 5-10 minutes */
/* Entra access tokens are JWTs of 1.5-4 KB (more with many group claims);
 * anything past this is not a token we want in every request header. */
#define SF_TOKEN_MAX 16384
/* A token endpoint's whole answer: the token plus a few short fields. */
#define SF_TOKEN_RESPONSE_MAX (64 * 1024)

struct tok_entry {
    char *key;
    char *token;                /* owned; wiped on free */
    int64_t renew_at_ms;        /* monotonic */
    struct tok_entry *next;
};

struct sf_token_cache {
    pthread_mutex_t mu;
    struct tok_entry *head;
    _Atomic uint64_t renewals;
};

void sf_auth_token_free(char *token)
{
    if (!token)
        return;
    explicit_bzero(token, strlen(token));
    free(token);
}

sf_err sf_token_cache_new(struct sf_token_cache **out)
{
    struct sf_token_cache *tc = calloc(1, sizeof(*tc));

    *out = NULL;
    if (!tc)
        return SF_ERR_NOMEM;
    if (pthread_mutex_init(&tc->mu, NULL) != 0) {
        free(tc);
        return SF_ERR_INTERNAL;
    }
    atomic_init(&tc->renewals, 0);
    *out = tc;
    return SF_OK;
}

void sf_token_cache_free(struct sf_token_cache *tc)
{
    if (!tc)
        return;
    for (struct tok_entry *e = tc->head, *next; e; e = next) {
        next = e->next;
        sf_auth_token_free(e->token);
        free(e->key);
        free(e);
    }
    pthread_mutex_destroy(&tc->mu);
    free(tc);
}

uint64_t sf_token_cache_renewals(const struct sf_token_cache *tc)
{
    return tc ? atomic_load(&((struct sf_token_cache *)tc)->renewals) : 0;
}

static sf_err cache_key(struct sf_buf *b, const struct sf_fetch_tenant *t, const char *aud)
{
    return sf_buf_printf(b, "%s\n%s\n%s\n%s", t->authority ? t->authority : "",
                         t->tenant_id, t->client_id, aud);
}

static struct tok_entry *cache_find(struct sf_token_cache *tc, const char *key)
{
    for (struct tok_entry *e = tc->head; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

/* Copy of a still-fresh cached token, or NULL. */
static char *cache_get(struct sf_token_cache *tc, const char *key)
{
    char *tok = NULL;
    struct tok_entry *e;

    pthread_mutex_lock(&tc->mu);
    e = cache_find(tc, key);
    if (e && e->token && sf_mono_ms() < e->renew_at_ms)
        tok = strdup(e->token);
    pthread_mutex_unlock(&tc->mu);
    return tok;
}

static sf_err cache_put(struct sf_token_cache *tc, const char *key, const char *token,
                        int64_t lifetime_ms)
{
    sf_err err = SF_ERR_NOMEM;
    char *copy = strdup(token);
    struct tok_entry *e;
    /* Renew when less than 5 minutes, or 10% of a short lifetime, remain. */
    int64_t margin = lifetime_ms / 10 < SF_TOKEN_RENEW_MS ? lifetime_ms / 10 : SF_TOKEN_RENEW_MS;

    if (!copy)
        return SF_ERR_NOMEM;
    pthread_mutex_lock(&tc->mu);
    e = cache_find(tc, key);
    if (!e) {
        e = calloc(1, sizeof(*e));
        if (!e || !(e->key = strdup(key))) {
            free(e);
            goto out;
        }
        e->next = tc->head;
        tc->head = e;
    }
    sf_auth_token_free(e->token);
    e->token = copy;
    copy = NULL;   /* owned by the entry */
    e->renew_at_ms = sf_mono_ms() + lifetime_ms - margin;
    atomic_fetch_add(&tc->renewals, 1);
    err = SF_OK;
out:
    pthread_mutex_unlock(&tc->mu);
    sf_auth_token_free(copy);
    return err;
}

void sf_auth_invalidate(struct sf_token_cache *tc, const struct sf_fetch_tenant *t,
                        const char *audience, const char *token)
{
    struct sf_buf key;
    struct tok_entry *e;

    sf_buf_init(&key, 4096);
    if (cache_key(&key, t, audience) != SF_OK)
        goto out;
    pthread_mutex_lock(&tc->mu);
    e = cache_find(tc, key.data);
    /* Only the token that failed: another thread may have renewed it. */
    if (e && e->token && token && strcmp(e->token, token) == 0) {
        sf_auth_token_free(e->token);
        e->token = NULL;
    }
    pthread_mutex_unlock(&tc->mu);
out:
    sf_buf_free(&key);
}

sf_err sf_auth_token_url(struct sf_buf *b, const char *authority, const char *tenant_id,
                         int v1)
{
    size_t alen = strlen(authority);
    sf_err err;

    while (alen && authority[alen - 1] == '/')
        alen--;
    err = sf_buf_add(b, authority, alen);
    if (!err)
        err = sf_buf_addc(b, '/');
    if (!err)
        err = sf_http_urlencode(b, tenant_id);
    if (!err)
        err = sf_buf_adds(b, v1 ? "/oauth2/token" : "/oauth2/v2.0/token");
    return err;
}

void sf_auth_error_sentence(const char *desc, const char *secret, char *buf, size_t n)
{
    size_t len = 0, k = 0;
    const char *hit;

    if (!n)
        return;
    /* "AADSTS7000215: Invalid client secret provided. Ensure ...\r\nTrace ID..." */
    while (desc[len] && desc[len] != '\r' && desc[len] != '\n') {
        if (desc[len] == '.' && (desc[len + 1] == ' ' || desc[len + 1] == '\0' ||
                                 desc[len + 1] == '\r' || desc[len + 1] == '\n')) {
            len++;
            break;
        }
        len++;
    }
    /* Redact the whole sentence, then cut it to n: a secret (in any form
     * sf_redact knows) across the cut is not left half visible. */
    char *full = malloc(len + 1);
    const char *src = full ? full : desc;
    if (full) {
        memcpy(full, desc, len);
        full[len] = '\0';
        len = sf_redact(full, len + 1);
    }
    for (size_t i = 0; i < len && k + 1 < n; i++) {
        unsigned char ch = (unsigned char)src[i];
        buf[k++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
    }
    buf[k] = '\0';
    free(full);
    sf_redact(buf, n);
    if (!secret || strlen(secret) < 4)
        return;
    while ((hit = strstr(buf, secret)) != NULL) {
        size_t off = (size_t)(hit - buf), sl = strlen(secret);
        memmove(buf + off + 3, buf + off + sl, strlen(buf + off + sl) + 1);
        memcpy(buf + off, "***", 3);
    }
}

static sf_err add_param(struct sf_buf *b, const char *name, const char *value,
                        const char *suffix)
{
    sf_err err = sf_buf_printf(b, "%s%s=", b->len ? "&" : "", name);

    if (!err)
        err = sf_http_urlencode(b, value);
    if (!err && suffix)
        err = sf_http_urlencode(b, suffix);
    return err;
}

/* The form body of a client-credentials request (1.3). It holds the
 * secret or assertion: callers wipe it. */
static sf_err token_body(struct sf_buf *body, const struct sf_fetch_tenant *t,
                         const char *token_url, const char *audience, int v1,
                         struct sf_fetch_status *st)
{
    struct sf_buf jwt;
    sf_err err;

    sf_buf_init(&jwt, 64 * 1024);
    err = add_param(body, "grant_type", "client_credentials", NULL);
    if (!err)
        err = add_param(body, "client_id", t->client_id, NULL);
    if (!err && t->client_secret) {
        err = add_param(body, "client_secret", t->client_secret, NULL);
    } else if (!err && t->cert_file && t->key_file) {
        char why[256] = "";
        err = sf_auth_assertion(t->cert_file, t->key_file, t->key_password, t->client_id,
                                token_url, (int64_t)time(NULL), &jwt, why, sizeof(why));
        if (err)
            sf_errf(st->msg, sizeof(st->msg), "tenant %s: %s", t->name, why);
        if (!err)
            err = add_param(body, "client_assertion_type",
                            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", NULL);
        if (!err)
            err = add_param(body, "client_assertion", jwt.data, NULL);
    } else if (!err) {
        sf_errf(st->msg, sizeof(st->msg), "tenant %s: no client_secret and no "
                "certificate (cert_file, key_file) configured", t->name);
        err = SF_ERR_CONFIG;
    }
    if (!err)
        err = v1 ? add_param(body, "resource", audience, NULL)
                 : add_param(body, "scope", audience, "/.default");
    if (jwt.data)
        explicit_bzero(jwt.data, jwt.len);
    sf_buf_free(&jwt);
    return err;
}

static int64_t json_int(json_object *o, const char *name)
{
    json_object *v;

    if (!json_object_object_get_ex(o, name, &v))
        return -1;
    if (json_object_is_type(v, json_type_int))
        return json_object_get_int64(v);
    if (json_object_is_type(v, json_type_string)) {   /* v1 sends strings */
        char *end;
        long long n = strtoll(json_object_get_string(v), &end, 10);
        return *end == '\0' && end != json_object_get_string(v) ? n : -1;
    }
    return -1;
}

/* Refused token request: Entra's {"error", "error_description"} body. */
static sf_err token_refused(const struct sf_fetch_tenant *t, const struct sf_http_resp *rs,
                            struct sf_fetch_status *st)
{
    json_object *doc = json_tokener_parse(rs->body.data ? rs->body.data : "");
    json_object *v;
    const char *code = "", *desc = "";
    char sentence[256];

    if (doc && json_object_object_get_ex(doc, "error", &v) && json_object_is_type(v, json_type_string))
        code = json_object_get_string(v);
    /* RFC 6749 5.2 codes are short ASCII words; anything else (a server
     * echoing what we sent, the secret included - found by fuzz_token) is
     * not repeated into logs. */
    char codebuf[65];
    size_t cl = strspn(code, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
    if (code[cl] || cl >= sizeof(codebuf) ||
        (t->client_secret && *t->client_secret && strstr(code, t->client_secret)))
        cl = 0;
    memcpy(codebuf, code, cl);
    codebuf[cl] = '\0';
    code = codebuf;
    if (doc && json_object_object_get_ex(doc, "error_description", &v) &&
        json_object_is_type(v, json_type_string))
        desc = json_object_get_string(v);
    sf_auth_error_sentence(desc, t->client_secret, sentence, sizeof(sentence));
    sf_errf(st->msg, sizeof(st->msg), "tenant %s: token request refused (HTTP %ld%s%.64s): %s",
            t->name, rs->status, *code ? " " : "", code,
            *sentence ? sentence : "no error description");
    json_object_put(doc);
    if (rs->status == 429) {
        st->retry_after_ms = rs->retry_after_ms >= 0 ? rs->retry_after_ms : 60000;
        return SF_ERR_THROTTLED;
    }
    if (rs->status >= 400 && rs->status < 500) {
        /* invalid_client, unauthorized_client, AADSTS700016 (app not in
         * tenant: no consent), AADSTS7000215 (bad secret), AADSTS90002
         * (unknown tenant), invalid_scope: all need an operator. */
        st->auth_failed = 1;
        return SF_ERR_AUTH;
    }
    return SF_ERR_HTTP;
}

/* RFC 6750 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+"
 * / "/" ) *"=". Anything else (CR, LF, space, ':') would let the token
 * endpoint write headers into every API request. Offset of the first bad
 * byte, or -1 if the whole token is valid. */
static long b64token_bad_at(const char *s, size_t len)
{
    static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                             "-._~+/";
    size_t i = 0;

    while (i < len && s[i] && strchr(ok, s[i]))
        i++;
    if (i == 0)
        return 0;
    while (i < len && s[i] == '=')
        i++;
    return i == len ? -1 : (long)i;
}

static sf_err token_check(const struct sf_fetch_tenant *t, json_object *v,
                          struct sf_fetch_status *st)
{
    size_t len = (size_t)json_object_get_string_len(v);
    long bad;

    if (len > SF_TOKEN_MAX) {
        sf_errf(st->msg, sizeof(st->msg), "tenant %s: token response: access_token is %zu "
                "bytes, more than the %d accepted", t->name, len, SF_TOKEN_MAX);
        return SF_ERR_PARSE;
    }
    bad = b64token_bad_at(json_object_get_string(v), len);
    if (bad >= 0) {
        /* The byte's value only: the token itself is never repeated. */
        sf_errf(st->msg, sizeof(st->msg), "tenant %s: token response: access_token has byte "
                "0x%02x at offset %ld, not allowed in a bearer token (RFC 6750 2.1)", t->name,
                (unsigned)(unsigned char)json_object_get_string(v)[bad], bad);
        return SF_ERR_PARSE;
    }
    return SF_OK;
}

static sf_err token_parse(const struct sf_fetch_tenant *t, const struct sf_http_resp *rs,
                          char **token, int64_t *lifetime_ms, struct sf_fetch_status *st)
{
    json_object *doc = json_tokener_parse(rs->body.data ? rs->body.data : "");
    json_object *v;
    int64_t secs = doc ? json_int(doc, "expires_in") : -1;
    sf_err err = SF_ERR_PARSE;

    if (!doc || !json_object_object_get_ex(doc, "access_token", &v) ||
        !json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0) {
        sf_errf(st->msg, sizeof(st->msg), "tenant %s: token response has no access_token",
                t->name);
        goto out;
    }
    err = token_check(t, v, st);
    if (err)
        goto out;
    *token = strdup(json_object_get_string(v));
    if (!*token) {
        err = SF_ERR_NOMEM;
        goto out;
    }
    /* Entra tokens live 60-90 minutes; trust at most a day of what the
     * server claims (and never multiply an absurd value into overflow). */
    if (secs <= 0)
        secs = 3599;
    if (secs > 86400)
        secs = 86400;
    *lifetime_ms = secs * 1000;
    err = SF_OK;
out:
    if (doc && json_object_object_get_ex(doc, "access_token", &v) &&
        json_object_is_type(v, json_type_string))
        explicit_bzero((char *)json_object_get_string(v), (size_t)json_object_get_string_len(v));
    json_object_put(doc);
    return err;
}

sf_err sf_auth_parse_response(const struct sf_fetch_tenant *t, const struct sf_http_resp *rs,
                              char **token, int64_t *lifetime_ms, struct sf_fetch_status *st)
{
    if (rs->status == 200)
        return token_parse(t, rs, token, lifetime_ms, st);
    return token_refused(t, rs, st);
}

static sf_err token_request(struct sf_api_client *c, const struct sf_fetch_tenant *t,
                            const char *audience, int v1, char **token,
                            int64_t *lifetime_ms, struct sf_fetch_status *st)
{
    static const char *const headers[] = {
        "Content-Type: application/x-www-form-urlencoded", "Accept: application/json", NULL
    };
    struct sf_buf url, body;
    struct sf_http_req rq = { .method = "POST", .headers = headers,
                              .max_response = SF_TOKEN_RESPONSE_MAX };
    sf_err err;

    sf_buf_init(&url, 8192);
    sf_buf_init(&body, 128 * 1024);
    err = sf_auth_token_url(&url, t->authority ? t->authority
                                : "https://login.microsoftonline.com", t->tenant_id, v1);
    if (!err)
        err = token_body(&body, t, url.data, audience, v1, st);
    if (err)
        goto out;
    rq.url = url.data;
    rq.body = body.data;
    rq.body_len = body.len;
    err = sf_fetch_send(c, &rq, t, st);
    if (err == SF_ERR_LIMIT) {
        /* Not a page too large to split: the window code must not bisect. */
        sf_errf(st->msg, sizeof(st->msg), "tenant %s: token endpoint answer larger than %d "
                "bytes", t->name, SF_TOKEN_RESPONSE_MAX);
        err = SF_ERR_PARSE;
    }
    if (err)
        goto out;
    err = sf_auth_parse_response(t, &c->resp, token, lifetime_ms, st);
    if (err == SF_ERR_THROTTLED)
        sf_fetch_cap_retry_after(c, t, st);
out:
    if (c->resp.body.data)
        explicit_bzero(c->resp.body.data, c->resp.body.len);
    if (body.data)
        explicit_bzero(body.data, body.len);
    sf_buf_free(&body);
    sf_buf_free(&url);
    return err;
}

sf_err sf_auth_get(struct sf_api_client *c, const struct sf_fetch_tenant *t,
                   const char *audience, int v1, char **token, struct sf_fetch_status *st)
{
    struct sf_buf key;
    int64_t lifetime_ms = 0;
    sf_err err;

    *token = NULL;
    sf_buf_init(&key, 4096);
    err = cache_key(&key, t, audience);
    if (err)
        goto out;
    *token = cache_get(c->tc, key.data);
    if (*token)
        goto out;
    /* Fetch without holding the lock: one slow tenant must not block others. */
    err = token_request(c, t, audience, v1, token, &lifetime_ms, st);
    if (!err)
        err = cache_put(c->tc, key.data, *token, lifetime_ms);
out:
    if (err) {
        sf_auth_token_free(*token);
        *token = NULL;
    }
    sf_buf_free(&key);
    return err;
}

/* ---- certificate client assertion (certificate-credentials.md) ---- */

static int pem_password(char *buf, int size, int rwflag, void *u)
{
    const char *pw = u;
    size_t len;

    if (!pw)
        return -1;   /* never prompt on a terminal */
    len = strlen(pw);
    if (len > (size_t)size)
        return -1;
    memcpy(buf, pw, len);
    return (int)len;
}

static sf_err load_credentials(const char *cert_file, const char *key_file,
                               const char *key_password, X509 **cert, EVP_PKEY **pkey,
                               char *errbuf, size_t errlen)
{
    BIO *bio = BIO_new_file(cert_file, "r");

    *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!*cert) {
        sf_errf(errbuf, errlen, "cannot read a PEM certificate from %s", cert_file);
        goto fail;
    }
    bio = BIO_new_file(key_file, "r");
    *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, pem_password, (void *)key_password)
                : NULL;
    BIO_free(bio);
    if (!*pkey) {
        sf_errf(errbuf, errlen, "cannot read the PEM private key %s%s", key_file,
                key_password ? " (wrong password?)" : " (encrypted key without key_password?)");
        goto fail;
    }
    if (EVP_PKEY_get_base_id(*pkey) != EVP_PKEY_RSA) {
        sf_errf(errbuf, errlen, "private key %s is not RSA (RS256 needs RSA)", key_file);
        goto fail;
    }
    if (X509_check_private_key(*cert, *pkey) != 1) {
        sf_errf(errbuf, errlen, "private key %s does not match certificate %s", key_file,
                cert_file);
        goto fail;
    }
    return SF_OK;
fail:
    ERR_clear_error();
    return SF_ERR_CONFIG;
}

/* base64url(digest(DER certificate)) as a header thumbprint. */
static sf_err thumbprint(json_object *hdr, const char *name, X509 *cert, const EVP_MD *md)
{
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    struct sf_buf b;
    sf_err err = SF_ERR_INTERNAL;

    sf_buf_init(&b, 256);
    if (X509_digest(cert, md, dig, &dlen) != 1)
        goto out;
    err = sf_b64url_encode(&b, dig, dlen);
    if (!err)
        err = json_object_object_add(hdr, name, json_object_new_string(b.data)) == 0
              ? SF_OK : SF_ERR_NOMEM;
out:
    sf_buf_free(&b);
    return err;
}

static sf_err add_json_part(struct sf_buf *out, json_object *o)
{
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                   JSON_C_TO_STRING_NOSLASHESCAPE);
    return s ? sf_b64url_encode(out, s, strlen(s)) : SF_ERR_NOMEM;
}

static sf_err jwt_parts(struct sf_buf *out, X509 *cert, const char *client_id,
                        const char *aud, int64_t now_s)
{
    json_object *hdr = json_object_new_object(), *cl = json_object_new_object();
    unsigned char r[16];
    char jti[40];
    sf_err err = SF_ERR_NOMEM;

    if (!hdr || !cl || RAND_bytes(r, sizeof(r)) != 1)
        goto out;
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);   /* RFC 9562 version 4 */
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    snprintf(jti, sizeof(jti), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7],
             r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
    json_object_object_add(hdr, "alg", json_object_new_string("RS256"));
    json_object_object_add(hdr, "typ", json_object_new_string("JWT"));
    err = thumbprint(hdr, "x5t", cert, EVP_sha1());
    if (!err)
        err = thumbprint(hdr, "x5t#S256", cert, EVP_sha256());
    if (err)
        goto out;
    json_object_object_add(cl, "aud", json_object_new_string(aud));
    json_object_object_add(cl, "iss", json_object_new_string(client_id));
    json_object_object_add(cl, "sub", json_object_new_string(client_id));
    json_object_object_add(cl, "jti", json_object_new_string(jti));
    json_object_object_add(cl, "nbf", json_object_new_int64(now_s));
    json_object_object_add(cl, "iat", json_object_new_int64(now_s));
    json_object_object_add(cl, "exp", json_object_new_int64(now_s + SF_ASSERTION_TTL_S));
    err = add_json_part(out, hdr);
    if (!err)
        err = sf_buf_addc(out, '.');
    if (!err)
        err = add_json_part(out, cl);
out:
    json_object_put(hdr);
    json_object_put(cl);
    return err;
}

static sf_err jwt_sign(struct sf_buf *out, EVP_PKEY *pkey)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t slen = 0;
    sf_err err = SF_ERR_INTERNAL;

    if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) != 1 ||
        EVP_DigestSign(md, NULL, &slen, (const unsigned char *)out->data, out->len) != 1)
        goto out;
    sig = malloc(slen);
    if (!sig) {
        err = SF_ERR_NOMEM;
        goto out;
    }
    if (EVP_DigestSign(md, sig, &slen, (const unsigned char *)out->data, out->len) != 1)
        goto out;
    err = sf_buf_addc(out, '.');
    if (!err)
        err = sf_b64url_encode(out, sig, slen);
out:
    ERR_clear_error();
    free(sig);
    EVP_MD_CTX_free(md);
    return err;
}

sf_err sf_auth_assertion(const char *cert_file, const char *key_file,
                         const char *key_password, const char *client_id,
                         const char *aud, int64_t now_s, struct sf_buf *out,
                         char *errbuf, size_t errlen)
{
    X509 *cert = NULL;
    EVP_PKEY *pkey = NULL;
    sf_err err;

    err = load_credentials(cert_file, key_file, key_password, &cert, &pkey, errbuf, errlen);
    if (err)
        goto out;
    err = jwt_parts(out, cert, client_id, aud, now_s);
    if (!err)
        err = jwt_sign(out, pkey);
    if (err && err != SF_ERR_CONFIG)
        sf_errf(errbuf, errlen, "cannot build the client assertion: %s", sf_strerror(err));
out:
    EVP_PKEY_free(pkey);
    X509_free(cert);
    return err;
}
