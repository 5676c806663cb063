/* registry.c - the table of output types (`type:` value -> sf_output_type)
 * and the names of verdicts. Adding an output: one extern line and one table
 * line below. Type descriptors are static const data owned by their files;
 * the only state is the name list, filled once. */
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "sf_output.h"

/* One line per output type, defined in outputs/<type>.c. */
extern const struct sf_output_type sf_output_syslog;
extern const struct sf_output_type sf_output_kafka;
extern const struct sf_output_type sf_output_file;
extern const struct sf_output_type sf_output_stdout;
extern const struct sf_output_type sf_output_hec;
extern const struct sf_output_type sf_output_email;
extern const struct sf_output_type sf_output_webhook;

static const struct sf_output_type *const types[] = {
    &sf_output_syslog,
    &sf_output_kafka,
    &sf_output_file,
    &sf_output_stdout,
    &sf_output_hec,
    &sf_output_email,
    &sf_output_webhook,
};

#define NTYPES (sizeof(types) / sizeof(types[0]))

const struct sf_output_type *sf_output_type_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < NTYPES; i++)
        if (strcmp(types[i]->name, name) == 0)
            return types[i];
    return NULL;
}

static const char *names[NTYPES + 1];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

/* The names live in each type's descriptor (another translation unit), so
 * the list is filled once at first use rather than at compile time. */
static void fill_names(void)
{
    for (size_t i = 0; i < NTYPES; i++)
        names[i] = types[i]->name;
    names[NTYPES] = NULL;
}

const char *const *sf_output_type_names(void)
{
    pthread_once(&names_once, fill_names);
    return names;
}

const char *sf_verdict_name(enum sf_verdict v)
{
    switch (v) {
    case SF_V_DELIVERED: return "delivered";
    case SF_V_RETRY: return "retry";
    case SF_V_RECONNECT: return "reconnect";
    case SF_V_REJECTED: return "rejected";
    case SF_V_FATAL: return "fatal";
    }
    return "unknown";
}
