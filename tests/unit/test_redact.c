/* test_redact.c - the one redactor (sf_redact.h) and the places every
 * server-quoted text passes it (issue 10 B3): a secret echoed raw,
 * URL-encoded (%2B / %2b / + for space), base64 at any alignment (AUTH
 * PLAIN, Basic), across a cut, never reaches a log line, last_error in
 * siemfwd.db, an Entra error sentence or a quarantine reason. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "sf_config.h"
#include "sf_log.h"
#include "sf_quarantine.h"
#include "sf_redact.h"
#include "sf_state.h"
#include "source.h"

#define SECRET "Sup3r+Secret/Value=42 x"

static int reset(void **state)
{
    (void)state;
    sf_redact_reset();
    return 0;
}

static void assert_clean(const char *text, const char *needle)
{
    if (strstr(text, needle))
        fail_msg("'%s' still holds '%s'", text, needle);
}

static char *b64(const unsigned char *s, size_t len)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(4 * (len / 3 + 1) + 1);
    size_t k = 0, i = 0;

    for (; i + 2 < len; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
        out[k++] = abc[v >> 18];
        out[k++] = abc[(v >> 12) & 63];
        out[k++] = abc[(v >> 6) & 63];
        out[k++] = abc[v & 63];
    }
    if (i < len) {
        unsigned v = (unsigned)s[i] << 16 | (i + 1 < len ? (unsigned)s[i + 1] << 8 : 0);
        out[k++] = abc[v >> 18];
        out[k++] = abc[(v >> 12) & 63];
        out[k++] = i + 1 < len ? abc[(v >> 6) & 63] : '=';
        out[k++] = '=';
    }
    out[k] = '\0';
    return out;
}

static void test_raw_and_url_encoded_forms(void **state)
{
    char buf[512];
    (void)state;

    assert_int_equal(sf_redact_add(SECRET), SF_OK);
    snprintf(buf, sizeof(buf), "echo: client_secret=Sup3r%%2BSecret%%2FValue%%3D42%%20x&a=1");
    sf_redact(buf, sizeof(buf));
    assert_string_equal(buf, "echo: client_secret=***&a=1");
    snprintf(buf, sizeof(buf), "lower client_secret=Sup3r%%2bSecret%%2fValue%%3d42%%20x!");
    sf_redact(buf, sizeof(buf));
    assert_string_equal(buf, "lower client_secret=***!");
    snprintf(buf, sizeof(buf), "form client_secret=Sup3r%%2BSecret%%2FValue%%3D42+x;");
    sf_redact(buf, sizeof(buf));
    assert_string_equal(buf, "form client_secret=***;");
    snprintf(buf, sizeof(buf), "raw [" SECRET "] twice " SECRET);
    sf_redact(buf, sizeof(buf));
    assert_string_equal(buf, "raw [***] twice ***");
    /* a server that form-decoded what it got: '+' came back as ' ' */
    snprintf(buf, sizeof(buf), "decoded Sup3r Secret/Value=42 x.");
    sf_redact(buf, sizeof(buf));
    assert_string_equal(buf, "decoded ***.");
    snprintf(buf, sizeof(buf), "nothing to see here");
    assert_int_equal(sf_redact(buf, sizeof(buf)), strlen("nothing to see here"));
    assert_string_equal(buf, "nothing to see here");
}

/* A server quoting the secret inside a JSON error escapes it: the JSON
 * forms are registered too. SECRET has a '/', which json-c writes as "\/". */
static void test_json_escaped_forms(void **state)
{
    char buf[512];
    (void)state;

    assert_int_equal(sf_redact_add(SECRET), SF_OK);
    assert_int_equal(sf_redact_add("pa\"ss\\wo\trd"), SF_OK);
    snprintf(buf, sizeof(buf), "{\"error\":\"bad secret Sup3r+Secret\\/Value=42 x\"}");
    sf_redact(buf, sizeof(buf));
    assert_string_equal(buf, "{\"error\":\"bad secret ***\"}");
    snprintf(buf, sizeof(buf), "{\"e\":\"pa\\\"ss\\\\wo\\u0009rd\"} {\"e\":\"pa\\\"ss\\\\wo\\u0009rd\"}");
    sf_redact(buf, sizeof(buf));
    assert_string_equal(buf, "{\"e\":\"***\"} {\"e\":\"***\"}");
}

static void test_base64_any_alignment(void **state)
{
    char line[512];
    (void)state;

    sf_redact_add("hec-token-0123456789");
    /* the secret alone, and inside a Basic credential at each alignment */
    const char *prefixes[] = { "", "u:", "us:", "use:" };
    for (size_t i = 0; i < 4; i++) {
        char plain[128];
        snprintf(plain, sizeof(plain), "%shec-token-0123456789", prefixes[i]);
        char *enc = b64((const unsigned char *)plain, strlen(plain));
        snprintf(line, sizeof(line), "Authorization: Basic %s end", enc);
        sf_redact(line, sizeof(line));
        /* nothing but a few characters of the prefix and the last one or two
         * characters (mixed with padding) may stay */
        assert_true(strlen(line) < strlen("Authorization: Basic ") + 3 + 8 + 4);
        assert_non_null(strstr(line, "***"));
        char *mid = strndup(enc + 4, 12);
        assert_clean(line, mid);
        free(mid);
        free(enc);
    }
}

