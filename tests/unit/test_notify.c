/* test_notify.c - the notification pieces without a network. The renderer
 * (formats/notify_*.c): safe headers (control characters, RFC 2047,
 * folding), quoted-printable, dates, whole alert/digest emails with and
 * without the include switches (from the Graph source's view of a
 * record), webhook templates and documents. The policy (forwarder/notify_policy.c) in front
 * of a fake transport: rules matched on views, sent-once memory with
 * severity rise, flood holds, digests at the window's end and at shutdown,
 * held alerts surviving a restart, the memory in siemfwd.db beside the
 * cursors, operational events, and a notify.db of an older siemfwd
 * imported into siemfwd.db in a temporary state_dir. */
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

#include <sqlite3.h>

#include "sf_notify_policy.h"
#include "sf_notify_render.h"
#include "sf_rules.h"
#include "sf_sources.h"

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

/* The view of a Graph record as the pipeline makes it (its source's view()),
 * for tenant (its configured name, "t-1"). */
static void graph_view(json_object *rec, const char *tenant, struct sf_alert_view *v)
{
    struct sf_fetch_tenant ft = { .name = tenant, .tenant_id = "t-1" };
    assert_int_equal(sf_source_view("graph", rec, &ft, v), 0);
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

static char *compose(const struct sf_email_opts *eo, const char *rec_text, const char *tenant)
{
    struct sf_alert_view v;
    struct sf_notify_alert a = { .v = &v, .rule = "min_severity=high" };
    json_object *rec = json_tokener_parse(rec_text);
    struct sf_buf b;

    graph_view(rec, tenant, &v);
    sf_buf_init(&b, 0);
    assert_int_equal(sf_email_alert(eo, &a, 1700000000000LL, "abc.siemfwd@mssp.example",
                                    "=_b1", &b), SF_OK);
    json_object_put(rec);
    return sf_buf_steal(&b, NULL);
}

static void test_alert_email(void **state)
{
    struct sf_email_opts eo = { "siemfwd@mssp.example", to, 2, 1, 1, 1 };
    char *m = compose(&eo, graph_rec, "contoso");
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
    m = compose(&off, graph_rec, "contoso");
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
                      "victim@evil.example\\r\\n\\r\\nbody? \\u00fcml\\u00e4ut\"}",
                      "c\nX: y");
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
    struct sf_alert_view v;
    struct sf_notify_alert a = { .v = &v, .record = rec, .record_text = "{\"k\":1}" };
    struct sf_buf b;
    char err[256];

    graph_view(rec, "contoso", &v);
    v.title = "Say \"hi\"\n\\ now";
    a.record_len = strlen(a.record_text);
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

/* siemfwd's webhook document: the view's fields, then the record as rendered. */
static void test_webhook_document(void **state)
{
    json_object *rec = json_tokener_parse(graph_rec);
    struct sf_alert_view v;
    struct sf_notify_alert a = { .v = &v, .rule = "min_severity=high", .record = rec,
                                 .record_text = "{\"id\":\"da637\",\"x\":\"a/b\"}" };
    struct sf_notify_item it = { "contoso", "t-1", "a1", "high", "One", NULL, 0 };
    struct sf_notify_digest d = { "r", "2 per 10m", 1700000000000LL, 1700000600000LL, &it, 1,
                                  4 };
    struct sf_buf b;
    char err[256];

    a.record_len = strlen(a.record_text);
    graph_view(rec, "contoso", &v);
    sf_buf_init(&b, 0);
    assert_int_equal(sf_webhook_alert(NULL, &a, &b, err, sizeof(err)), SF_OK);
    assert_string_equal(b.data, "{\"type\":\"alert\",\"rule\":\"min_severity=high\",\"tenant\":"
                        "{\"name\":\"contoso\",\"id\":\"t-1\"},\"id\":\"da637\",\"title\":"
                        "\"Suspicious execution of hidden file\",\"severity\":\"high\","
                        "\"status\":\"new\",\"category\":\"DefenseEvasion\",\"link\":"
                        "\"https://security.microsoft.com/alerts/da637?tid=t-1\",\"devices\":"
                        "[\"ws-fin-0001.contoso.example\",\"dc-01\"],\"alert\":{\"id\":"
                        "\"da637\",\"x\":\"a/b\"}}");
    sf_buf_reset(&b);
    assert_int_equal(sf_webhook_digest(NULL, &d, &b, err, sizeof(err)), SF_OK);
    assert_string_equal(b.data, "{\"type\":\"digest\",\"title\":\"Digest: 1 alert held by "
                        "flood control (highest: High)\",\"rule\":\"r\",\"limit\":\"2 per 10m\","
                        "\"from\":\"Tue, 14 Nov 2023 22:13:20 +0000\",\"until\":\"Tue, 14 Nov "
                        "2023 22:23:20 +0000\",\"count\":1,\"alerts\":[{\"tenant\":\"contoso\","
                        "\"tenantId\":\"t-1\",\"id\":\"a1\",\"severity\":\"high\",\"title\":"
                        "\"One\",\"link\":null}]}");
    sf_buf_reset(&b);
    assert_int_equal(sf_webhook_digest("{\"t\":\"${alert.title}\",\"d\":\"${alert.description}"
                                       "\"}", &d, &b, err, sizeof(err)), SF_OK);
    assert_string_equal(b.data, "{\"t\":\"Digest: 1 alert held by flood control (highest: "
                        "High)\",\"d\":\"[contoso] high: One\"}");
    assert_int_equal(sf_webhook_template_ok("{\"a\":${alert.title}}", err, sizeof(err)), 0);
    assert_int_equal(sf_webhook_template_ok("{\"a\":\"${alert.title}\"}", err, sizeof(err)),
                     1);
    sf_buf_free(&b);
    json_object_put(rec);
}

/* ------------------------------------------------------------ policy */

/* The fake transport: a webhook that records the documents it is given. */
struct fake {
    int alerts, digests, events;
    char sent[64][32];          /* alert ids, in order */
    size_t digest_n[8];
    char digest_ids[8][256];
    char event_text[256];       /* the last event's description */
    char event_link[256];       /* the last event's "link" ("" when absent) */
    enum sf_verdict next;       /* verdict of the next message */
    uint64_t vid[64];
    enum sf_verdict vv[64];
    char vwhy[64][128];
    int nv;
};

static struct fake *the_fake;
static int64_t fake_now;
static int64_t fake_clock(void) { return fake_now; }

static sf_err f_init(struct sf_output *o, const struct sf_node *cfg, const char *path,
                     struct sf_buf *errs)
{
    o->ctx = the_fake;
    return SF_OK;
}

static sf_err f_start(struct sf_output *o, char *errbuf, size_t errlen) { return SF_OK; }

static const char *member(json_object *o, const char *k)
{
    json_object *v;
    return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

static void f_take(struct fake *f, json_object *doc)
{
    const char *type = member(doc, "type");
    json_object *al, *alert;

    if (strcmp(type, "digest") == 0) {
        assert_true(json_object_object_get_ex(doc, "alerts", &al));
        f->digest_n[f->digests] = json_object_array_length(al);
        for (size_t i = 0; i < json_object_array_length(al); i++)
            snprintf(f->digest_ids[f->digests] + strlen(f->digest_ids[f->digests]),
                     256 - strlen(f->digest_ids[f->digests]), "%s ",
                     member(json_object_array_get_idx(al, i), "id"));
        f->digests++;
    } else if (strcmp(type, "event") == 0) {
        assert_true(json_object_object_get_ex(doc, "alert", &alert));
        snprintf(f->event_text, sizeof(f->event_text), "%s", member(alert, "description"));
        const char *link = member(doc, "link"); /* NULL: "link": null */
        snprintf(f->event_link, sizeof(f->event_link), "%s", link ? link : "");
        f->events++;
    } else {
        assert_string_equal(type, "alert");
        /* the record went in whole, after the members the view filled */
        assert_true(json_object_object_get_ex(doc, "alert", &alert));
        assert_string_equal(member(alert, "id"), member(doc, "id"));
        snprintf(f->sent[f->alerts++], 32, "%s", member(doc, "id"));
    }
}

static sf_err f_send(struct sf_output *o, const struct sf_msg *msgs, size_t n)
{
    struct fake *f = o->ctx;

    for (size_t i = 0; i < n; i++) {
        if (f->next != SF_V_DELIVERED) {
            o->verdict(o->verdict_opaque, msgs[i].id, f->next, "451 try later");
            continue;
        }
        json_object *doc = json_tokener_parse(msgs[i].data);
        assert_non_null(doc);
        f_take(f, doc);
        json_object_put(doc);
        o->verdict(o->verdict_opaque, msgs[i].id, SF_V_DELIVERED, "250 ok");
    }
    return SF_OK;
}

static void f_poll(struct sf_output *o, int timeout_ms) {}
static size_t f_flush(struct sf_output *o, int timeout_ms) { return 0; }
static void f_destroy(struct sf_output *o) { o->ctx = NULL; }

static const struct sf_notify_cap fake_cap = { SF_NOTIFY_WEBHOOK, NULL };
static const struct sf_output_type fake_type = { "webhook", f_init, f_start, f_send, f_poll,
                                                 f_flush, f_destroy, &fake_cap };

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
    struct sf_state *shared;    /* the pipeline's state store, or NULL */
    struct sf_doc *doc;
    struct sf_rules *rules;
    struct sf_output o;
    struct fake f;
};

static void rig_start(struct rig *r, const char *yaml)
{
    char errbuf[256];
    struct sf_buf errs;

    assert_int_equal(sf_yaml_load_string("n.yaml", yaml, strlen(yaml), &r->doc, errbuf,
                                         sizeof(errbuf)), SF_OK);
    the_fake = &r->f;
    r->o = (struct sf_output){ &fake_type, "oncall", r->dir, 0, on_verdict, &r->f, NULL };
    sf_buf_init(&errs, 0);
    assert_int_equal(sf_rules_compile(sf_node_get(r->doc->root, "rules"), "outputs[0]",
                                      &r->rules, &errs), SF_OK);
    assert_int_equal(sf_notify_output_init(&r->o, r->doc->root, "outputs[0]", r->rules,
                                           r->shared, &errs),
                     SF_OK);
    sf_buf_free(&errs);
    assert_non_null(sf_notify_policy_of(&r->o));
    sf_notify_set_clock(&r->o, fake_clock);
    assert_int_equal(r->o.type->start(&r->o, errbuf, sizeof(errbuf)), SF_OK);
}

static void rig_stop(struct rig *r)
{
    r->o.type->destroy(&r->o);
    sf_rules_free(r->rules);
    sf_doc_free(r->doc);
}

/* What cycle.c does with one alert, then the runner's send. */
static void send_alert(struct rig *r, const char *id, const char *sev, uint64_t seq)
{
    char rec[256], err[256];
    struct sf_alert_view v;
    struct sf_notice *nt = NULL;
    struct sf_buf b;

    snprintf(rec, sizeof(rec), "{\"id\":\"%s\",\"title\":\"T %s\",\"severity\":\"%s\","
             "\"status\":\"new\"}", id, id, sev);
    json_object *alert = json_tokener_parse(rec);
    graph_view(alert, "contoso", &v);
    int rule = sf_rules_match(r->rules, &v);
    if (rule < 0) {   /* no rule wants it: the cycle does not hand it over */
        json_object_put(alert);
        return;
    }
    sf_buf_init(&b, 0);
    assert_int_equal(sf_notify_render_alert(sf_notify_policy_of(&r->o), alert, &v,
                                            (size_t)rule, rec, strlen(rec), &b, &nt, err,
                                            sizeof(err)), SF_OK);
    struct sf_msg m = { b.data, b.len, "contoso", "t-1", id, 0, seq, SF_MSG_ALERT, nt };
    r->o.type->send(&r->o, &m, 1);
    assert_int_equal(r->f.vid[r->f.nv - 1], seq);
    free(nt);
    sf_buf_free(&b);
    json_object_put(alert);
}

static void service(struct rig *r)
{
    r->o.type->poll(&r->o, 0);
}

static const char engine_yaml[] = "rules:\n  - {min_severity: medium}\n"
                                  "flood: {max: 2, per: 10m}\n";

static void rm_dir(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_policy_memory_and_flood(void **state)
{
    struct rig r = { .dir = "/tmp/sf_notify_XXXXXX" };
    assert_non_null(mkdtemp(r.dir));
    fake_now = (int64_t)time(NULL) * 1000;   /* the store forgets sends older than 200 days */
    rig_start(&r, engine_yaml);

    send_alert(&r, "a1", "medium", 1);
    send_alert(&r, "a1", "medium", 2);          /* sent already at medium: skipped */
    send_alert(&r, "a0", "low", 3);             /* no rule: never handed over */
    assert_int_equal(r.f.alerts, 1);
    assert_int_equal(r.f.nv, 2);
    send_alert(&r, "a1", "high", 4);            /* severity rose: sent again */
    assert_int_equal(r.f.alerts, 2);
    assert_string_equal(r.f.sent[1], "a1");
    send_alert(&r, "a2", "high", 5);            /* third in the window: held */
    r.f.next = SF_V_RETRY;
    send_alert(&r, "a3", "high", 6);            /* held: no transport call, no failure */
    r.f.next = SF_V_DELIVERED;
    assert_int_equal(r.f.alerts, 2);
    for (int i = 0; i < r.f.nv; i++)
        assert_int_equal(r.f.vv[i], SF_V_DELIVERED);
    service(&r);                                /* the window has not ended */
    assert_int_equal(r.f.digests, 0);
    fake_now += 10 * 60 * 1000;
    r.f.next = SF_V_RETRY;
    service(&r);                                /* digest fails: kept */
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

    /* a new run remembers what was sent, in siemfwd.db, now through the
     * pipeline's state store (one connection with the cursors) */
    char errbuf[256];
    struct sf_cursor cur;
    assert_int_equal(sf_state_open(r.dir, 1, &r.shared, errbuf, sizeof(errbuf)), SF_OK);
    assert_int_equal(sf_state_start(r.shared, "contoso", "oncall", 1234), SF_OK);
    memset(&r.f, 0, sizeof(r.f));
    rig_start(&r, engine_yaml);
    send_alert(&r, "a2", "high", 11);
    send_alert(&r, "a4", "high", 12);
    send_alert(&r, "a7", "high", 13);
    assert_int_equal(r.f.alerts, 1);
    rig_stop(&r);
    assert_int_equal(r.f.digests, 0);
    assert_int_equal(sf_state_cursor(r.shared, "contoso", "oncall", &cur), SF_OK);
    assert_int_equal(cur.watermark_ms, 1234);
    sf_state_close(r.shared);
    char path[128];
    snprintf(path, sizeof(path), "%s/siemfwd.db", r.dir);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof(path), "%s/notify.db", r.dir);
    assert_int_not_equal(access(path, F_OK), 0);   /* no second store */
    rm_dir(r.dir);
}

static void test_policy_restart_keeps_held(void **state)
{
    struct rig r = { .dir = "/tmp/sf_notify_XXXXXX" };
    assert_non_null(mkdtemp(r.dir));
    fake_now = (int64_t)time(NULL) * 1000;
    rig_start(&r, engine_yaml);
    for (int i = 0; i < 5; i++) {
        char id[8];
        snprintf(id, sizeof(id), "c%d", i);
        send_alert(&r, id, "medium", (uint64_t)i + 1);
    }
    assert_int_equal(r.f.alerts, 2);
    r.f.next = SF_V_RETRY;                      /* the shutdown digest cannot go out */
    rig_stop(&r);
    assert_int_equal(r.f.digests, 0);

    memset(&r.f, 0, sizeof(r.f));
    fake_now += 60 * 1000;
    rig_start(&r, engine_yaml);
    send_alert(&r, "c9", "medium", 20);         /* the restored window is still full */
    assert_int_equal(r.f.alerts, 0);
    fake_now += 9 * 60 * 1000;                  /* the window of c0 ends */
    service(&r);
    assert_int_equal(r.f.digests, 1);
    assert_int_equal(r.f.digest_n[0], 4);
    assert_string_equal(r.f.digest_ids[0], "c2 c3 c4 c9 ");
    rig_stop(&r);
    assert_int_equal(r.f.digests, 1);
    rm_dir(r.dir);
}

/* state_dir/notify.db of an older siemfwd: held alerts and the sent-once
 * memory come over into siemfwd.db once. */
static void test_policy_imports_notify_db(void **state)
{
    struct rig r = { .dir = "/tmp/sf_notify_XXXXXX" };
    char path[128], *msg = NULL;
    sqlite3 *db;

    assert_non_null(mkdtemp(r.dir));
    fake_now = (int64_t)time(NULL) * 1000;
    snprintf(path, sizeof(path), "%s/notify.db", r.dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "CREATE TABLE sent (output TEXT NOT NULL, rule TEXT NOT NULL, alert_id TEXT NOT "
             "NULL, severity INTEGER NOT NULL, sent_ms INTEGER NOT NULL, PRIMARY KEY (output, "
             "rule, alert_id)) WITHOUT ROWID;"
             "CREATE TABLE held (seq INTEGER PRIMARY KEY AUTOINCREMENT, output TEXT NOT NULL, "
             "rule TEXT NOT NULL, window_ms INTEGER NOT NULL, tenant TEXT NOT NULL, tenant_id "
             "TEXT, alert_id TEXT NOT NULL, severity TEXT, title TEXT, link TEXT, held_ms "
             "INTEGER NOT NULL);"
             "INSERT INTO sent VALUES('oncall', 'min_severity=medium', 'old1', 4, %lld);"
             "INSERT INTO held(output, rule, window_ms, tenant, tenant_id, alert_id, severity,"
             " title, link, held_ms) VALUES('oncall', 'min_severity=medium', %lld, 'contoso',"
             " 't-1', 'old2', 'high', 'Old two', NULL, %lld);",
             (long long)fake_now, (long long)fake_now, (long long)fake_now);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, &msg), SQLITE_OK);
    sqlite3_close(db);

    rig_start(&r, engine_yaml);
    send_alert(&r, "old1", "high", 1);          /* sent by the older run */
    assert_int_equal(r.f.alerts, 0);
    rig_stop(&r);                               /* its held alert goes out at shutdown */
    assert_int_equal(r.f.digests, 1);
    assert_string_equal(r.f.digest_ids[0], "old2 ");
    assert_int_not_equal(access(path, F_OK), 0);
    snprintf(path, sizeof(path), "%s/notify.db.imported", r.dir);
    assert_int_equal(access(path, F_OK), 0);

    memset(&r.f, 0, sizeof(r.f));               /* imported once: nothing held again */
    rig_start(&r, engine_yaml);
    rig_stop(&r);
    assert_int_equal(r.f.digests, 0);
    rm_dir(r.dir);
}

