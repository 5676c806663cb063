/* test_conf_bind.c - the table-driven binder (config/conf_bind.c and
 * conf_scalar.c): every type, defaults, bounds, enums, suggestions, ${ENV}
 * expansion, file: secrets, collected errors with exact FILE:LINE lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "sf_conf.h"

struct opts {
    char *host;
    char *secret;
    long long port;
    int tls;
    long long timeout_ms;
    long long buffer;
    char *mode;
    struct sf_strlist tags;
    const struct sf_node *extra;
};

#define OFF(f) offsetof(struct opts, f)
static const char *const modes[] = { "fast", "safe", "paranoid", NULL };
static const struct sf_conf_entry table[] = {
    { "host", SF_CT_STRING, NULL, OFF(host), 0, 0, NULL, 1, "peer host" },
    { "secret", SF_CT_SECRET, NULL, OFF(secret), 0, 0, NULL, 0, "password" },
    { "port", SF_CT_INT, "514", OFF(port), 1, 65535, NULL, 0, "peer port" },
    { "tls", SF_CT_BOOL, "false", OFF(tls), 0, 0, NULL, 0, "use TLS" },
    { "timeout", SF_CT_DURATION, "30s", OFF(timeout_ms), 1000, 3600000, NULL, 0, "limit" },
    { "buffer", SF_CT_SIZE, "64KiB", OFF(buffer), 1024, 1LL << 30, NULL, 0, "bytes" },
    { "mode", SF_CT_ENUM, "safe", OFF(mode), 0, 0, modes, 0, "how" },
    { "tags", SF_CT_STRLIST, "a, b", OFF(tags), 0, 0, NULL, 0, "labels" },
    { "extra", SF_CT_NODE, NULL, OFF(extra), 0, 0, NULL, 0, "anything" },
    SF_CONF_END
};

struct fx {
    struct sf_doc *doc;
    struct opts o;
    struct sf_buf errs;
    sf_err err;
};

/* Loads text as "t.yaml" and binds its root under path "out". */
static void bind_text(struct fx *f, const char *text)
{
    char errbuf[256];

    memset(f, 0, sizeof(*f));
    sf_buf_init(&f->errs, 0);
    if (sf_yaml_load_string("t.yaml", text, strlen(text), &f->doc, errbuf,
                            sizeof(errbuf)) != SF_OK)
        fail_msg("YAML: %s", errbuf);
    f->err = sf_conf_bind(f->doc->root, "out", table, NULL, &f->o, &f->errs);
}

static const char *errs(const struct fx *f)
{
    return f->errs.data ? f->errs.data : "";
}

static void fx_free(struct fx *f)
{
    sf_conf_release(table, &f->o);
    assert_null(f->o.host);
    assert_null(f->o.tags.v);
    sf_doc_free(f->doc);
    sf_buf_free(&f->errs);
}

/* Binds text and expects exactly the error lines want. */
static void expect_errors(const char *text, const char *want)
{
    struct fx f;

    bind_text(&f, text);
    assert_string_equal(errs(&f), want);
    assert_int_equal(f.err, SF_ERR_CONFIG);
    fx_free(&f);
}

static void test_defaults(void **state)
{
    struct fx f;
    (void)state;

    bind_text(&f, "host: h\n");
    assert_int_equal(f.err, SF_OK);
    assert_string_equal(errs(&f), "");
    assert_string_equal(f.o.host, "h");
    assert_null(f.o.secret);
    assert_int_equal(f.o.port, 514);
    assert_int_equal(f.o.tls, 0);
    assert_int_equal(f.o.timeout_ms, 30000);
    assert_int_equal(f.o.buffer, 65536);
    assert_string_equal(f.o.mode, "safe");
    assert_int_equal(f.o.tags.n, 2);
    assert_string_equal(f.o.tags.v[0], "a");
    assert_string_equal(f.o.tags.v[1], "b");
    assert_null(f.o.extra);
    fx_free(&f);
}

