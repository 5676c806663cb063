/* test_state_hardening.c - regressions from issue 10 B8: a state_dir others
 * can write to was used as is; quarantine appends followed a planted
 * symlink; `siemfwd state` (read-only by intent) created a missing
 * state_dir and database. */
#include <errno.h>
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

#include "sf_quarantine.h"
#include "sf_state.h"

static char *tmpdir(void)
{
    char *d = strdup("/tmp/test_state_hard.XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void rm_rf(char *d)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
    free(d);
}

static void test_group_or_world_writable_state_dir_refused(void **state)
{
    char *dir = tmpdir(), err[512];
    struct sf_state *st = NULL;
    (void)state;

    chmod(dir, 0777);
    assert_int_equal(sf_state_open(dir, 0, &st, err, sizeof(err)), SF_ERR_CONFIG);
    assert_null(st);
    assert_non_null(strstr(err, "writable by every user"));
    chmod(dir, 0770);
    assert_int_equal(sf_state_open(dir, 0, &st, err, sizeof(err)), SF_ERR_CONFIG);
    assert_non_null(strstr(err, "writable by its group"));
    chmod(dir, 0755);
    assert_int_equal(sf_state_open(dir, 0, &st, err, sizeof(err)), SF_OK);
    sf_state_close(st);
    rm_rf(dir);
}

static void test_foreign_owned_state_dir_refused(void **state)
{
    char *dir = tmpdir(), err[512];
    struct sf_state *st = NULL;
    (void)state;

    if (geteuid() != 0) {
        rm_rf(dir);
        skip();   /* only root can give a directory away */
    }
    assert_int_equal(chown(dir, 12345, 12345), 0);
    /* root's own process still refuses a directory user 12345 controls */
    assert_int_equal(sf_state_open(dir, 0, &st, err, sizeof(err)), SF_ERR_CONFIG);
    assert_non_null(strstr(err, "owned by uid 12345"));
    rm_rf(dir);
}

static void test_quarantine_does_not_follow_symlinks(void **state)
{
    char *dir = tmpdir(), path[512], target[512];
    struct stat sb;
    (void)state;

    snprintf(target, sizeof(target), "%s/victim", dir);
    int fd = open(target, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    close(fd);
    snprintf(path, sizeof(path), "%s/quarantine", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/quarantine/out.jsonl", dir);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(sf_quarantine_write(dir, "out", "t", "id", "why", "{}", 2), SF_ERR_IO);
    assert_int_equal(stat(target, &sb), 0);
    assert_int_equal(sb.st_size, 0);

    /* the quarantine directory itself a symlink */
    rm_rf(dir);
    dir = tmpdir();
    snprintf(target, sizeof(target), "%s/elsewhere", dir);
    assert_int_equal(mkdir(target, 0700), 0);
    snprintf(path, sizeof(path), "%s/quarantine", dir);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(sf_quarantine_write(dir, "out", "t", "id", "why", "{}", 2), SF_ERR_IO);
    snprintf(path, sizeof(path), "%s/out.jsonl", target);
    assert_int_equal(stat(path, &sb), -1);

    /* an ordinary file is appended to, mode 0600 */
    rm_rf(dir);
    dir = tmpdir();
    assert_int_equal(sf_quarantine_write(dir, "out", "t", "id", "why", "{}", 2), SF_OK);
    assert_int_equal(sf_quarantine_write(dir, "out", "t", "id2", "why", "{}", 2), SF_OK);
    snprintf(path, sizeof(path), "%s/quarantine/out.jsonl", dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    FILE *fp = fopen(path, "r");
    char line[1024];
    int lines = 0;
    while (fgets(line, sizeof(line), fp))
        lines++;
    fclose(fp);
    assert_int_equal(lines, 2);
    rm_rf(dir);
}

static void test_readonly_open_creates_nothing(void **state)
{
    char *dir = tmpdir(), missing[512], err[512];
    struct sf_state *st = NULL;
    struct stat sb;
    (void)state;

    snprintf(missing, sizeof(missing), "%s/state", dir);
    assert_int_equal(sf_state_open_readonly(missing, &st, err, sizeof(err)), SF_ERR_NOTFOUND);
    assert_null(st);
    assert_non_null(strstr(err, "siemfwd.db"));
    assert_int_equal(stat(missing, &sb), -1);
    assert_int_equal(errno, ENOENT);

    /* an existing database is read, and stays as it was */
    assert_int_equal(sf_state_open(missing, 0, &st, err, sizeof(err)), SF_OK);
    assert_int_equal(sf_state_note(st, "t", "o", "boom", 5), SF_OK);
    sf_state_close(st);
    st = NULL;
    assert_int_equal(sf_state_open_readonly(missing, &st, err, sizeof(err)), SF_OK);
    struct sf_cursor c;
    assert_int_equal(sf_state_cursor(st, "t", "o", &c), SF_OK);
    assert_string_equal(c.last_error, "boom");
    assert_int_not_equal(sf_state_note(st, "t", "o", "write", 6), SF_OK);
    sf_state_close(st);
    rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_or_world_writable_state_dir_refused),
        cmocka_unit_test(test_foreign_owned_state_dir_refused),
        cmocka_unit_test(test_quarantine_does_not_follow_symlinks),
        cmocka_unit_test(test_readonly_open_creates_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
