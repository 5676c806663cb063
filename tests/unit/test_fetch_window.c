/* test_fetch_window.c - pure logic of the fetch stage: URL and filter
 * building (exact bytes), times, alert keys, consent URL, Retry-After,
 * User-Agent, base64url, Entra error sentences, the RS256 client assertion
 * (decoded and verified with OpenSSL). Paging and window splitting are in
 * test_fetch_paging.c; the real HTTP path in test_fetch_emu.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "sf_http.h"
#include "source.h"
#include "sf_sources.h"

/* The sources as these tests index them (the forwarder names them). */
enum tsrc { TSRC_GRAPH, TSRC_MDE, TSRC_SIEM };
static const char *const tsrc_name[] = { "graph", "mde", "siem" };

/* The pipeline's dedup key: the alert view's id and last update. */
static int alert_key(enum tsrc src, json_object *a, const char **id, int64_t *ms)
{
    struct sf_alert_view v;

    if (sf_source_view(tsrc_name[src], a, NULL, &v) != 0 || !v.id || !v.last_update)
        return -1;
    *id = v.id;
    *ms = v.last_update_ms;
    return 0;
}

#define T0 INT64_C(1709251200000)   /* 2024-03-01T00:00:00Z */
#define HOUR INT64_C(3600000)

/* ------------------------------------------------------------ helpers */

static const char *data_dir(void)
{
    const char *d = getenv("SF_SHARED_DIR");
    static char buf[1024];

    if (d)
        return d;
    snprintf(buf, sizeof(buf), "%s/tests/data", getenv("SF_SOURCE_DIR") ? getenv("SF_SOURCE_DIR") : ".");
    return buf;
}

static json_object *load_sample(const char *name)
{
    char path[1200];
    json_object *doc;

    snprintf(path, sizeof(path), "%s/%s", data_dir(), name);
    doc = json_object_from_file(path);
    if (!doc)
        fail_msg("cannot load %s", path);
    return doc;
}

static void assert_url(sf_err err, struct sf_buf *b, const char *want)
{
    assert_int_equal(err, SF_OK);
    assert_string_equal(b->data, want);
    sf_buf_reset(b);
}

/* ------------------------------------------------------------ times */