static void test_every_type(void **state)
{
    struct fx f;
    (void)state;

    bind_text(&f, "host: 'siem.example'\nsecret: hunter2\nport: 6514\ntls: Yes\n"
                  "timeout: 1m30s\nbuffer: 16 MiB\nmode: paranoid\ntags: [x, \"y z\"]\n"
                  "extra: {a: 1}\n");
    assert_int_equal(f.err, SF_OK);
    assert_string_equal(errs(&f), "");
    assert_string_equal(f.o.host, "siem.example");
    assert_string_equal(f.o.secret, "hunter2");
    assert_int_equal(f.o.port, 6514);
    assert_int_equal(f.o.tls, 1);
    assert_int_equal(f.o.timeout_ms, 90000);
    assert_int_equal(f.o.buffer, 16 * 1024 * 1024);
    assert_string_equal(f.o.mode, "paranoid");
    assert_int_equal(f.o.tags.n, 2);
    assert_string_equal(f.o.tags.v[1], "y z");
    assert_non_null(f.o.extra);
    assert_int_equal(f.o.extra->type, SF_NODE_MAP);
    assert_int_equal(f.o.extra->line, 9);
    fx_free(&f);
}

static void test_durations(void **state)
{
    static const struct {
        const char *text;
        long long ms;
    } ok[] = {
        { "250ms", 250 }, { "30s", 30000 }, { "5m", 300000 }, { "1m30s", 90000 },
        { "24h", 86400000 }, { "1d", 86400000 }, { "1d12h", 129600000 }, { "0", 0 },
        { "0s", 0 }, { "1h0m5s", 3605000 }, { "2s500ms", 2500 },
    };
    static const char *const bad[] = {
        "", "30", "1.5h", "30x", "1s1m", "1m1m", "-5s", "5 s", "s", "1S",
        "99999999999999999999d", "9223372036854775807d", "m5",
    };
    (void)state;

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        long long ms = -1;
        if (sf_parse_duration_ms(ok[i].text, &ms) != 0)
            fail_msg("rejected '%s'", ok[i].text);
        assert_int_equal(ms, ok[i].ms);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long long ms = 42;
        if (sf_parse_duration_ms(bad[i], &ms) != -1)
            fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(ms, 42);
    }
}

static void test_sizes(void **state)
{
    static const struct {
        const char *text;
        long long bytes;
    } ok[] = {
        { "512", 512 }, { "512b", 512 }, { "64k", 65536 }, { "64K", 65536 },
        { "64KB", 65536 }, { "64KiB", 65536 }, { "1MB", 1048576 }, { "1m", 1048576 },
        { "1MiB", 1048576 }, { "2g", 2147483648LL }, { "1GiB", 1073741824 },
        { "16 MiB", 16777216 }, { "0", 0 },
    };
    static const char *const bad[] = {
        "", "1.5M", "12q", "k", "-1", "1 ", "1  k", "1TiB", "99999999999999999999",
        "9223372036854775807g",
    };
    (void)state;

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        long long b = -1;
        if (sf_parse_size(ok[i].text, &b) != 0)
            fail_msg("rejected '%s'", ok[i].text);
        assert_int_equal(b, ok[i].bytes);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long long b = 42;
        if (sf_parse_size(bad[i], &b) != -1)
            fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(b, 42);
    }
}

static void test_bools(void **state)
{
    static const char *const yes[] = { "true", "True", "yes", "on", "ON" };
    static const char *const no[] = { "false", "FALSE", "no", "off" };
    int b;
    (void)state;

    for (size_t i = 0; i < 5; i++) {
        b = 0;
        assert_int_equal(sf_parse_bool(yes[i], &b), 0);
        assert_int_equal(b, 1);
    }
    for (size_t i = 0; i < 4; i++) {
        b = 1;
        assert_int_equal(sf_parse_bool(no[i], &b), 0);
        assert_int_equal(b, 0);
    }
    b = 7;
    assert_int_equal(sf_parse_bool("1", &b), -1);
    assert_int_equal(sf_parse_bool("maybe", &b), -1);
    assert_int_equal(sf_parse_bool("", &b), -1);
    assert_int_equal(b, 7);
}

