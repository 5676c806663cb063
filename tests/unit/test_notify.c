/* test_notify.c - the notification pieces without a network: safe headers
 * (control characters, RFC 2047, folding), quoted-printable, dates, whole
 * alert/digest emails with and without the include switches, field
 * extraction for Graph/MDE/SIEM records, webhook templates, and the engine
 * (rules, sent-once memory with severity rise, flood holds, digests at the
 * window's end and at shutdown, held alerts surviving a crash) against a
 * fake transport and a notify.db in a temporary state_dir. */
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

#include "sf_notify.h"

/* ------------------------------------------------------------ headers */

static char *header(const char *name, const char *value)
{
    struct sf_buf b;

    sf_buf_init(&b, 0);
    assert_int_equal(sf_email_header(&b, name, value), SF_OK);
    return sf_buf_steal(&b, NULL);
}

/* Lines of a header block that start a new header (not a continuation). */
static int header_starts(const char *s)
{
    int n = 0;
    for (const char *p = s; *p; p++)
        if ((p == s || (p[-1] == '\n' && p[-2] == '\r')) && *p != ' ' && *p != '\t')
            n++;
    return n;
}

static void test_header_control_chars(void **state)
{
    char *h = header("Subject", "[contoso] High: Evil\r\nBcc: victim@evil.example\r\n"
                                "X-Injected: yes\x01\x7f end  ");
    assert_string_equal(h, "Subject: [contoso] High: Evil Bcc: victim@evil.example "
                           "X-Injected: yes end\r\n");
    assert_int_equal(header_starts(h), 1);
    free(h);
    h = header("Subject", "\n\r\n");
    assert_string_equal(h, "Subject: \r\n");
    free(h);
    h = header("X-Note", NULL);
    assert_string_equal(h, "X-Note: \r\n");
    free(h);
}

static void test_header_rfc2047(void **state)
{
    char *h = header("Subject", "Zo\xc3\xab: \xe6\x94\xbb\xe6\x92\x83");   /* "Zoë: 攻撃" */
    assert_string_equal(h, "Subject: =?UTF-8?B?Wm/Dqzog5pS75pKD?=\r\n");
    free(h);
    /* "=?" in ASCII would be read as an encoded-word: encoded too */
    h = header("Subject", "a =?x?= b");
    assert_string_equal(h, "Subject: =?UTF-8?B?YSA9P3g/PSBi?=\r\n");
    free(h);
}

static void test_header_long_utf8_split(void **state)
{
    struct sf_buf in;
    sf_buf_init(&in, 0);
    for (int i = 0; i < 40; i++)
        sf_buf_adds(&in, "\xe6\x94\xbb");   /* 3-byte characters: 120 bytes */
    sf_buf_adds(&in, "\r\nBcc: x@y");
    char *h = header("Subject", in.data);

    assert_int_equal(header_starts(h), 1);
    /* every word is at most 75 characters and each line fits in 78 */
    for (char *line = h; *line;) {
        char *end = strstr(line, "\r\n");
        assert_non_null(end);
        assert_true(end - line <= 78);
        line = end + 2;
    }
    /* 39-byte chunks cut back to 39 = 13 whole characters: words start on
     * a character, so the first two words carry exactly 13 characters each */
    assert_non_null(strstr(h, "Subject: =?UTF-8?B?5pS75pS75pS75pS75pS75pS75pS75pS75pS75pS75pS7"
                              "5pS75pS7?=\r\n =?UTF-8?B?5pS7"));
    free(h);
    sf_buf_free(&in);
}

static void test_header_ascii_fold(void **state)
{
    char value[400] = "";
    for (int i = 0; i < 30; i++)
        strcat(value, i ? " word" : "word");
    char *h = header("Subject", value);

    assert_int_equal(header_starts(h), 1);
    assert_non_null(strstr(h, "\r\n word"));
    /* unfolding (RFC 5322 §2.2.3: remove CRLF before WSP) gives the value back */
    struct sf_buf u;
    sf_buf_init(&u, 0);
    for (const char *p = h + 9; *p; p++)
        if (!(p[0] == '\r' && p[1] == '\n' && p[2] == ' ') && !(p[-1] == '\r' && p[0] == '\n'))
            sf_buf_addc(&u, *p);
    assert_int_equal(u.len, strlen(value) + 1);   /* + the final \r */
    assert_memory_equal(u.data, value, strlen(value));
    sf_buf_free(&u);
    free(h);
}