static void test_smtp_auth_plain(void **state)
{
    unsigned char msg[64];
    char line[256];
    (void)state;

    assert_int_equal(sf_redact_add_plain("siemfwd", "smtp-Pa55word"), SF_OK);
    msg[0] = '\0';
    memcpy(msg + 1, "siemfwd", 7);
    msg[8] = '\0';
    memcpy(msg + 9, "smtp-Pa55word", 13);
    char *enc = b64(msg, 22);
    snprintf(line, sizeof(line), "535 5.7.8 Authentication failed: AUTH PLAIN %s", enc);
    sf_redact(line, sizeof(line));
    assert_clean(line, enc);
    free(enc);
    assert_string_equal(line, "535 5.7.8 Authentication failed: AUTH PLAIN ***");
    /* AUTH LOGIN sends the password on its own */
    enc = b64((const unsigned char *)"smtp-Pa55word", 13);
    snprintf(line, sizeof(line), "535 %s", enc);
    sf_redact(line, sizeof(line));
    free(enc);
    assert_string_equal(line, "535 ***");
}

static void test_secret_across_a_cut(void **state)
{
    char big[600], out[256];
    (void)state;

    sf_redact_add(SECRET);
    /* the secret straddles byte 255: neither half may stay */
    memset(big, 'a', 250);
    snprintf(big + 250, sizeof(big) - 250, " client_secret=Sup3r%%2BSecret%%2FValue%%3D42%%20x");
    sf_redact_copy(out, sizeof(out), big);
    assert_clean(out, "Sup3r");
    /* a buffer already cut before it reached the redactor: its tail, the
     * start of a secret, goes too */
    snprintf(out, sizeof(out), "%.*s %.10s", 240, big, SECRET);
    sf_redact(out, sizeof(out));
    assert_clean(out, "Sup3r");
    assert_non_null(strstr(out, "***"));
    /* but a short ordinary tail stays */
    snprintf(out, sizeof(out), "ends with Sup");
    sf_redact(out, sizeof(out));
    assert_string_equal(out, "ends with Sup");
}

static void test_short_and_limits(void **state)
{
    char buf[64] = "abc is abc";
    (void)state;

    assert_int_equal(sf_redact_add("abc"), SF_OK);
    assert_int_equal(sf_redact_count(), 0);
    sf_redact(buf, sizeof(buf));
    assert_string_equal(buf, "abc is abc");
    assert_int_equal(sf_redact_add(NULL), SF_OK);
    assert_int_equal(sf_redact(NULL, 0), 0);
    /* the same secret twice is stored once */
    sf_redact_add("0123456789");
    size_t n = sf_redact_count();
    sf_redact_add("0123456789");
    assert_int_equal(sf_redact_count(), n);
    /* an unterminated buffer is terminated within cap */
    char raw[8];
    memcpy(raw, "xxxxxxxx", 8);
    assert_int_equal(sf_redact(raw, sizeof(raw)), 7);
    assert_int_equal(raw[7], '\0');
}

/* Entra's error_description echoing the URL-encoded body, with the secret
 * beyond the 256-byte cut of the sentence. */
static void test_entra_sentence(void **state)
{
    char desc[1024], out[256];
    (void)state;

    sf_redact_add(SECRET);
    memset(desc, 'x', 230);
    snprintf(desc + 230, sizeof(desc) - 230,
             " grant_type=client_credentials&client_secret=Sup3r%%2BSecret%%2FValue%%3D42%%20x.");
    sf_auth_error_sentence(desc, SECRET, out, sizeof(out));
    assert_clean(out, "Sup3r");
    snprintf(desc, sizeof(desc), "AADSTS7000215: Invalid client secret "
             "client_secret=Sup3r%%2BSecret%%2FValue%%3D42%%20x provided.");
    sf_auth_error_sentence(desc, SECRET, out, sizeof(out));
    assert_string_equal(out, "AADSTS7000215: Invalid client secret client_secret=*** provided.");
}