static void test_format_roundtrip(void **state)
{
    static const long long ms[] = { 0, 1, 250, 1000, 90000, 3605000, 86400000, 129600001 };
    static const long long sizes[] = { 0, 1, 1000, 1024, 65536, 1048576, 1073741824, 1536 };
    char buf[32];
    (void)state;

    sf_format_duration(90000, buf, sizeof(buf));
    assert_string_equal(buf, "1m30s");
    sf_format_duration(0, buf, sizeof(buf));
    assert_string_equal(buf, "0s");
    sf_format_duration(250, buf, sizeof(buf));
    assert_string_equal(buf, "250ms");
    sf_format_duration(86400000, buf, sizeof(buf));
    assert_string_equal(buf, "1d");
    sf_format_size(65536, buf, sizeof(buf));
    assert_string_equal(buf, "64KiB");
    sf_format_size(1000, buf, sizeof(buf));
    assert_string_equal(buf, "1000");
    for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
        long long back = -1;
        sf_format_duration(ms[i], buf, sizeof(buf));
        assert_int_equal(sf_parse_duration_ms(buf, &back), 0);
        assert_int_equal(back, ms[i]);
    }
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        long long back = -1;
        sf_format_size(sizes[i], buf, sizeof(buf));
        assert_int_equal(sf_parse_size(buf, &back), 0);
        assert_int_equal(back, sizes[i]);
    }
}

static void test_closest(void **state)
{
    static const char *const keys[] = { "timeout", "max_parallel", "ca_file", "max_response" };
    static const char *const levels[] = { "error", "warn", "info", "debug" };
    static const char *const transports[] = { "tcp", "tls" };
    (void)state;

    assert_string_equal(sf_closest("max_paralel", keys, 4), "max_parallel");
    assert_string_equal(sf_closest("timeuot", keys, 4), "timeout");
    assert_string_equal(sf_closest("CA_FILE", keys, 4), "ca_file");
    assert_string_equal(sf_closest("wran", levels, 4), "warn");
    assert_string_equal(sf_closest("dbug", levels, 4), "debug");
    assert_null(sf_closest("verbose", levels, 4));
    assert_null(sf_closest("udp", transports, 2));
    assert_string_equal(sf_closest("tsl", transports, 2), "tls");
    assert_null(sf_closest("", keys, 4));
    assert_null(sf_closest("x", keys, 4));
}

static void test_out_of_range(void **state)
{
    (void)state;
    expect_errors("host: h\nport: 70000\n",
                  "t.yaml:2: out.port: 70000 is out of range 1..65535\n");
    expect_errors("host: h\nport: 0\n", "t.yaml:2: out.port: 0 is out of range 1..65535\n");
    expect_errors("host: h\ntimeout: 2h\n",
                  "t.yaml:2: out.timeout: 2h is out of range 1s..1h\n");
    expect_errors("host: h\nbuffer: 2g\n",
                  "t.yaml:2: out.buffer: 2g is out of range 1KiB..1GiB\n");
}

static void test_bad_scalars(void **state)
{
    (void)state;
    expect_errors("host: h\ntimeout: 30\n",
                  "t.yaml:2: out.timeout: '30' needs a unit (ms, s, m, h or d)\n");
    expect_errors("host: h\ntimeout: 30sec\n",
                  "t.yaml:2: out.timeout: '30sec' is not a duration "
                  "(use e.g. 250ms, 30s, 5m, 1h30m, 1d)\n");
    expect_errors("host: h\nbuffer: lots\n",
                  "t.yaml:2: out.buffer: 'lots' is not a size "
                  "(use e.g. 4096, 64KiB, 16MiB, 1GiB)\n");
    expect_errors("host: h\nport: 12x\n", "t.yaml:2: out.port: '12x' is not an integer\n");
    expect_errors("host: h\nport: 99999999999999999999\n",
                  "t.yaml:2: out.port: '99999999999999999999' is not an integer\n");
    expect_errors("host: h\ntls: maybe\n",
                  "t.yaml:2: out.tls: 'maybe' is not a boolean (true/false, yes/no, on/off)\n");
    expect_errors("host:\n  a: b\n", "t.yaml:2: out.host: expected a scalar, got a mapping\n");
    expect_errors("host: [a]\n", "t.yaml:1: out.host: expected a scalar, got a list\n");
}

static void test_enum(void **state)
{
    (void)state;
    expect_errors("host: h\nmode: fsat\n",
                  "t.yaml:2: out.mode: 'fsat' is not one of fast, safe, paranoid "
                  "(did you mean 'fast'?)\n");
    expect_errors("host: h\nmode: reckless\n",
                  "t.yaml:2: out.mode: 'reckless' is not one of fast, safe, paranoid\n");
    expect_errors("host: h\nmode: Safe\n",
                  "t.yaml:2: out.mode: 'Safe' is not one of fast, safe, paranoid "
                  "(did you mean 'safe'?)\n");
}