static void test_format_time(void **state)
{
    char buf[40];
    (void)state;

    assert_int_equal(sf_fetch_format_time(INT64_C(1611693239722), buf, sizeof(buf)), 0);
    assert_string_equal(buf, "2021-01-26T20:33:59.7220000Z");
    assert_int_equal(sf_fetch_format_time(0, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "1970-01-01T00:00:00.0000000Z");
    assert_int_equal(sf_fetch_format_time(T0 + 1, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "2024-03-01T00:00:00.0010000Z");
    assert_int_equal(sf_fetch_format_time(T0, buf, 28), -1);   /* needs 29 */
    assert_int_equal(sf_fetch_format_time(T0, buf, 29), 0);
}

static void test_parse_time(void **state)
{
    int64_t ms = 0;
    (void)state;

    assert_int_equal(sf_fetch_parse_time("2021-01-26T20:33:59.7220239Z", &ms), 0);
    assert_int_equal(ms, INT64_C(1611693239722));
    assert_int_equal(sf_fetch_parse_time("2021-01-26T20:33:59.2Z", &ms), 0);
    assert_int_equal(ms, INT64_C(1611693239200));
    assert_int_equal(sf_fetch_parse_time("2021-01-26T21:33:59+01:00", &ms), 0);
    assert_int_equal(ms, INT64_C(1611693239000));
    assert_int_equal(sf_fetch_parse_time("2016-09-12T00:00:00.000", &ms), 0);  /* SIEM, no zone */
    assert_int_equal(ms, INT64_C(1473638400000));
    assert_int_equal(sf_fetch_parse_time("2021-02-30T00:00:00Z", &ms), -1);
    assert_int_equal(sf_fetch_parse_time("2021-01-26T20:33:59.Z", &ms), -1);
    assert_int_equal(sf_fetch_parse_time("2021-01-26T20:33:59Zjunk", &ms), -1);
    assert_int_equal(sf_fetch_parse_time("", &ms), -1);
    assert_int_equal(sf_fetch_parse_time(NULL, &ms), -1);
}

/* ------------------------------------------------------------ URLs */

static void test_graph_url(void **state)
{
    struct sf_buf b;
    (void)state;

    sf_buf_init(&b, 4096);
    assert_url(sf_graph_url(&b, "https://graph.microsoft.com/", T0, T0 + HOUR, NULL, 500, 0), &b,
               "https://graph.microsoft.com/v1.0/security/alerts_v2?$filter=lastUpdateDateTime"
               "%20ge%202024-03-01T00%3A00%3A00.0000000Z%20and%20lastUpdateDateTime%20lt%20"
               "2024-03-01T01%3A00%3A00.0000000Z&$orderby=lastUpdateDateTime%20asc&$top=500");
    assert_url(sf_graph_url(&b, "https://graph.microsoft.us", T0 + 1, T0 + 2,
                            "serviceSource eq 'microsoftDefenderForEndpoint'", 1000, 0), &b,
               "https://graph.microsoft.us/v1.0/security/alerts_v2?$filter=lastUpdateDateTime"
               "%20ge%202024-03-01T00%3A00%3A00.0010000Z%20and%20lastUpdateDateTime%20lt%20"
               "2024-03-01T00%3A00%3A00.0020000Z%20and%20%28serviceSource%20eq%20%27"
               "microsoftDefenderForEndpoint%27%29&$orderby=lastUpdateDateTime%20asc&$top=1000");
    /* An empty extra filter adds nothing. */
    assert_url(sf_graph_url(&b, "https://g.test", T0, T0 + 1, "", 5, 10), &b,
               "https://g.test/v1.0/security/alerts_v2?$filter=lastUpdateDateTime%20ge%20"
               "2024-03-01T00%3A00%3A00.0000000Z%20and%20lastUpdateDateTime%20lt%20"
               "2024-03-01T00%3A00%3A00.0010000Z&$orderby=lastUpdateDateTime%20asc&$top=5"
               "&$skip=10");
    sf_buf_free(&b);
}

static void test_mde_siem_urls(void **state)
{
    struct sf_buf b;
    (void)state;

    sf_buf_init(&b, 4096);
    assert_url(sf_mde_url(&b, "https://api.securitycenter.microsoft.com", T0, T0 + HOUR, 10000, 0),
               &b, "https://api.securitycenter.microsoft.com/api/alerts?$filter=lastUpdateTime"
               "%20ge%202024-03-01T00%3A00%3A00.0000000Z%20and%20lastUpdateTime%20lt%20"
               "2024-03-01T01%3A00%3A00.0000000Z&$expand=evidence&$top=10000");
    assert_url(sf_mde_url(&b, "https://eu.api.security.microsoft.com/", T0, T0 + 1, 50, 100),
               &b, "https://eu.api.security.microsoft.com/api/alerts?$filter=lastUpdateTime"
               "%20ge%202024-03-01T00%3A00%3A00.0000000Z%20and%20lastUpdateTime%20lt%20"
               "2024-03-01T00%3A00%3A00.0010000Z&$expand=evidence&$top=50&$skip=100");
    assert_url(sf_siem_url(&b, "https://wdatp-alertexporter-eu.windows.com/", T0, T0 + HOUR),
               &b, "https://wdatp-alertexporter-eu.windows.com/api/alerts?sinceTimeUtc="
               "2024-03-01T00%3A00%3A00.0000000Z&untilTimeUtc=2024-03-01T01%3A00%3A00.0000000Z");
    assert_url(sf_auth_token_url(&b, "https://login.microsoftonline.com/", "contoso.onmicrosoft.com", 0),
               &b, "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
    assert_url(sf_auth_token_url(&b, "https://login.microsoftonline.us",
                                 "00000000-0000-0000-0000-000000000001", 1),
               &b, "https://login.microsoftonline.us/00000000-0000-0000-0000-000000000001/oauth2/token");
    sf_buf_free(&b);
}

static void test_audiences(void **state)
{
    char aud[256];
    (void)state;

    sf_source_graph.audience("https://graph.microsoft.com", aud, sizeof(aud));
    assert_string_equal(aud, "https://graph.microsoft.com");
    sf_source_graph.audience("https://dod-graph.microsoft.us/", aud, sizeof(aud));
    assert_string_equal(aud, "https://dod-graph.microsoft.us");
    sf_source_graph.audience("https://127.0.0.1:4443", aud, sizeof(aud));
    assert_string_equal(aud, "https://graph.microsoft.com");
    sf_source_mde.audience("https://eu.api.security.microsoft.com", aud, sizeof(aud));
    assert_string_equal(aud, "https://api.securitycenter.microsoft.com");
    sf_source_mde.audience("https://api-gov.securitycenter.microsoft.us/api", aud, sizeof(aud));
    assert_string_equal(aud, "https://api-gov.securitycenter.microsoft.us");
    sf_source_siem.audience("https://wdatp-alertexporter-us.windows.com", aud, sizeof(aud));
    assert_string_equal(aud, "https://graph.windows.net");
    assert_int_equal(sf_source_siem.token_v1, 1);
    assert_int_equal(sf_source_graph.token_v1, 0);
    assert_string_equal(sf_source_graph.extra_header, "Prefer: include-unknown-enum-members");
}

static void test_consent_url(void **state)
{
    char buf[512];
    const char *want = "https://login.microsoftonline.com/common/adminconsent?client_id="
                       "11111111-2222-3333-4444-555555555555";
    (void)state;

    assert_int_equal(sf_consent_url("https://login.microsoftonline.com/",
                                    "11111111-2222-3333-4444-555555555555", NULL, NULL,
                                    buf, sizeof(buf)), 0);
    assert_string_equal(buf, want);
    assert_int_equal(sf_consent_url(NULL, "11111111-2222-3333-4444-555555555555", "", NULL,
                                    buf, sizeof(buf)), 0);
    assert_string_equal(buf, want);
    assert_int_equal(sf_consent_url("https://login.microsoftonline.us", "abc",
                                    "contoso.onmicrosoft.com", "https://mssp.example/onboarded?x=1",
                                    buf, sizeof(buf)), 0);
    assert_string_equal(buf, "https://login.microsoftonline.us/contoso.onmicrosoft.com/"
                        "adminconsent?client_id=abc&redirect_uri=https%3A%2F%2Fmssp.example"
                        "%2Fonboarded%3Fx%3D1");
    /* Exactly enough room, then one byte short. */
    assert_int_equal(sf_consent_url(NULL, "11111111-2222-3333-4444-555555555555", NULL, NULL,
                                    buf, strlen(want) + 1), 0);
    assert_int_equal(sf_consent_url(NULL, "11111111-2222-3333-4444-555555555555", NULL, NULL,
                                    buf, strlen(want)), -1);
    assert_int_equal(sf_consent_url(NULL, NULL, NULL, NULL, buf, sizeof(buf)), -1);
    assert_int_equal(sf_consent_url(NULL, "", NULL, NULL, buf, sizeof(buf)), -1);
}

static void test_source_names(void **state)
{
    const char *const *names = sf_source_names();

    (void)state;
    /* lookup by name, any case, through the registry */
    assert_ptr_equal(sf_source_type_of("graph"), &sf_source_graph);
    assert_ptr_equal(sf_source_type_of("MDE"), &sf_source_mde);
    assert_ptr_equal(sf_source_type_of("siem"), &sf_source_siem);
    assert_null(sf_source_type_of("alerts_v2"));
    assert_null(sf_source_type_of(NULL));
    /* the name list is the types' own names, in registry order */
    assert_string_equal(names[0], sf_source_graph.name);
    assert_string_equal(names[1], sf_source_mde.name);
    assert_string_equal(names[2], sf_source_siem.name);
    assert_null(names[3]);
    assert_non_null(strstr(sf_source_permission("graph"), "SecurityAlert.Read.All"));
    assert_null(sf_source_permission("nope"));
}

/* ------------------------------------------------------------ alert keys */

static void test_alert_keys_samples(void **state)
{
    json_object *g = load_sample("graph-alerts_v2.json");
    json_object *m = load_sample("mde-api-alerts.json");
    json_object *s = load_sample("siem-api-alerts.json");
    json_object *v;
    const char *id = NULL;
    int64_t ms = 0;
    (void)state;

    assert_true(json_object_object_get_ex(g, "value", &v));
    assert_int_equal(alert_key(TSRC_GRAPH, json_object_array_get_idx(v, 0), &id, &ms), 0);
    assert_string_equal(id, "da637551227677560813_-961444813");
    assert_int_equal(ms, INT64_C(1619965141326));   /* 2021-05-02T14:19:01.3266667Z */
    assert_true(json_object_object_get_ex(m, "value", &v));
    assert_int_equal(alert_key(TSRC_MDE, json_object_array_get_idx(v, 0), &id, &ms), 0);
    assert_string_equal(id, "da637472900382838869_1364969609");
    assert_int_equal(ms, INT64_C(1611693239200));   /* 2021-01-26T20:33:59.2Z */
    assert_int_equal(alert_key(TSRC_SIEM, json_object_array_get_idx(s, 0), &id, &ms), 0);
    assert_string_equal(id, "da637370718981685665_16349121:R4xEdgAvDb2LQl3BgHoA3NYqKmRSiIAG7dpxAJCYZhY=");
    assert_int_equal(ms, INT64_C(1601475104077));   /* 2020-09-30T14:11:44.0779765Z */
    /* A Graph alert read as MDE lacks lastUpdateTime. */
    assert_true(json_object_object_get_ex(g, "value", &v));
    assert_int_equal(alert_key(TSRC_MDE, json_object_array_get_idx(v, 0), &id, &ms), -1);
    json_object_put(g);
    json_object_put(m);
    json_object_put(s);
}

static void test_alert_keys_bad(void **state)
{
    static const char *const bad[] = {
        "{\"lastUpdateDateTime\":\"2024-03-01T00:00:00Z\"}",
        "{\"id\":\"\",\"lastUpdateDateTime\":\"2024-03-01T00:00:00Z\"}",
        "{\"id\":7,\"lastUpdateDateTime\":\"2024-03-01T00:00:00Z\"}",
        "{\"id\":\"a\",\"lastUpdateDateTime\":null}",
        "{\"id\":\"a\",\"lastUpdateDateTime\":\"yesterday\"}",
        "[1,2]",
    };
    const char *id = "untouched";
    int64_t ms = 0;
    json_object *o;
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o = json_tokener_parse(bad[i]);
        if (alert_key(TSRC_GRAPH, o, &id, &ms) != -1)
            fail_msg("accepted %s", bad[i]);
        json_object_put(o);
    }
    assert_int_equal(alert_key(TSRC_GRAPH, NULL, &id, &ms), -1);
    /* SIEM falls back to AlertId when FullId is missing. */
    o = json_tokener_parse("{\"AlertId\":\"da1\",\"LastProcessedTimeUtc\":\"2024-03-01T00:00:00.5Z\"}");
    assert_int_equal(alert_key(TSRC_SIEM, o, &id, &ms), 0);
    assert_string_equal(id, "da1");
    assert_int_equal(ms, T0 + 500);
    json_object_put(o);
}

/* ------------------------------------------------------------ HTTP helpers */

static void test_retry_after(void **state)
{
    const time_t now = 1445412480;   /* Wed, 21 Oct 2015 07:28:00 GMT */
    (void)state;

    assert_int_equal(sf_http_parse_retry_after("120", now), 120000);
    assert_int_equal(sf_http_parse_retry_after(" 5\r\n", now), 5000);
    assert_int_equal(sf_http_parse_retry_after("0", now), 0);
    assert_int_equal(sf_http_parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), 30000);
    assert_int_equal(sf_http_parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now), 0);
    assert_int_equal(sf_http_parse_retry_after("99999999999999999999", now), 86400000);
    assert_int_equal(sf_http_parse_retry_after("-5", now), -1);
    assert_int_equal(sf_http_parse_retry_after("5s", now), -1);
    assert_int_equal(sf_http_parse_retry_after("soon", now), -1);
    assert_int_equal(sf_http_parse_retry_after("", now), -1);
    assert_int_equal(sf_http_parse_retry_after(NULL, now), -1);
}