static char *qp(const char *text)
{
    struct sf_buf b;

    sf_buf_init(&b, 0);
    assert_int_equal(sf_email_qp(&b, text, strlen(text)), SF_OK);
    return sf_buf_steal(&b, NULL);
}

static void test_qp(void **state)
{
    char *s = qp("a=b\ncaf\xc3\xa9\nx \n.dot\nend\ttab\t\r\nlast");
    assert_string_equal(s, "a=3Db\r\ncaf=C3=A9\r\nx=20\r\n=2Edot\r\nend\ttab=09\r\nlast\r\n");
    free(s);
    char line[101];
    memset(line, 'a', 100);
    line[100] = '\0';
    s = qp(line);
    assert_int_equal(strlen(s), 75 + 3 + 25 + 2);
    assert_memory_equal(s + 75, "=\r\n", 3);
    assert_memory_equal(s + 78, line, 25);
    free(s);
    /* an escape is never split by a soft break */
    memset(line, 'a', 74);
    strcpy(line + 74, "\xc3\xa9");
    s = qp(line);
    assert_string_equal(s + 74, "=\r\n=C3=A9\r\n");
    free(s);
}

static void test_date(void **state)
{
    char d[64];
    sf_email_date(1700000000123LL, d, sizeof(d));
    assert_string_equal(d, "Tue, 14 Nov 2023 22:13:20 +0000");
    sf_notify_severity_word("HIGH", d, sizeof(d));
    assert_string_equal(d, "High");
    sf_notify_severity_word("unSpecified", d, sizeof(d));
    assert_string_equal(d, "UnSpecified");
    sf_notify_severity_word(NULL, d, sizeof(d));
    assert_string_equal(d, "Unknown");
}

/* ------------------------------------------------------------ extraction */

static const char graph_rec[] =
    "{\"id\":\"da637\",\"title\":\"Suspicious execution of hidden file\",\"severity\":\"high\","
    "\"status\":\"new\",\"category\":\"DefenseEvasion\",\"serviceSource\":"
    "\"microsoftDefenderForEndpoint\",\"detectionSource\":\"antivirus\",\"createdDateTime\":"
    "\"2024-01-02T10:00:00.1234567Z\",\"description\":\"A hidden file.\\nLine two <b>&\","
    "\"alertWebUrl\":\"https://security.microsoft.com/alerts/da637?tid=t-1\","
    "\"evidence\":[{\"@odata.type\":\"#microsoft.graph.security.userEvidence\"},"
    "{\"@odata.type\":\"#microsoft.graph.security.deviceEvidence\",\"deviceDnsName\":"
    "\"ws-fin-0001.contoso.example\"},{\"@odata.type\":\"#microsoft.graph.security."
    "deviceEvidence\",\"deviceDnsName\":\"WS-FIN-0001.contoso.example\"},{\"@odata.type\":"
    "\"#microsoft.graph.security.deviceEvidence\",\"hostName\":\"dc-01\"}],"
    "\"tenant\":{\"name\":\"contoso\",\"id\":\"t-1\"}}";

static void test_extract_sources(void **state)
{
    struct sf_notify_alert a;
    json_object *g = json_tokener_parse(graph_rec);
    json_object *m = json_tokener_parse("{\"id\":\"da9\",\"title\":\"T\",\"severity\":\"Low\","
                                        "\"computerDnsName\":\"srv-1.fabrikam.example\"}");
    json_object *s = json_tokener_parse("{\"AlertId\":\"da8\",\"AlertTitle\":\"S\",\"Severity\":"
                                        "\"Medium\",\"ComputerDnsName\":\"h.x\",\"LinkToMTP\":"
                                        "\"https://security.microsoft.com/alert/da8\"}");

    assert_int_equal(sf_notify_extract(g, "other", "other-id", &a), 0);
    assert_string_equal(a.tenant, "contoso");
    assert_string_equal(a.tenant_id, "t-1");
    assert_string_equal(a.link, "https://security.microsoft.com/alerts/da637?tid=t-1");
    assert_int_equal(a.ndevices, 2);   /* unique, case-insensitively */
    assert_string_equal(a.devices[0], "ws-fin-0001.contoso.example");
    assert_string_equal(a.devices[1], "dc-01");
    assert_int_equal(a.sev_rank, 4);
    assert_int_equal(sf_notify_extract(m, "fabrikam", "t-2", &a), 0);
    assert_string_equal(a.tenant, "fabrikam");
    assert_string_equal(a.link, "https://security.microsoft.com/alerts/da9?tid=t-2");
    assert_string_equal(a.devices[0], "srv-1.fabrikam.example");
    assert_int_equal(sf_notify_extract(s, "northwind", "t-3", &a), 0);
    assert_string_equal(a.id, "da8");
    assert_string_equal(a.title, "S");
    assert_string_equal(a.link, "https://security.microsoft.com/alert/da8?tid=t-3");
    assert_int_equal(a.sev_rank, 3);
    assert_int_equal(sf_notify_extract(NULL, "x", "y", &a), -1);
    json_object_put(g);
    json_object_put(m);
    json_object_put(s);
}

