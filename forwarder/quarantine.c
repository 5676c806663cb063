/* quarantine.c - append rejected records to state_dir/quarantine/<output>.jsonl
 * as one JSON object per line: time, tenant, output, alert_id, reason, record.
 * Known secrets are redacted from reason; symlinks are never followed. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "sf_quarantine.h"
#include "sf_redact.h"

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;

sf_err sf_quarantine_write(const char *state_dir, const char *output, const char *tenant,
                           const char *alert_id, const char *reason,
                           const char *record, size_t len)
{
    char path[4096];
    sf_err err = SF_OK;
    int dfd = -1, fd = -1;
    json_object *o = json_object_new_object();

    if (!o)
        return SF_ERR_NOMEM;
    json_object_object_add(o, "time", json_object_new_int64((int64_t)time(NULL)));
    json_object_object_add(o, "tenant", json_object_new_string(tenant ? tenant : ""));
    json_object_object_add(o, "output", json_object_new_string(output));
    json_object_object_add(o, "alert_id", json_object_new_string(alert_id ? alert_id : ""));
    /* reasons quote servers (HEC's refusal text): no known secret is kept */
    char *red = strdup(reason ? reason : "");
    if (!red) {
        json_object_put(o);
        return SF_ERR_NOMEM;
    }
    sf_redact(red, strlen(red) + 1);
    json_object_object_add(o, "reason", json_object_new_string(red));
    free(red);
    json_object_object_add(o, "record", json_object_new_string_len(record ? record : "",
                                                                   (int)len));
    const char *line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

    pthread_mutex_lock(&qlock);
    snprintf(path, sizeof(path), "%s/quarantine", state_dir);
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        err = SF_ERR_IO;
        goto out;
    }
    /* Neither the directory nor the file may be a symlink: whoever planted
     * one would have us append to a file of their choosing. */
    dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        err = SF_ERR_IO;
        goto out;
    }
    snprintf(path, sizeof(path), "%s.jsonl", output);
    fd = openat(dfd, path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        err = SF_ERR_IO;
        goto out;
    }
    FILE *fp = fdopen(fd, "a");
    if (!fp) {
        err = SF_ERR_IO;
        goto out;
    }
    fd = -1;   /* fp owns it */
    if (fprintf(fp, "%s\n", line) < 0)
        err = SF_ERR_IO;
    if (fclose(fp) != 0)
        err = SF_ERR_IO;
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    pthread_mutex_unlock(&qlock);
    json_object_put(o);
    return err;
}
