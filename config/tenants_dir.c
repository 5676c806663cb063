/* tenants_dir.c - where tenants come from: the main file's `tenants:` list
 * and every *.yaml file of `tenants_dir` (sorted by name; each one tenant
 * mapping or a list of them), handed in that order to cfg_load_tenants.
 * The loaded documents are owned by the sf_config (cfg->tenants_docs). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_priv.h"

/* Bounds on what one directory may hold (an MSSP has hundreds of tenants). */
#define MAX_FILES 100000
#define MAX_TENANTS 1000000

struct refs {
    struct cfg_tenant_ref *v;
    size_t n, cap;
};

/* i < 0: a tenants file holding one mapping, path "tenant". */
static int refs_add(struct cfg_loader *ld, struct refs *r, const struct sf_node *node,
                    long i)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct cfg_tenant_ref *v = cap <= MAX_TENANTS ? realloc(r->v, cap * sizeof(*v)) : NULL;
        if (!v) {
            ld->nomem = 1;
            return -1;
        }
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n].node = node;
    if (i < 0)
        snprintf(r->v[r->n].path, sizeof(r->v[r->n].path), "tenant");
    else
        snprintf(r->v[r->n].path, sizeof(r->v[r->n].path), "tenants[%ld]", i);
    r->n++;
    return 0;
}

/* The `tenants:` list of the main file: required unless tenants_dir is set. */
static void main_tenants(struct cfg_loader *ld, const struct sf_node *root, struct refs *r)
{
    const struct sf_node *seq = sf_node_get(root, "tenants");

    if (sf_node_is_null(seq)) {
        if (!ld->cfg->tenants_dir)
            cfg_error(ld, seq ? seq : root, "tenants",
                      "required key is missing (or set tenants_dir)");
        return;
    }
    if (seq->type != SF_NODE_SEQ) {
        cfg_error(ld, seq, "tenants", "expected a list, got %s", sf_node_type_name(seq));
        return;
    }
    if (seq->n == 0 && !ld->cfg->tenants_dir)
        cfg_error(ld, seq, "tenants", "needs at least one entry");
    for (size_t i = 0; i < seq->n; i++)
        if (refs_add(ld, r, seq->items[i], (long)i) != 0)
            return;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_tenant_file(const char *name)
{
    size_t n = strlen(name);
    /* dot files: editors' and package managers' leftovers, not tenants */
    return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".yaml") == 0;
}

/* The *.yaml names in dir, sorted; NULL with an error reported. */
static char **list_dir(struct cfg_loader *ld, const struct sf_node *at, const char *dir,
                       size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;

    *count = 0;
    if (!d) {
        cfg_error(ld, at, "tenants_dir", "cannot open directory '%s': %s", dir,
                  strerror(errno));
        return NULL;
    }
    while ((errno = 0, de = readdir(d)) != NULL) {
        if (!is_tenant_file(de->d_name))
            continue;
        if (n == cap) {
            char **v = cap < MAX_FILES ? realloc(names, (cap ? cap * 2 : 64) * sizeof(*v))
                                       : NULL;
            if (!v) {
                cfg_error(ld, at, "tenants_dir", "'%s' holds more than %d *.yaml files",
                          dir, MAX_FILES);
                break;
            }
            names = v;
            cap = cap ? cap * 2 : 64;
        }
        if (!(names[n] = strdup(de->d_name))) {
            ld->nomem = 1;
            break;
        }
        n++;
    }
    if (errno && !ld->nomem)
        cfg_error(ld, at, "tenants_dir", "cannot read directory '%s': %s", dir,
                  strerror(errno));
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), by_name);
    *count = n;
    return names;
}

static int keep_doc(struct cfg_loader *ld, struct sf_doc *doc)
{
    struct sf_config *cfg = ld->cfg;
    struct sf_doc **v = realloc(cfg->tenants_docs, (cfg->n_tenants_docs + 1) * sizeof(*v));

    if (!v) {
        ld->nomem = 1;
        sf_doc_free(doc);
        return -1;
    }
    cfg->tenants_docs = v;
    v[cfg->n_tenants_docs++] = doc; /* owned by cfg from here */
    return 0;
}

/* One tenants file: a mapping (one tenant) or a list of tenants. */
static void load_file(struct cfg_loader *ld, const char *path, struct refs *r)
{
    struct sf_doc *doc = NULL;
    const struct sf_node *root;
    char errbuf[1024];
    struct stat sb;
    sf_err err;

    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        const char *why = "not a regular file";
        if (stat(path, &sb) != 0)
            why = strerror(errno);
        ld->bad++;
        if (ld->errs)
            sf_buf_printf(ld->errs, "%s: cannot read tenants file: %s\n", path, why);
        return;
    }
    err = sf_yaml_load_file(path, &doc, errbuf, sizeof(errbuf));
    if (err) {
        if (err == SF_ERR_NOMEM)
            ld->nomem = 1;
        else
            ld->bad++;
        if (ld->errs)
            sf_buf_printf(ld->errs, "%s%s\n", errbuf,
                          err == SF_ERR_PARSE ? " (a tenants file must be YAML)" : "");
        return;
    }
    if (keep_doc(ld, doc) != 0)
        return;
    root = doc->root;
    if (!root) {
        ld->bad++;
        if (ld->errs)
            sf_buf_printf(ld->errs, "%s: empty; expected a tenant (a mapping) or a list of "
                          "tenants\n", path);
    } else if (root->type == SF_NODE_MAP) {
        refs_add(ld, r, root, -1);
    } else if (root->type == SF_NODE_SEQ) {
        for (size_t i = 0; i < root->n; i++)
            if (refs_add(ld, r, root->items[i], (long)i) != 0)
                return;
    } else {
        cfg_error(ld, root, "", "expected a tenant (a mapping) or a list of tenants, got %s",
                  sf_node_type_name(root));
    }
}

static void dir_tenants(struct cfg_loader *ld, const struct sf_node *root, struct refs *r)
{
    const struct sf_node *at = cfg_at(root, "tenants_dir");
    size_t n = 0;
    char **names;

    cfg_resolve(ld, at, &ld->cfg->tenants_dir);
    if (ld->nomem)
        return;
    names = list_dir(ld, at, ld->cfg->tenants_dir, &n);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(ld->cfg->tenants_dir) + strlen(names[i]) + 2;
        char *path = ld->nomem ? NULL : malloc(len);
        if (path) {
            snprintf(path, len, "%s/%s", ld->cfg->tenants_dir, names[i]);
            load_file(ld, path, r);
        } else {
            ld->nomem = 1;
        }
        free(path);
        free(names[i]);
    }
    free(names);
}

void cfg_load_all_tenants(struct cfg_loader *ld, const struct sf_node *root)
{
    struct refs r = { 0 };

    main_tenants(ld, root, &r);
    if (ld->cfg->tenants_dir && !ld->nomem)
        dir_tenants(ld, root, &r);
    if (!ld->nomem)
        cfg_load_tenants(ld, sf_node_get(root, "tenant_defaults"), r.v, r.n);
    free(r.v);
}