/* ------------------------------------------------------------ messages */

/* The message with soft line breaks removed and =XX decoded (good enough
 * for searching: headers are ASCII) and header folding undone. */
static char *decoded(const char *m)
{
    struct sf_buf b;

    const char *body = strstr(m, "\r\n\r\n");

    sf_buf_init(&b, 0);
    for (const char *p = m; *p; p++) {
        if (p > body && p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
            p += 2;
        } else if (p > body && p[0] == '=' && p[1] && p[2] && strchr("0123456789ABCDEF", p[1])
                   && strchr("0123456789ABCDEF", p[2])) {
            char hex[3] = { p[1], p[2], 0 };
            sf_buf_addc(&b, (char)strtol(hex, NULL, 16));
            p += 2;
        } else if (p < body && p[0] == '\r' && p[1] == '\n' && p[2] == ' ') {
            p += 1;
        } else {
            sf_buf_addc(&b, *p);
        }
    }
    return sf_buf_steal(&b, NULL);
}

static char *const to[] = { "soc@mssp.example", "lead@mssp.example" };

static char *compose(const struct sf_email_opts *eo, const char *rec_text)
{
    struct sf_notify_alert a;
    json_object *rec = json_tokener_parse(rec_text);
    struct sf_buf b;

    assert_int_equal(sf_notify_extract(rec, NULL, NULL, &a), 0);
    a.rule = "min_severity=high";
    sf_buf_init(&b, 0);
    assert_int_equal(sf_email_alert(eo, &a, 1700000000000LL, "abc.siemfwd@mssp.example",
                                    "=_b1", &b), SF_OK);
    json_object_put(rec);
    return sf_buf_steal(&b, NULL);
}

static void test_alert_email(void **state)
{
    struct sf_email_opts eo = { "siemfwd@mssp.example", to, 2, 1, 1, 1 };
    char *m = compose(&eo, graph_rec);
    const char *body = strstr(m, "\r\n\r\n");

    assert_non_null(body);
    assert_memory_equal(m, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
                           "From: siemfwd@mssp.example\r\n"
                           "To: soc@mssp.example, lead@mssp.example\r\n"
                           "Subject: [contoso] High: Suspicious execution of hidden file\r\n"
                           "Message-ID: <abc.siemfwd@mssp.example>\r\n"
                           "MIME-Version: 1.0\r\n"
                           "Content-Type: multipart/alternative; boundary=\"=_b1\"\r\n"
                           "Auto-Submitted: auto-generated\r\n\r\n", (size_t)(body - m) + 4);
    assert_non_null(strstr(m, "\r\n--=_b1\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                              "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                              "Suspicious execution of hidden file\r\n\r\n"
                              "Organization: contoso (tenant t-1)\r\n"
                              "Severity:     High\r\nStatus:       new\r\n"));
    assert_non_null(strstr(m, "Devices:      ws-fin-0001.contoso.example, dc-01\r\n"));
    assert_non_null(strstr(m, "\r\n--=_b1--\r\n"));
    char *d = decoded(m);
    assert_non_null(strstr(d, "Portal link:  https://security.microsoft.com/alerts/da637?tid="
                              "t-1\r\n"));
    assert_non_null(strstr(d, "A hidden file.\r\nLine two <b>&\r\n"));
    assert_non_null(strstr(d, "Line two &lt;b&gt;&amp;</p>"));        /* HTML escaped */
    assert_non_null(strstr(d, "<a href=\"https://security.microsoft.com/alerts/da637?tid="
                              "t-1\">"));
    free(d);
    free(m);

    struct sf_email_opts off = { "siemfwd@mssp.example", to, 1, 0, 0, 0 };
    m = compose(&off, graph_rec);
    assert_non_null(strstr(m, "Subject: High: Suspicious execution of hidden file\r\n"));
    assert_non_null(strstr(m, "To: soc@mssp.example\r\n"));
    assert_null(strstr(m, "contoso"));
    assert_null(strstr(m, "tid="));
    assert_null(strstr(m, "ws-fin"));
    free(m);
}