static char *tmpdir(void)
{
    char *d = strdup("/tmp/test_redact.XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void test_state_last_error(void **state)
{
    char *dir = tmpdir(), err[128];
    struct sf_state *st = NULL;
    struct sf_cursor c;
    (void)state;

    sf_redact_add("hec-token-0123456789");
    assert_int_equal(sf_state_open(dir, 0, &st, err, sizeof(err)), SF_OK);
    assert_int_equal(sf_state_note(st, "t1", "splunk",
                                   "HEC 403: invalid token hec-token-0123456789", 1), SF_OK);
    assert_int_equal(sf_state_cursor(st, "t1", "splunk", &c), SF_OK);
    assert_string_equal(c.last_error, "HEC 403: invalid token ***");
    sf_state_close(st);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

static void test_quarantine_reason(void **state)
{
    char *dir = tmpdir(), path[512], line[4096];
    (void)state;

    sf_redact_add("hec-token-0123456789");
    assert_int_equal(sf_quarantine_write(dir, "splunk", "t1", "id1",
                                         "refused: token hec-token-0123456789 disabled",
                                         "{}", 2), SF_OK);
    snprintf(path, sizeof(path), "%s/quarantine/splunk.jsonl", dir);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(line, sizeof(line), fp));
    fclose(fp);
    assert_clean(line, "hec-token");
    assert_non_null(strstr(line, "\"reason\":\"refused: token *** disabled\""));
    snprintf(line, sizeof(line), "rm -rf %s", dir);
    assert_int_equal(system(line), 0);
    free(dir);
}

/* sf_log writes to stderr: catch it in a pipe-backed temporary file. */
static void test_log_line(void **state)
{
    char path[] = "/tmp/test_redact_log.XXXXXX", out[8192];
    int fd = mkstemp(path), saved = dup(STDERR_FILENO);
    char big[3000];
    (void)state;

    assert_true(fd >= 0);
    sf_redact_add(SECRET);
    sf_log_setup(SF_LOG_INFO, 0);
    dup2(fd, STDERR_FILENO);
    sf_info("t1", NULL, "server said: client_secret=Sup3r%%2BSecret%%2FValue%%3D42%%20x");
    /* past the 2 KiB message cut */
    memset(big, 'y', 2040);
    big[2040] = '\0';
    sf_info("t1", NULL, "%s %s", big, SECRET);
    dup2(saved, STDERR_FILENO);
    close(saved);
    ssize_t n = pread(fd, out, sizeof(out) - 1, 0);
    assert_true(n > 0);
    out[n] = '\0';
    close(fd);
    unlink(path);
    assert_clean(out, "Sup3r");
    assert_non_null(strstr(out, "client_secret=***"));
}

/* Every SF_CT_SECRET the config binds is known to the redactor, and the
 * log warns about a secret file every user can read. */
static void test_config_registers_secrets(void **state)
{
    char dir[] = "/tmp/test_redact_cfg.XXXXXX", path[256], yaml[2048];
    struct sf_config *cfg = NULL;
    struct sf_buf errs;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/secret", dir);
    FILE *fp = fopen(path, "w");
    fputs("file-Secret-999\n", fp);
    fclose(fp);
    chmod(path, 0644);
    snprintf(yaml, sizeof(yaml),
             "state_dir: %s/state\n"
             "tenants:\n"
             "  - name: a\n    tenant_id: 00000000-0000-0000-0000-000000000001\n"
             "    client_id: c\n    client_secret: inline-Secret-123\n"
             "  - name: b\n    tenant_id: 00000000-0000-0000-0000-000000000002\n"
             "    client_id: c\n    client_secret: file:%s\n"
             "outputs:\n  - name: o\n    type: file\n    format: json\n    path: %s/out\n",
             dir, path, dir);
    sf_buf_init(&errs, 0);
    char logpath[] = "/tmp/test_redact_log.XXXXXX", out[4096];
    int fd = mkstemp(logpath), saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    sf_err err = sf_config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &errs);
    dup2(saved, STDERR_FILENO);
    close(saved);
    if (err)
        fail_msg("config: %s", errs.data ? errs.data : "?");
    ssize_t n = pread(fd, out, sizeof(out) - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(logpath);
    assert_non_null(strstr(out, "readable by every user"));
    assert_clean(out, "file-Secret-999");

    char buf[256] = "a inline-Secret-123 b file-Secret-999 c";
    sf_redact(buf, sizeof(buf));
    assert_string_equal(buf, "a *** b *** c");
    sf_config_free(cfg);
    sf_buf_free(&errs);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_raw_and_url_encoded_forms, reset),
        cmocka_unit_test_setup(test_json_escaped_forms, reset),
        cmocka_unit_test_setup(test_base64_any_alignment, reset),
        cmocka_unit_test_setup(test_smtp_auth_plain, reset),
        cmocka_unit_test_setup(test_secret_across_a_cut, reset),
        cmocka_unit_test_setup(test_short_and_limits, reset),
        cmocka_unit_test_setup(test_entra_sentence, reset),
        cmocka_unit_test_setup(test_state_last_error, reset),
        cmocka_unit_test_setup(test_quarantine_reason, reset),
        cmocka_unit_test_setup(test_log_line, reset),
        cmocka_unit_test_setup(test_config_registers_secrets, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