static void test_user_agent(void **state)
{
    char ua[128];
    (void)state;

    assert_int_equal(sf_http_user_agent("Contoso MSSP", "0.1.0", ua, sizeof(ua)),
                     (int)strlen("MdatpPartner-ContosoMSSP-siemfwd/0.1.0"));
    assert_string_equal(ua, "MdatpPartner-ContosoMSSP-siemfwd/0.1.0");
    sf_http_user_agent("Fabrikam-Sec. (EU) \xc3\xa9/x", "1.2", ua, sizeof(ua));
    assert_string_equal(ua, "MdatpPartner-FabrikamSec.EUx-siemfwd/1.2");
    sf_http_user_agent(NULL, "1", ua, sizeof(ua));
    assert_string_equal(ua, "MdatpPartner-Unknown-siemfwd/1");
    sf_http_user_agent(" - ", "1", ua, sizeof(ua));
    assert_string_equal(ua, "MdatpPartner-Unknown-siemfwd/1");
    assert_int_equal(sf_http_user_agent("Contoso", "1", ua, 10), -1);
}

static void test_urlencode(void **state)
{
    struct sf_buf b;
    (void)state;

    sf_buf_init(&b, 1024);
    assert_int_equal(sf_http_urlencode(&b, "a b/c?d=e&f+g~h.i_j-k%\xc3\xa9"), SF_OK);
    assert_string_equal(b.data, "a%20b%2Fc%3Fd%3De%26f%2Bg~h.i_j-k%25%C3%A9");
    sf_buf_free(&b);
}