/* Operational events: rendered by the policy, past the flood limit dropped
 * and counted in the next one. */
static void test_policy_events(void **state)
{
    struct rig r = { .dir = "/tmp/sf_notify_XXXXXX" };
    assert_non_null(mkdtemp(r.dir));
    fake_now = (int64_t)time(NULL) * 1000;
    rig_start(&r, "flood: {max: 1, per: 10m}\n");
    const char *ev = "{\"siemfwd_event\":\"output_down\",\"id\":\"e1\",\"title\":\"Down\","
                     "\"severity\":\"high\",\"description\":\"d\",\"tenant\":{\"name\":"
                     "\"contoso\",\"id\":\"0d1f6a2e-1111-4c3b-9c64-6f3e2a9b1c01\"}}";
    struct sf_msg m = { ev, strlen(ev), "contoso", NULL, "event", 0, 1, SF_MSG_EVENT, NULL };
    r.o.type->send(&r.o, &m, 1);
    m.id = 2;
    r.o.type->send(&r.o, &m, 1);                /* over the limit: dropped, counted */
    assert_int_equal(r.f.events, 1);
    /* an event is no Defender alert: no portal link made from its id */
    assert_string_equal(r.f.event_link, "");
    assert_int_equal(r.f.vv[1], SF_V_DELIVERED);
    fake_now += 10 * 60 * 1000;
    m.id = 3;
    r.o.type->send(&r.o, &m, 1);
    assert_int_equal(r.f.events, 2);
    assert_string_equal(r.f.event_text, "d");   /* the record as made; the count is in the view */
    struct sf_msg bad = { "x", 1, "contoso", NULL, "z", 0, 4, SF_MSG_ALERT, NULL };
    r.o.type->send(&r.o, &bad, 1);              /* an alert without a notice */
    assert_int_equal(r.f.vv[3], SF_V_REJECTED);
    rig_stop(&r);
    rm_dir(r.dir);
}