static void test_unknown_and_required(void **state)
{
    (void)state;
    expect_errors("host: h\nprot: 1\n",
                  "t.yaml:2: out.prot: unknown key (did you mean 'port'?)\n");
    expect_errors("host: h\nzzzzzz: 1\n", "t.yaml:2: out.zzzzzz: unknown key\n");
    expect_errors("# comment\n\nport: 5\n",
                  "t.yaml:3: out.host: required key is missing\n");
    expect_errors("host:\nport: 5\n", "t.yaml:1: out.host: needs a value\n");
    expect_errors("- a\n", "t.yaml:1: out: expected a mapping, got a list\n");
}

static void test_ignore_and_null_map(void **state)
{
    static const char *const ignore[] = { "rules", "flood", NULL };
    struct fx f;
    struct opts o;
    struct sf_buf e;
    (void)state;

    bind_text(&f, "host: h\n");
    fx_free(&f);
    memset(&f, 0, sizeof(f));
    sf_buf_init(&f.errs, 0);
    const char *text = "host: h\nrules: [1]\nflod: 2\n";
    assert_int_equal(sf_yaml_load_string("t.yaml", text, strlen(text), &f.doc, NULL, 0),
                     SF_OK);
    f.err = sf_conf_bind(f.doc->root, "outputs[0]", table, ignore, &f.o, &f.errs);
    assert_int_equal(f.err, SF_ERR_CONFIG);
    assert_string_equal(errs(&f),
                        "t.yaml:3: outputs[0].flod: unknown key (did you mean 'flood'?)\n");
    fx_free(&f);

    /* An absent section: defaults apply; a required key is reported
     * without a line, since there is none. Root path "": no "path: ". */
    sf_buf_init(&e, 0);
    assert_int_equal(sf_conf_bind(NULL, "http", table, NULL, &o, &e), SF_ERR_CONFIG);
    assert_string_equal(e.data, "http.host: required key is missing\n");
    assert_int_equal(o.port, 514);
    sf_conf_release(table, &o);
    sf_buf_reset(&e);
    sf_conf_error(&e, NULL, "", "plain %d", 1);
    assert_string_equal(e.data, "plain 1\n");
    sf_buf_free(&e);
}

static void test_env_expansion(void **state)
{
    struct fx f;
    (void)state;

    setenv("SF_T_HOST", "example.org", 1);
    setenv("SF_T_EMPTY", "", 1);
    unsetenv("SF_T_UNSET");
    bind_text(&f, "host: ${SF_T_HOST}:6514/${SF_T_EMPTY}x\ntags: [\"${SF_T_HOST}\", b]\n");
    assert_string_equal(errs(&f), "");
    assert_string_equal(f.o.host, "example.org:6514/x");
    assert_string_equal(f.o.tags.v[0], "example.org");
    fx_free(&f);

    bind_text(&f, "host: 'a$${b}c $5 $x $'\n");
    assert_string_equal(errs(&f), "");
    assert_string_equal(f.o.host, "a${b}c $5 $x $");
    fx_free(&f);

    setenv("SF_T_PORT", "6514", 1);
    bind_text(&f, "host: h\nport: ${SF_T_PORT}\n");
    assert_int_equal(f.o.port, 6514);
    fx_free(&f);

    expect_errors("host: ${SF_T_UNSET}\n",
                  "t.yaml:1: out.host: environment variable SF_T_UNSET is not set\n");
    expect_errors("host: ${SF_T_HOST\n",
                  "t.yaml:1: out.host: unterminated ${ (write $${ for a literal ${)\n");
    expect_errors("host: a${1A}\n",
                  "t.yaml:1: out.host: '${1A}' is not a valid environment variable name\n");
    expect_errors("host: h\ntags: [a, '${SF_T_UNSET}']\n",
                  "t.yaml:2: out.tags[1]: environment variable SF_T_UNSET is not set\n");

    /* An expansion is bounded (1 MiB for values, 64 KiB for secrets). */
    char *big = malloc(600 * 1024 + 1);
    assert_non_null(big);
    memset(big, 'x', 600 * 1024);
    big[600 * 1024] = '\0';
    setenv("SF_T_BIG", big, 1);
    free(big);
    expect_errors("host: ${SF_T_BIG}${SF_T_BIG}\n",
                  "t.yaml:1: out.host: the value is longer than 1048576 bytes\n");
    expect_errors("host: h\nsecret: ${SF_T_BIG}\n",
                  "t.yaml:2: out.secret: the value is longer than 65536 bytes\n");
    unsetenv("SF_T_BIG");
}