static void b64_case(const char *in, size_t n, const char *want)
{
    struct sf_buf b;

    sf_buf_init(&b, 1024);
    assert_int_equal(sf_b64url_encode(&b, in, n), SF_OK);
    assert_string_equal(b.data ? b.data : "", want);
    sf_buf_reset(&b);
    assert_int_equal(sf_b64url_decode(&b, want, strlen(want)), SF_OK);
    assert_int_equal(b.len, n);
    if (n)
        assert_memory_equal(b.data, in, n);
    sf_buf_free(&b);
}

static void test_b64url(void **state)
{
    struct sf_buf b;
    (void)state;

    b64_case("", 0, "");                   /* RFC 4648 section 10 vectors */
    b64_case("f", 1, "Zg");
    b64_case("fo", 2, "Zm8");
    b64_case("foo", 3, "Zm9v");
    b64_case("foob", 4, "Zm9vYg");
    b64_case("fooba", 5, "Zm9vYmE");
    b64_case("foobar", 6, "Zm9vYmFy");
    b64_case("\xfb\xff\xbf", 3, "-_-_");   /* the url-safe letters */
    sf_buf_init(&b, 64);
    assert_int_equal(sf_b64url_decode(&b, "Zm9v+A", 6), SF_ERR_PARSE);
    assert_int_equal(sf_b64url_decode(&b, "Zm9vY", 5), SF_ERR_PARSE);
    assert_int_equal(sf_b64url_decode(&b, "Zh", 2), SF_ERR_PARSE);   /* non-zero pad bits */
    sf_buf_free(&b);
}

