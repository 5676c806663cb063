/* test_syslog_format.c - exact bytes of syslog headers (RFC 5424, RFC 3164,
 * none) and framing (octet counting, LF), size and LF rejection, address
 * and fingerprint parsing, the output registry. The output's config and
 * socket behaviour are in test_syslog_output.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sf_netconn.h"
#include "sf_output.h"
#include "sf_syslog.h"

#define T0 1714644672345LL   /* 2024-05-02T10:11:12.345Z */
#define REC "CEF:0|Acme|Hub|1.0|42|Malware|8|src=10.1.2.3"
#define H5424 "<164>1 2024-05-02T10:11:12.345Z fwd01.example.net siemfwd 4242 alert - "
#define H3164 "<164>May  2 10:11:12 fwd01.example.net siemfwd[4242]: "

static struct sf_syslog_fmt fmt(enum sf_syslog_header h, enum sf_syslog_framing fr)
{
    struct sf_syslog_fmt f = {
        .header = h, .framing = fr, .facility = 20, .severity = 4,
        .hostname = "fwd01.example.net", .app_name = "siemfwd", .msgid = "alert",
        .pid = 4242,
    };
    return f;
}

/* Frame REC with f at T0 and compare with want (exact bytes). */
static void expect_frame(struct sf_syslog_fmt f, const char *want)
{
    struct sf_buf out;
    char err[256] = "";

    sf_buf_init(&out, 0);
    assert_int_equal(sf_syslog_frame(&f, T0, REC, strlen(REC), 0, &out, err, sizeof(err)),
                     SF_OK);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    sf_buf_free(&out);
}

static void test_rfc5424_lf(void **state)
{
    (void)state;
    expect_frame(fmt(SF_SYSLOG_RFC5424, SF_SYSLOG_LF), H5424 REC "\n");
}

static void test_rfc5424_octet(void **state)
{
    (void)state;
    expect_frame(fmt(SF_SYSLOG_RFC5424, SF_SYSLOG_OCTET), "115 " H5424 REC);
}

static void test_rfc3164_lf(void **state)
{
    (void)state;
    expect_frame(fmt(SF_SYSLOG_RFC3164, SF_SYSLOG_LF), H3164 REC "\n");
}

static void test_rfc3164_octet(void **state)
{
    (void)state;
    expect_frame(fmt(SF_SYSLOG_RFC3164, SF_SYSLOG_OCTET), "98 " H3164 REC);
}

static void test_none_lf_and_octet(void **state)
{
    (void)state;
    expect_frame(fmt(SF_SYSLOG_NOHEADER, SF_SYSLOG_LF), REC "\n");
    expect_frame(fmt(SF_SYSLOG_NOHEADER, SF_SYSLOG_OCTET), "44 " REC);
}

/* Day of month is space-padded in 3164; milliseconds zero-padded in 5424;
 * no pid leaves PROCID "-" and the TAG without [pid]. */
static void test_padding_and_nil_pid(void **state)
{
    struct sf_syslog_fmt f = fmt(SF_SYSLOG_RFC3164, SF_SYSLOG_LF);
    struct sf_buf out;

    (void)state;
    sf_buf_init(&out, 0);
    f.pid = -1;
    assert_int_equal(sf_syslog_header(&f, 1704672005005LL, &out), SF_OK);
    assert_string_equal(out.data, "<164>Jan  8 00:00:05 fwd01.example.net siemfwd: ");
    sf_buf_reset(&out);
    f.header = SF_SYSLOG_RFC5424;
    f.facility = 0;
    f.severity = 0;
    assert_int_equal(sf_syslog_header(&f, 1704672005005LL, &out), SF_OK);
    assert_string_equal(out.data,
                        "<0>1 2024-01-08T00:00:05.005Z fwd01.example.net siemfwd - alert - ");
    sf_buf_free(&out);
}