static char tmpdir[64];

static void write_file(const char *name, const char *content)
{
    char path[128];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(content, fp);
    fclose(fp);
}

/* Loads tmpdir/c.yaml (written from text) and binds it. */
static void bind_file(struct fx *f, const char *text)
{
    char path[128], errbuf[256];

    memset(f, 0, sizeof(*f));
    sf_buf_init(&f->errs, 0);
    write_file("c.yaml", text);
    snprintf(path, sizeof(path), "%s/c.yaml", tmpdir);
    assert_int_equal(sf_yaml_load_file(path, &f->doc, errbuf, sizeof(errbuf)), SF_OK);
    f->err = sf_conf_bind(f->doc->root, "out", table, NULL, &f->o, &f->errs);
}

static void test_secrets(void **state)
{
    struct fx f;
    char want[512];
    (void)state;

    strcpy(tmpdir, "/tmp/sf_conf_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    write_file("pw.txt", "s3cr3t\n");
    write_file("crlf.txt", "two words\r\n");
    write_file("twolines.txt", "keep\n\n");
    write_file("empty.txt", "\n");
    setenv("SF_T_DIR", tmpdir, 1);
    setenv("SF_T_SECRET", "from-env", 1);

    bind_file(&f, "host: h\nsecret: file:pw.txt\n");      /* relative to c.yaml */
    assert_string_equal(errs(&f), "");
    assert_string_equal(f.o.secret, "s3cr3t");
    fx_free(&f);
    bind_file(&f, "host: h\nsecret: file:${SF_T_DIR}/crlf.txt\n");
    assert_string_equal(f.o.secret, "two words");
    fx_free(&f);
    bind_file(&f, "host: h\nsecret: file:twolines.txt\n"); /* one newline stripped */
    assert_string_equal(f.o.secret, "keep\n");
    fx_free(&f);
    bind_file(&f, "host: h\nsecret: ${SF_T_SECRET}\n");
    assert_string_equal(f.o.secret, "from-env");
    fx_free(&f);
    bind_file(&f, "host: h\nsecret: 'literal ok'\n");
    assert_string_equal(f.o.secret, "literal ok");
    fx_free(&f);

    bind_file(&f, "host: h\nsecret: file:missing.txt\n");
    snprintf(want, sizeof(want),
             "%s/c.yaml:2: out.secret: cannot read secret file %s/missing.txt: "
             "No such file or directory\n", tmpdir, tmpdir);
    assert_string_equal(errs(&f), want);
    assert_null(f.o.secret);
    fx_free(&f);
    bind_file(&f, "host: h\nsecret: file:empty.txt\n");
    snprintf(want, sizeof(want), "%s/c.yaml:2: out.secret: secret file %s/empty.txt is empty\n",
             tmpdir, tmpdir);
    assert_string_equal(errs(&f), want);
    fx_free(&f);

    /* Messages never carry the secret's text. */
    expect_errors("host: h\nsecret: hunter2${oops\n",
                  "t.yaml:2: out.secret: unterminated ${ (write $${ for a literal ${)\n");
    expect_errors("host: h\nsecret: 'a${hunter 2}'\n",
                  "t.yaml:2: out.secret: ${...} holds an invalid environment variable name\n");
    expect_errors("host: h\nsecret: ${SF_T_UNSET}\n",
                  "t.yaml:2: out.secret: environment variable SF_T_UNSET is not set\n");
    setenv("SF_T_EMPTY", "", 1);
    expect_errors("host: h\nsecret: ${SF_T_EMPTY}\n", "t.yaml:2: out.secret: the secret is empty\n");
    expect_errors("host: h\nsecret: 'file:'\n", "t.yaml:2: out.secret: file: needs a path\n");
    expect_errors("host: h\nsecret: {a: hunter2}\n",
                  "t.yaml:2: out.secret: expected a scalar, got a mapping\n");

    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    assert_int_equal(system(cmd), 0);
}

static void test_lists(void **state)
{
    struct fx f;
    (void)state;

    bind_text(&f, "host: h\ntags: ' x, y ,z'\n");
    assert_int_equal(f.o.tags.n, 3);
    assert_string_equal(f.o.tags.v[0], "x");
    assert_string_equal(f.o.tags.v[1], "y");
    assert_string_equal(f.o.tags.v[2], "z");
    fx_free(&f);
    bind_text(&f, "host: h\ntags: []\n");
    assert_int_equal(f.err, SF_OK);
    assert_int_equal(f.o.tags.n, 0);
    fx_free(&f);
    bind_text(&f, "host: h\ntags:\n  - one\n  - 'a, b'\n");
    assert_int_equal(f.o.tags.n, 2);
    assert_string_equal(f.o.tags.v[1], "a, b");
    fx_free(&f);
    expect_errors("host: h\ntags: x,,y\n", "t.yaml:2: out.tags: empty item in list 'x,,y'\n");
    expect_errors("host: h\ntags:\n  - a\n  - {b: 1}\n  - [c]\n",
                  "t.yaml:4: out.tags[1]: expected a scalar, got a mapping\n"
                  "t.yaml:5: out.tags[2]: expected a scalar, got a list\n");
}

static void test_all_errors_collected(void **state)
{
    (void)state;
    expect_errors("prot: 1\nport: 70000\ntls: maybe\ntimeout: 5\nmode: fsat\n"
                  "buffer: 1\n",
                  "t.yaml:1: out.prot: unknown key (did you mean 'port'?)\n"
                  "t.yaml:1: out.host: required key is missing\n"
                  "t.yaml:2: out.port: 70000 is out of range 1..65535\n"
                  "t.yaml:3: out.tls: 'maybe' is not a boolean (true/false, yes/no, on/off)\n"
                  "t.yaml:4: out.timeout: '5' needs a unit (ms, s, m, h or d)\n"
                  "t.yaml:6: out.buffer: 1 is out of range 1KiB..1GiB\n"
                  "t.yaml:5: out.mode: 'fsat' is not one of fast, safe, paranoid "
                  "(did you mean 'fast'?)\n");
}

static void test_doc(void **state)
{
    static const char *const colors[] = { "red", "blue", NULL };
    static const struct sf_conf_entry small[] = {
        { "name", SF_CT_STRING, NULL, 0, 0, 0, NULL, 1, "who" },
        { "port", SF_CT_INT, "514", 0, 1, 65535, NULL, 0, "where" },
        { "wait", SF_CT_DURATION, "30s", 0, 1000, 3600000, NULL, 0, "how long" },
        { "color", SF_CT_ENUM, "red", 0, 0, 0, colors, 0, "what" },
        { "token", SF_CT_SECRET, NULL, 0, 0, 0, NULL, 0, "key" },
        SF_CONF_END
    };
    struct sf_buf out;
    (void)state;

    sf_buf_init(&out, 0);
    sf_conf_doc(small, &out);
    assert_string_equal(out.data,
        "KEY                  TYPE      DEFAULT          DESCRIPTION\n"
        "name                 string    (required)       who\n"
        "port                 integer   514              where (1..65535)\n"
        "wait                 duration  30s              how long (1s..1h)\n"
        "color                enum      red              what (red|blue)\n"
        "token                secret    -                key\n");
    sf_buf_free(&out);
}

static void test_conf_path(void **state)
{
    struct sf_node n;
    char *p;
    (void)state;

    memset(&n, 0, sizeof(n));
    n.file = "/etc/siemfwd/siemfwd.yaml";
    p = sf_conf_path(&n, "maps/cef.yaml");
    assert_string_equal(p, "/etc/siemfwd/maps/cef.yaml");
    free(p);
    p = sf_conf_path(&n, "/abs/x");
    assert_string_equal(p, "/abs/x");
    free(p);
    n.file = "siemfwd.yaml";
    p = sf_conf_path(&n, "x.pem");
    assert_string_equal(p, "x.pem");
    free(p);
    p = sf_conf_path(NULL, "x.pem");
    assert_string_equal(p, "x.pem");
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_type),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_bools),
        cmocka_unit_test(test_format_roundtrip),
        cmocka_unit_test(test_closest),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_bad_scalars),
        cmocka_unit_test(test_enum),
        cmocka_unit_test(test_unknown_and_required),
        cmocka_unit_test(test_ignore_and_null_map),
        cmocka_unit_test(test_env_expansion),
        cmocka_unit_test(test_secrets),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_all_errors_collected),
        cmocka_unit_test(test_doc),
        cmocka_unit_test(test_conf_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