static void test_error_sentence(void **state)
{
    char buf[256];
    (void)state;

    sf_auth_error_sentence("AADSTS7000215: Invalid client secret provided. Ensure the secret "
                           "being sent ...\r\nTrace ID: 1\r\nCorrelation ID: 2", NULL, buf,
                           sizeof(buf));
    assert_string_equal(buf, "AADSTS7000215: Invalid client secret provided.");
    sf_auth_error_sentence("AADSTS700016: Application with identifier 'x' was not found in the "
                           "directory 'y'.\r\nTrace ID", NULL, buf, sizeof(buf));
    assert_string_equal(buf, "AADSTS700016: Application with identifier 'x' was not found in "
                        "the directory 'y'.");
    /* Dots inside names do not end the sentence; no period at all is fine. */
    sf_auth_error_sentence("Tenant 'contoso.onmicrosoft.com' not found", NULL, buf, sizeof(buf));
    assert_string_equal(buf, "Tenant 'contoso.onmicrosoft.com' not found");
    sf_auth_error_sentence("bad secret s3cr3t!x in s3cr3t!x. more", "s3cr3t!x", buf, sizeof(buf));
    assert_string_equal(buf, "bad secret *** in ***.");
    sf_auth_error_sentence("abcdefghij", NULL, buf, 5);
    assert_string_equal(buf, "abcd");
}

/* ------------------------------------------------------------ JWT assertion */

struct pki {
    char dir[64];
    char cert[128], key[128], key_enc[128], ec_key[128], other_key[128];
    EVP_PKEY *pkey;
    X509 *x509;
};

static void write_key(const char *path, EVP_PKEY *k, const char *password)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, k, password ? EVP_aes_256_cbc() : NULL,
                                          NULL, 0, NULL, (void *)password), 1);
    fclose(f);
}