static void test_hostile_title_email(void **state)
{
    struct sf_email_opts eo = { "siemfwd@mssp.example", to, 1, 1, 1, 1 };
    char *m = compose(&eo, "{\"id\":\"x1\",\"severity\":\"high\",\"title\":\"Evil\\r\\nBcc: "
                      "victim@evil.example\\r\\n\\r\\nbody? \\u00fcml\\u00e4ut\","
                      "\"tenant\":{\"name\":\"c\\nX: y\",\"id\":\"t\"}}");
    char *end = strstr(m, "\r\n\r\n");

    *end = '\0';   /* the header block only */
    assert_int_equal(header_starts(m), 8);
    assert_null(strstr(m, "\r\nBcc:"));
    assert_null(strstr(m, "\r\nX:"));
    assert_non_null(strstr(m, "\r\nSubject: =?UTF-8?B?"));
    free(m);
}

static void test_digest_email(void **state)
{
    struct sf_notify_item items[3] = {
        { "contoso", "t-1", "a1", "high", "One", "https://x.example/a1?tid=t-1", 0 },
        { "fabrikam", "t-2", "a2", "low", "Two", NULL, 0 },
        { "contoso", "t-1", "a3", "medium", "Three", "javascript:alert(1)", 0 },
    };
    struct sf_notify_digest d = { "min_severity=low", "2 per 10m", 1700000000000LL,
                                  1700000600000LL, items, 3, 4 };
    struct sf_email_opts eo = { "siemfwd@mssp.example", to, 1, 1, 1, 1 };
    struct sf_buf b;

    sf_buf_init(&b, 0);
    assert_int_equal(sf_email_digest(&eo, &d, 1700000600000LL, "m@x", "=_b2", &b), SF_OK);
    char *m = decoded(b.data);
    sf_buf_reset(&b);
    sf_buf_adds(&b, m);
    free(m);
    assert_non_null(strstr(b.data, "Subject: [contoso, fabrikam] Digest: 3 alerts held by "
                                   "flood control (highest: High)\r\n"));
    assert_non_null(strstr(b.data, "3 alerts matched the rule \"min_severity=low\" after its "
                                   "flood limit (2 per 10m) was reached"));
    assert_non_null(strstr(b.data, "1. [contoso] High: One (alert a1)\r\n   https://x.example/"
                                   "a1?tid=t-1\r\n2. [fabrikam] Low: Two (alert a2)\r\n3. "
                                   "[contoso] Medium: Three (alert a3)\r\n"));
    assert_null(strstr(b.data, "javascript"));   /* only https links are shown */
    sf_buf_free(&b);
}

/* ------------------------------------------------------------ templates */