static void test_policy_config_errors(void **state)
{
    struct sf_doc *doc;
    char errbuf[256];
    struct sf_buf errs;
    struct fake f = { 0 };
    struct sf_output o = { &fake_type, "oncall", NULL, 0, NULL, NULL, NULL };
    const char *yaml = "name: oncall\nformat: arcsight-cef\ntemplate: '{\"a\": ${alert.x}}'\n"
                       "flood: {max: 0}\n";

    the_fake = &f;
    assert_int_equal(sf_yaml_load_string("n.yaml", yaml, strlen(yaml), &doc, errbuf,
                                         sizeof(errbuf)), SF_OK);
    sf_buf_init(&errs, 0);
    assert_int_equal(sf_notify_output_init(&o, doc->root, "outputs[4]", NULL, NULL, &errs),
                     SF_ERR_CONFIG);
    assert_null(sf_notify_policy_of(&o));
    assert_non_null(strstr(errs.data, "n.yaml:2: outputs[4].format: webhook outputs read the "
                           "alert from JSON records: use format: json (or leave it out)\n"));
    assert_non_null(strstr(errs.data, "n.yaml:3: outputs[4].template: "));
    assert_non_null(strstr(errs.data, "n.yaml:4: outputs[4].flood.max: "));
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
                cmocka_unit_test(test_alert_email),
        cmocka_unit_test(test_hostile_title_email),
        cmocka_unit_test(test_digest_email),
        cmocka_unit_test(test_template),
        cmocka_unit_test(test_webhook_document),
        cmocka_unit_test(test_policy_memory_and_flood),
        cmocka_unit_test(test_policy_restart_keeps_held),
        cmocka_unit_test(test_policy_imports_notify_db),
        cmocka_unit_test(test_policy_events),
        cmocka_unit_test(test_policy_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