static void make_pki(struct pki *p)
{
    EVP_PKEY *other = EVP_RSA_gen(2048), *ec = EVP_EC_gen("P-256");
    X509_NAME *name;
    FILE *f;

    snprintf(p->dir, sizeof(p->dir), "/tmp/sf_fetch_pki.XXXXXX");
    assert_non_null(mkdtemp(p->dir));
    snprintf(p->cert, sizeof(p->cert), "%s/app.crt", p->dir);
    snprintf(p->key, sizeof(p->key), "%s/app.key", p->dir);
    snprintf(p->key_enc, sizeof(p->key_enc), "%s/app-enc.key", p->dir);
    snprintf(p->ec_key, sizeof(p->ec_key), "%s/ec.key", p->dir);
    snprintf(p->other_key, sizeof(p->other_key), "%s/other.key", p->dir);
    p->pkey = EVP_RSA_gen(2048);
    p->x509 = X509_new();
    assert_non_null(p->pkey);
    assert_non_null(other);
    assert_non_null(ec);
    ASN1_INTEGER_set(X509_get_serialNumber(p->x509), 7);
    X509_gmtime_adj(X509_getm_notBefore(p->x509), 0);
    X509_gmtime_adj(X509_getm_notAfter(p->x509), 3600);
    X509_set_pubkey(p->x509, p->pkey);
    name = X509_get_subject_name(p->x509);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"siemfwd test app",
                               -1, -1, 0);
    X509_set_issuer_name(p->x509, name);
    assert_true(X509_sign(p->x509, p->pkey, EVP_sha256()) > 0);
    f = fopen(p->cert, "w");
    assert_non_null(f);
    PEM_write_X509(f, p->x509);
    fclose(f);
    write_key(p->key, p->pkey, NULL);
    write_key(p->key_enc, p->pkey, "pa55word");
    write_key(p->ec_key, ec, NULL);
    write_key(p->other_key, other, NULL);
    EVP_PKEY_free(other);
    EVP_PKEY_free(ec);
}

static void free_pki(struct pki *p)
{
    const char *files[] = { p->cert, p->key, p->key_enc, p->ec_key, p->other_key };
    for (size_t i = 0; i < 5; i++)
        unlink(files[i]);
    rmdir(p->dir);
    EVP_PKEY_free(p->pkey);
    X509_free(p->x509);
}

static json_object *decode_part(const char *s, size_t n)
{
    struct sf_buf b;
    json_object *o;

    sf_buf_init(&b, 8192);
    assert_int_equal(sf_b64url_decode(&b, s, n), SF_OK);
    o = json_tokener_parse(b.data);
    assert_non_null(o);
    sf_buf_free(&b);
    return o;
}

static const char *jstr(json_object *o, const char *k)
{
    json_object *v;
    if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
        fail_msg("no string %s", k);
    return json_object_get_string(v);
}

static int64_t jint(json_object *o, const char *k)
{
    json_object *v;
    if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int))
        fail_msg("no integer %s", k);
    return json_object_get_int64(v);
}

static void expect_thumb(json_object *hdr, const char *k, X509 *x, const EVP_MD *md)
{
    unsigned char *der = NULL, dig[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    int len = i2d_X509(x, &der);
    struct sf_buf b;

    assert_true(len > 0);
    assert_int_equal(EVP_Digest(der, (size_t)len, dig, &dlen, md, NULL), 1);
    sf_buf_init(&b, 256);
    sf_b64url_encode(&b, dig, dlen);
    assert_string_equal(jstr(hdr, k), b.data);
    sf_buf_free(&b);
    OPENSSL_free(der);
}

static int verify_sig(EVP_PKEY *pub, const char *jwt, size_t signed_len, const char *sig64)
{
    struct sf_buf sig;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok;

    sf_buf_init(&sig, 4096);
    assert_int_equal(sf_b64url_decode(&sig, sig64, strlen(sig64)), SF_OK);
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub), 1);
    ok = EVP_DigestVerify(md, (unsigned char *)sig.data, sig.len, (const unsigned char *)jwt,
                          signed_len);
    EVP_MD_CTX_free(md);
    sf_buf_free(&sig);
    return ok;
}