static void test_template(void **state)
{
    json_object *rec = json_tokener_parse(graph_rec);
    struct sf_notify_alert a;
    struct sf_buf b;
    char err[256];

    sf_notify_extract(rec, NULL, NULL, &a);
    a.title = "Say \"hi\"\n\\ now";
    a.record_text = "{\"k\":1}";
    sf_buf_init(&b, 0);
    assert_int_equal(sf_webhook_expand("{\"text\":\"[${tenant.name}] ${alert.severity}: "
                                       "${alert.title}\",\"u\":\"${alert.alertWebUrl}\",\"d\":"
                                       "\"${alert.devices}\",\"c\":\"${alert.category}\","
                                       "\"raw\":\"${record}\",\"x\":\"${alert.nope}\","
                                       "\"lit\":\"$${x}\"}", &a, &b, err, sizeof(err)), SF_OK);
    assert_string_equal(b.data, "{\"text\":\"[contoso] High: Say \\\"hi\\\"\\n\\\\ now\",\"u\":"
                        "\"https://security.microsoft.com/alerts/da637?tid=t-1\",\"d\":"
                        "\"ws-fin-0001.contoso.example, dc-01\",\"c\":\"DefenseEvasion\","
                        "\"raw\":\"{\\\"k\\\":1}\",\"x\":\"\",\"lit\":\"${x}\"}");
    sf_buf_reset(&b);
    assert_int_equal(sf_webhook_expand("{\"a\":\"${bogus}\"}", &a, &b, err, sizeof(err)),
                     SF_ERR_CONFIG);
    assert_string_equal(err, "template: unknown placeholder ${bogus} (use tenant.name, "
                        "tenant.id, record or alert.<field>)");
    assert_int_equal(sf_webhook_expand("{\"a\":\"${alert.title\"}", &a, &b, err, sizeof(err)),
                     SF_ERR_CONFIG);
    sf_buf_free(&b);
    json_object_put(rec);
}

/* ------------------------------------------------------------ engine */

struct fake {
    int alerts, digests;
    char sent[64][32];          /* alert ids, in order */
    size_t digest_n[8];
    char digest_ids[8][256];
    enum sf_verdict next;       /* verdict of the next transport call */
    uint64_t vid[64];
    enum sf_verdict vv[64];
    char vwhy[64][128];
    int nv;
};

static int64_t fake_now;
static int64_t fake_clock(void) { return fake_now; }

static enum sf_verdict f_alert(void *tctx, const struct sf_notify_alert *a, char *ans, size_t n)
{
    struct fake *f = tctx;
    if (f->next != SF_V_DELIVERED) {
        snprintf(ans, n, "451 try later");
        return f->next;
    }
    snprintf(f->sent[f->alerts++], 32, "%s", a->id);
    snprintf(ans, n, "250 ok");
    return SF_V_DELIVERED;
}

static enum sf_verdict f_digest(void *tctx, const struct sf_notify_digest *d, char *ans,
                                size_t n)
{
    struct fake *f = tctx;
    if (f->next != SF_V_DELIVERED) {
        snprintf(ans, n, "451 try later");
        return f->next;
    }
    f->digest_n[f->digests] = d->n;
    for (size_t i = 0; i < d->n; i++)
        snprintf(f->digest_ids[f->digests] + strlen(f->digest_ids[f->digests]),
                 256 - strlen(f->digest_ids[f->digests]), "%s ", d->items[i].alert_id);
    f->digests++;
    snprintf(ans, n, "250 ok");
    return SF_V_DELIVERED;
}

static const struct sf_notify_ops fake_ops = { f_alert, f_digest };
static const struct sf_output_type fake_type = { "email", NULL, NULL, NULL, NULL, NULL, NULL };

static void on_verdict(void *opaque, uint64_t id, enum sf_verdict v, const char *reason)
{
    struct fake *f = opaque;
    f->vid[f->nv] = id;
    f->vv[f->nv] = v;
    snprintf(f->vwhy[f->nv], sizeof(f->vwhy[0]), "%s", reason ? reason : "");
    f->nv++;
}

struct rig {
    char dir[64];
    struct sf_doc *doc;
    struct sf_output o;
    struct sf_notify n;
    struct fake f;
};

static void rig_start(struct rig *r, const char *yaml)
{
    char errbuf[256];
    struct sf_buf errs;

    assert_int_equal(sf_yaml_load_string("n.yaml", yaml, strlen(yaml), &r->doc, errbuf,
                                         sizeof(errbuf)), SF_OK);
    r->o = (struct sf_output){ &fake_type, "oncall", r->dir, 0, on_verdict, &r->f, NULL };
    memset(&r->n, 0, sizeof(r->n));
    sf_buf_init(&errs, 0);
    assert_int_equal(sf_notify_init(&r->n, &r->o, r->doc->root, "outputs[0]", &fake_ops, &r->f,
                                    &errs), SF_OK);
    sf_buf_free(&errs);
    r->n.clock = fake_clock;
    assert_int_equal(sf_notify_start(&r->n, errbuf, sizeof(errbuf)), SF_OK);
}