/* Octet counting counts bytes, not characters (RFC 6587 §3.4.1). */
static void test_octet_count_is_bytes(void **state)
{
    struct sf_syslog_fmt f = fmt(SF_SYSLOG_NOHEADER, SF_SYSLOG_OCTET);
    const char *rec = "LEEF:2.0|Acme|Hub|1|x|^|usrName=j\xC3\xBCrgen";
    struct sf_buf out;

    (void)state;
    sf_buf_init(&out, 0);
    assert_int_equal(sf_syslog_frame(&f, T0, rec, strlen(rec), 0, &out, NULL, 0), SF_OK);
    assert_string_equal(out.data, "39 LEEF:2.0|Acme|Hub|1|x|^|usrName=j\xC3\xBCrgen");
    sf_buf_free(&out);
}

static void test_lf_in_record(void **state)
{
    struct sf_syslog_fmt f = fmt(SF_SYSLOG_RFC5424, SF_SYSLOG_LF);
    struct sf_buf out;
    char err[256] = "";

    (void)state;
    sf_buf_init(&out, 0);
    assert_int_equal(sf_buf_adds(&out, "kept"), SF_OK);
    assert_int_equal(sf_syslog_frame(&f, T0, "a\nb", 3, 0, &out, err, sizeof(err)),
                     SF_ERR_INVALID);
    assert_non_null(strstr(err, "line feed"));
    assert_string_equal(out.data, "kept");
    /* Octet counting carries any byte. */
    f.framing = SF_SYSLOG_OCTET;
    f.header = SF_SYSLOG_NOHEADER;
    sf_buf_reset(&out);
    assert_int_equal(sf_syslog_frame(&f, T0, "a\nb", 3, 0, &out, err, sizeof(err)), SF_OK);
    assert_memory_equal(out.data, "3 a\nb", 5);
    sf_buf_free(&out);
}

/* max_message bounds header + record exactly. */
static void test_max_message(void **state)
{
    struct sf_syslog_fmt f = fmt(SF_SYSLOG_RFC5424, SF_SYSLOG_OCTET);
    struct sf_buf out;
    char err[256] = "";

    (void)state;
    sf_buf_init(&out, 0);
    assert_int_equal(sf_syslog_frame(&f, T0, REC, strlen(REC), 115, &out, err, sizeof(err)),
                     SF_OK);
    assert_int_equal(out.len, 4 + 115);
    sf_buf_reset(&out);
    assert_int_equal(sf_syslog_frame(&f, T0, REC, strlen(REC), 114, &out, err, sizeof(err)),
                     SF_ERR_LIMIT);
    assert_int_equal(out.len, 0);
    assert_string_equal(err, "message is 115 bytes (header 71 + record 44), "
                        "over max_message 114");
    sf_buf_free(&out);
}

/* header_max bounds every header, whatever the pid. */
static void test_header_max(void **state)
{
    enum sf_syslog_header hs[] = { SF_SYSLOG_RFC5424, SF_SYSLOG_RFC3164 };
    struct sf_buf out;

    (void)state;
    sf_buf_init(&out, 0);
    for (size_t i = 0; i < 2; i++) {
        struct sf_syslog_fmt f = fmt(hs[i], SF_SYSLOG_LF);
        f.facility = 23;
        f.severity = 7;
        f.pid = 2147483647L;
        sf_buf_reset(&out);
        assert_int_equal(sf_syslog_header(&f, 253402300799999LL, &out), SF_OK);
        assert_true(out.len <= sf_syslog_header_max(&f));
        assert_true(out.len + 2 >= sf_syslog_header_max(&f));
    }
    struct sf_syslog_fmt f = fmt(SF_SYSLOG_NOHEADER, SF_SYSLOG_LF);
    assert_int_equal(sf_syslog_header_max(&f), 0);
    sf_buf_free(&out);
}