static void check_assertion(struct pki *p, const char *jwt, int64_t now, const char *aud)
{
    const char *dot1 = strchr(jwt, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    json_object *hdr, *cl;
    const char *jti;

    assert_non_null(dot2);
    assert_null(strchr(dot2 + 1, '.'));
    assert_null(strchr(jwt, '='));   /* unpadded */
    hdr = decode_part(jwt, (size_t)(dot1 - jwt));
    cl = decode_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    assert_string_equal(jstr(hdr, "alg"), "RS256");
    assert_string_equal(jstr(hdr, "typ"), "JWT");
    expect_thumb(hdr, "x5t", p->x509, EVP_sha1());
    expect_thumb(hdr, "x5t#S256", p->x509, EVP_sha256());
    assert_string_equal(jstr(cl, "aud"), aud);
    assert_string_equal(jstr(cl, "iss"), "11111111-2222-3333-4444-555555555555");
    assert_string_equal(jstr(cl, "sub"), "11111111-2222-3333-4444-555555555555");
    jti = jstr(cl, "jti");
    assert_int_equal(strlen(jti), 36);
    assert_int_equal(jti[14], '4');
    assert_int_equal(jint(cl, "nbf"), now);
    assert_int_equal(jint(cl, "iat"), now);
    assert_int_equal(jint(cl, "exp"), now + 600);
    assert_int_equal(verify_sig(p->pkey, jwt, (size_t)(dot2 - jwt), dot2 + 1), 1);
    json_object_put(hdr);
    json_object_put(cl);
}

static void test_jwt_assertion(void **state)
{
    const char *aud = "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001"
                      "/oauth2/v2.0/token";
    const char *cid = "11111111-2222-3333-4444-555555555555";
    struct sf_buf a, b;
    struct pki p;
    char err[256];
    (void)state;

    make_pki(&p);
    sf_buf_init(&a, 65536);
    sf_buf_init(&b, 65536);
    assert_int_equal(sf_auth_assertion(p.cert, p.key, NULL, cid, aud, 1700000000, &a, err,
                                       sizeof(err)), SF_OK);
    check_assertion(&p, a.data, 1700000000, aud);
    assert_int_equal(sf_auth_assertion(p.cert, p.key_enc, "pa55word", cid, aud, 1700000001, &b,
                                       err, sizeof(err)), SF_OK);
    check_assertion(&p, b.data, 1700000001, aud);
    /* Fresh jti each time: the second claims segment differs beyond iat. */
    assert_string_not_equal(strchr(a.data, '.'), strchr(b.data, '.'));
    /* A flipped byte in the claims breaks the signature. */
    {
        char *dot = strchr(a.data, '.');
        dot[5] = dot[5] == 'A' ? 'B' : 'A';
        assert_int_not_equal(verify_sig(p.pkey, a.data, (size_t)(strrchr(a.data, '.') - a.data),
                                        strrchr(a.data, '.') + 1), 1);
    }
    sf_buf_free(&a);
    sf_buf_free(&b);
    free_pki(&p);
}

static void test_jwt_assertion_errors(void **state)
{
    struct sf_buf a;
    struct pki p;
    char err[256];
    (void)state;

    make_pki(&p);
    sf_buf_init(&a, 65536);
    assert_int_equal(sf_auth_assertion(p.cert, p.key_enc, "wrong", "c", "aud", 1, &a, err,
                                       sizeof(err)), SF_ERR_CONFIG);
    assert_non_null(strstr(err, "wrong password"));
    assert_int_equal(sf_auth_assertion(p.cert, p.key_enc, NULL, "c", "aud", 1, &a, err,
                                       sizeof(err)), SF_ERR_CONFIG);
    assert_non_null(strstr(err, "without key_password"));
    assert_int_equal(sf_auth_assertion(p.cert, p.ec_key, NULL, "c", "aud", 1, &a, err,
                                       sizeof(err)), SF_ERR_CONFIG);
    assert_non_null(strstr(err, "not RSA"));
    assert_int_equal(sf_auth_assertion(p.cert, p.other_key, NULL, "c", "aud", 1, &a, err,
                                       sizeof(err)), SF_ERR_CONFIG);
    assert_non_null(strstr(err, "does not match"));
    assert_int_equal(sf_auth_assertion("/nonexistent.crt", p.key, NULL, "c", "aud", 1, &a, err,
                                       sizeof(err)), SF_ERR_CONFIG);
    assert_string_equal(err, "cannot read a PEM certificate from /nonexistent.crt");
    assert_int_equal(a.len, 0);
    sf_buf_free(&a);
    free_pki(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_time),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_graph_url),
        cmocka_unit_test(test_mde_siem_urls),
        cmocka_unit_test(test_audiences),
        cmocka_unit_test(test_consent_url),
        cmocka_unit_test(test_source_names),
        cmocka_unit_test(test_alert_keys_samples),
        cmocka_unit_test(test_alert_keys_bad),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_user_agent),
        cmocka_unit_test(test_urlencode),
        cmocka_unit_test(test_b64url),
        cmocka_unit_test(test_error_sentence),
        cmocka_unit_test(test_jwt_assertion),
        cmocka_unit_test(test_jwt_assertion_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