static void rig_stop(struct rig *r)
{
    sf_notify_fini(&r->n);
    sf_doc_free(r->doc);
}

static void send_alert(struct rig *r, const char *id, const char *sev, uint64_t seq)
{
    char rec[256];
    snprintf(rec, sizeof(rec), "{\"id\":\"%s\",\"title\":\"T %s\",\"severity\":\"%s\","
             "\"status\":\"new\",\"tenant\":{\"name\":\"contoso\",\"id\":\"t-1\"}}", id, id, sev);
    struct sf_msg m = { rec, strlen(rec), "contoso", "t-1", id, 0, seq, SF_MSG_ALERT };
    sf_notify_send(&r->n, &m, 1);
    assert_int_equal(r->f.vid[r->f.nv - 1], seq);
}

static const char engine_yaml[] = "rules:\n  - {min_severity: medium}\n"
                                  "flood: {max: 2, per: 10m}\n";

static void test_engine_memory_and_flood(void **state)
{
    struct rig r = { .dir = "/tmp/sf_notify_XXXXXX" };
    assert_non_null(mkdtemp(r.dir));
    fake_now = (int64_t)time(NULL) * 1000;   /* notify.db forgets sends older than 200 days */
    rig_start(&r, engine_yaml);

    send_alert(&r, "a1", "medium", 1);
    send_alert(&r, "a1", "medium", 2);          /* sent already at medium: skipped */
    send_alert(&r, "a0", "low", 3);             /* no rule: skipped */
    assert_int_equal(r.f.alerts, 1);
    send_alert(&r, "a1", "high", 4);            /* severity rose: sent again */
    assert_int_equal(r.f.alerts, 2);
    assert_string_equal(r.f.sent[1], "a1");
    send_alert(&r, "a2", "high", 5);            /* third in the window: held */
    r.f.next = SF_V_RETRY;
    send_alert(&r, "a3", "high", 6);            /* held: no transport call, no failure */
    r.f.next = SF_V_DELIVERED;
    assert_int_equal(r.f.alerts, 2);
    for (int i = 0; i < 6; i++)
        assert_int_equal(r.f.vv[i], SF_V_DELIVERED);
    sf_notify_service(&r.n, 0);                 /* the window has not ended */
    assert_int_equal(r.f.digests, 0);
    fake_now += 10 * 60 * 1000;
    r.f.next = SF_V_RETRY;
    sf_notify_service(&r.n, 0);                 /* digest fails: kept */
    assert_int_equal(r.f.digests, 0);
    r.f.next = SF_V_DELIVERED;
    send_alert(&r, "a4", "high", 7);            /* digest goes first, then a new window */
    assert_int_equal(r.f.digests, 1);
    assert_int_equal(r.f.digest_n[0], 2);
    assert_string_equal(r.f.digest_ids[0], "a2 a3 ");
    assert_int_equal(r.f.alerts, 3);
    assert_string_equal(r.f.sent[2], "a4");
    r.f.next = SF_V_RETRY;
    send_alert(&r, "a5", "high", 8);            /* transport failure: RETRY, slot back */
    assert_int_equal(r.f.vv[r.f.nv - 1], SF_V_RETRY);
    assert_string_equal(r.f.vwhy[r.f.nv - 1], "451 try later");
    r.f.next = SF_V_DELIVERED;
    send_alert(&r, "a5", "high", 9);
    send_alert(&r, "a6", "high", 10);           /* held */
    assert_int_equal(r.f.alerts, 4);
    rig_stop(&r);                               /* shutdown: digest of what is held */
    assert_int_equal(r.f.digests, 2);
    assert_int_equal(r.f.digest_n[1], 1);
    assert_string_equal(r.f.digest_ids[1], "a6 ");

    /* a new run remembers what was sent */
    memset(&r.f, 0, sizeof(r.f));
    rig_start(&r, engine_yaml);
    send_alert(&r, "a2", "high", 11);
    send_alert(&r, "a4", "high", 12);
    assert_int_equal(r.f.alerts, 0);
    rig_stop(&r);
    assert_int_equal(r.f.digests, 0);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", r.dir);
    assert_int_equal(system(cmd), 0);
}