static void test_names_and_fields(void **state)
{
    (void)state;
    assert_int_equal(sf_syslog_facility("kern"), 0);
    assert_int_equal(sf_syslog_facility("local4"), 20);
    assert_int_equal(sf_syslog_facility("local7"), 23);
    assert_int_equal(sf_syslog_facility("local8"), -1);
    assert_int_equal(sf_syslog_severity("emerg"), 0);
    assert_int_equal(sf_syslog_severity("warning"), 4);
    assert_int_equal(sf_syslog_severity("debug"), 7);
    assert_int_equal(sf_syslog_severity("warn"), -1);
    assert_int_equal(sf_syslog_check_field("fwd01", 255), 0);
    assert_int_equal(sf_syslog_check_field("fwd 01", 255), -1);
    assert_int_equal(sf_syslog_check_field("", 255), -1);
    assert_int_equal(sf_syslog_check_field("abc", 2), -1);
    assert_int_equal(sf_syslog_check_field("h\xC3\xA9", 255), -1);
}

static void test_parse_address(void **state)
{
    char *h = NULL, *p = NULL, err[256];
    struct { const char *in, *host, *port; } ok[] = {
        { "127.0.0.1:514", "127.0.0.1", "514" },
        { "[::1]:6514", "::1", "6514" },
        { "siem.example:65535", "siem.example", "65535" },
    };
    const char *bad[] = { "siem.example", "::1:514", "[::1]514", ":514", "h:0",
                          "h:65536", "h:51x", "", "[::1:514" };

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(sf_netconn_parse_address(ok[i].in, &h, &p, err, sizeof(err)), SF_OK);
        assert_string_equal(h, ok[i].host);
        assert_string_equal(p, ok[i].port);
        free(h);
        free(p);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(sf_netconn_parse_address(bad[i], &h, &p, err, sizeof(err)),
                         SF_ERR_CONFIG);
    assert_int_equal(sf_netconn_parse_address("::1:514", &h, &p, err, sizeof(err)),
                     SF_ERR_CONFIG);
    assert_non_null(strstr(err, "brackets"));
}

static void test_parse_fingerprint(void **state)
{
    unsigned char fp[32];
    const char *hex = "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F";

    (void)state;
    assert_int_equal(sf_netconn_parse_fingerprint(hex, fp), 0);
    for (int i = 0; i < 32; i++)
        assert_int_equal(fp[i], i);
    memset(fp, 0, sizeof(fp));
    assert_int_equal(sf_netconn_parse_fingerprint(
        "SHA256:00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:"
        "18:19:1A:1B:1C:1D:1E:1F", fp), 0);
    assert_int_equal(fp[31], 31);
    assert_int_equal(sf_netconn_parse_fingerprint("00:01", fp), -1);
    assert_int_equal(sf_netconn_parse_fingerprint("zz", fp), -1);
    assert_int_equal(sf_netconn_parse_fingerprint(
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f00", fp), -1);
}

static void test_registry(void **state)
{
    const char *const *names = sf_output_type_names();
    int seen = 0;

    (void)state;
    assert_ptr_equal(sf_output_type_find("syslog"), &sf_output_syslog);
    assert_null(sf_output_type_find("sysl0g"));
    assert_null(sf_output_type_find(NULL));
    for (size_t i = 0; names[i]; i++)
        seen += strcmp(names[i], "syslog") == 0;
    assert_int_equal(seen, 1);
    assert_string_equal(sf_verdict_name(SF_V_DELIVERED), "delivered");
    assert_string_equal(sf_verdict_name(SF_V_RECONNECT), "reconnect");
    assert_string_equal(sf_verdict_name(SF_V_REJECTED), "rejected");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc5424_lf),
        cmocka_unit_test(test_rfc5424_octet),
        cmocka_unit_test(test_rfc3164_lf),
        cmocka_unit_test(test_rfc3164_octet),
        cmocka_unit_test(test_none_lf_and_octet),
        cmocka_unit_test(test_padding_and_nil_pid),
        cmocka_unit_test(test_octet_count_is_bytes),
        cmocka_unit_test(test_lf_in_record),
        cmocka_unit_test(test_max_message),
        cmocka_unit_test(test_header_max),
        cmocka_unit_test(test_names_and_fields),
        cmocka_unit_test(test_parse_address),
        cmocka_unit_test(test_parse_fingerprint),
        cmocka_unit_test(test_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