static void test_engine_crash_keeps_held(void **state)
{
    struct rig r = { .dir = "/tmp/sf_notify_XXXXXX" };
    assert_non_null(mkdtemp(r.dir));
    fake_now = (int64_t)time(NULL) * 1000;   /* notify.db forgets sends older than 200 days */
    rig_start(&r, engine_yaml);
    for (int i = 0; i < 5; i++) {
        char id[8];
        snprintf(id, sizeof(id), "c%d", i);
        send_alert(&r, id, "medium", (uint64_t)i + 1);
    }
    assert_int_equal(r.f.alerts, 2);
    /* kill -9: the store goes away without any digest */
    sf_nstore_close(r.n.store);
    r.n.store = NULL;
    rig_stop(&r);
    assert_int_equal(r.f.digests, 0);

    memset(&r.f, 0, sizeof(r.f));
    fake_now += 60 * 1000;
    rig_start(&r, engine_yaml);
    send_alert(&r, "c9", "medium", 20);         /* the restored window is still full */
    assert_int_equal(r.f.alerts, 0);
    fake_now += 9 * 60 * 1000;                  /* the window of c0 ends */
    sf_notify_service(&r.n, 0);
    assert_int_equal(r.f.digests, 1);
    assert_int_equal(r.f.digest_n[0], 4);
    assert_string_equal(r.f.digest_ids[0], "c2 c3 c4 c9 ");
    rig_stop(&r);
    assert_int_equal(r.f.digests, 1);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", r.dir);
    assert_int_equal(system(cmd), 0);
}

static void test_engine_not_json(void **state)
{
    struct rig r = { .dir = "/tmp/sf_notify_XXXXXX" };
    assert_non_null(mkdtemp(r.dir));
    fake_now = (int64_t)time(NULL) * 1000;   /* notify.db forgets sends older than 200 days */
    rig_start(&r, "rules:\n  - {}\n");
    struct sf_msg m = { "CEF:0|Microsoft|x", 17, "contoso", "t-1", "z", 0, 1, SF_MSG_ALERT };
    sf_notify_send(&r.n, &m, 1);
    assert_int_equal(r.f.vv[0], SF_V_FATAL);
    assert_string_equal(r.f.vwhy[0], "the record is not a JSON object: email outputs need "
                        "format: json");
    struct sf_msg m2 = { "{\"id\":\"q\"} x", 12, "contoso", "t-1", "q", 0, 2, SF_MSG_ALERT };
    sf_notify_send(&r.n, &m2, 1);                /* trailing bytes */
    assert_int_equal(r.f.vv[1], SF_V_FATAL);
    rig_stop(&r);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", r.dir);
    assert_int_equal(system(cmd), 0);
}

static void test_engine_format_check(void **state)
{
    struct sf_doc *doc;
    char errbuf[256];
    struct sf_buf errs;
    struct sf_notify n = { 0 };
    struct sf_output o = { &fake_type, "oncall", NULL, 0, NULL, NULL, NULL };
    const char *yaml = "name: oncall\nformat: arcsight-cef\n";

    assert_int_equal(sf_yaml_load_string("n.yaml", yaml, strlen(yaml), &doc, errbuf,
                                         sizeof(errbuf)), SF_OK);
    sf_buf_init(&errs, 0);
    assert_int_equal(sf_notify_init(&n, &o, doc->root, "outputs[4]", &fake_ops, NULL, &errs),
                     SF_ERR_CONFIG);
    assert_string_equal(errs.data, "n.yaml:2: outputs[4].format: email outputs read the alert "
                        "from JSON records: use format: json (or leave it out)\n");
    sf_notify_fini(&n);
    sf_buf_free(&errs);
    sf_doc_free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_control_chars),
        cmocka_unit_test(test_header_rfc2047),
        cmocka_unit_test(test_header_long_utf8_split),
        cmocka_unit_test(test_header_ascii_fold),
        cmocka_unit_test(test_qp),
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_extract_sources),
        cmocka_unit_test(test_alert_email),
        cmocka_unit_test(test_hostile_title_email),
        cmocka_unit_test(test_digest_email),
        cmocka_unit_test(test_template),
        cmocka_unit_test(test_engine_memory_and_flood),
        cmocka_unit_test(test_engine_crash_keeps_held),
        cmocka_unit_test(test_engine_not_json),
        cmocka_unit_test(test_engine_format_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
