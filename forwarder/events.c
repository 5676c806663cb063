/* events.c - operational events for the MSSP (outputs[].events): a tenant
 * whose consent was revoked or never given, a tenant with no successful
 * cycle for a while, an output failing for a while, records quarantined. A
 * watcher thread looks at the pipeline once a second and, for each email or
 * webhook output that subscribed, raises each condition once when it starts
 * and once when it clears (quarantine: one message per burst, at most one a
 * minute per output). Records are JSON shaped like an alert (id, title,
 * severity, status, category, description, tenant) so the notification
 * outputs render them as they render alerts. Borrows the pipeline; owns the
 * watcher's state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sf_clock.h"
#include "sf_events.h"
#include "sf_log.h"
#include "sf_pipeline.h"
#include "sf_redact.h"
#include "source.h"

#define TICK_MS 1000
#define QUARANTINE_EVERY_MS 60000

struct sub {                     /* one subscribed output */
    size_t oi;
    const struct sf_events_conf *ev;
    int64_t *consent, *stale;    /* per tenant: when it started, 0 = not active */
    int64_t *failing;            /* per output */
    uint64_t *quarantined;       /* per output: count already reported */
    int64_t *quarantine_sent;    /* per output: when the last notice went */
};

struct sf_events {
    struct sf_pipeline *p;
    int64_t *known;              /* per tenant: last success in the state store */
    struct sub *subs;
    size_t nsubs;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, running;
};

static void fmt_duration(int64_t ms, char *buf, size_t n)
{
    int64_t s = ms / 1000;
    if (s >= 86400 && s % 3600 == 0)
        snprintf(buf, n, "%lldh", (long long)s / 3600);
    else if (s >= 3600)
        snprintf(buf, n, "%lldh%02lldm", (long long)s / 3600, (long long)(s % 3600) / 60);
    else if (s >= 60)
        snprintf(buf, n, "%lldm%02llds", (long long)s / 60, (long long)s % 60);
    else
        snprintf(buf, n, "%llds", (long long)s);
}

struct event {
    const char *kind;            /* consent | stale | output_failing | quarantine */
    const char *subject;         /* tenant or output name */
    int cleared;
    int64_t since;
    const char *severity;
    const struct sf_tenant_conf *tenant;  /* NULL: output-wide */
    const char *output;
    char title[300];
    char text[700];
};

/* Conditions raised and not cleared yet, by "output|kind|subject". Kept for
 * the life of the process, so a reload (SIGHUP builds a new pipeline and a
 * new watcher) does not raise again what is still going on. */
struct active {
    char *key;
    struct active *next;
};
static pthread_mutex_t active_mu = PTHREAD_MUTEX_INITIALIZER;
static struct active *active_head;

static void active_key(char *buf, size_t n, const char *out, const char *kind,
                       const char *subject)
{
    snprintf(buf, n, "%s|%s|%s", out, kind, subject);
}

/* The link pointing at key's entry (*result NULL: absent). active_mu held. */
static struct active **active_find(const char *key)
{
    struct active **pp = &active_head;
    while (*pp && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->next;
    return pp;
}

/* Record a start; 1 if it was active already (raised before a reload). */
static int active_raise(const char *key)
{
    pthread_mutex_lock(&active_mu);
    int was = *active_find(key) != NULL;
    struct active *a = was ? NULL : calloc(1, sizeof(*a));
    if (a && (a->key = strdup(key))) {
        a->next = active_head;
        active_head = a;
    } else {
        free(a);
    }
    pthread_mutex_unlock(&active_mu);
    return was;
}

static int active_has(const char *out, const char *kind, const char *subject)
{
    char key[300];
    active_key(key, sizeof(key), out, kind, subject);
    pthread_mutex_lock(&active_mu);
    int has = *active_find(key) != NULL;
    pthread_mutex_unlock(&active_mu);
    return has;
}

static void active_clear(const char *key)
{
    pthread_mutex_lock(&active_mu);
    struct active **pp = active_find(key), *a = *pp;
    if (a) {
        *pp = a->next;
        free(a->key);
        free(a);
    }
    pthread_mutex_unlock(&active_mu);
}

static void emit(struct sf_events *evs, const struct sub *s, struct event *e)
{
    char when[40], since[40], id[400], text[sizeof(e->text)], key[300];
    int64_t now = sf_now_ms();
    struct sf_outrun *r = &evs->p->outs[s->oi];

    if (strcmp(e->kind, "quarantine") != 0) {  /* start/clear pairs */
        active_key(key, sizeof(key), r->out.name, e->kind, e->subject);
        if (e->cleared) {
            active_clear(key);
        } else if (active_raise(key)) {
            sf_debug(e->tenant ? e->tenant->name : NULL, r->out.name,
                     "event still active since before the reload: %s", e->title);
            return;
        }
    }
    json_object *o = json_object_new_object(), *meta = json_object_new_object();

    sf_fetch_format_time(now, when, sizeof(when));
    sf_fetch_format_time(e->since, since, sizeof(since));
    snprintf(id, sizeof(id), "siemfwd-event:%s:%s:%lld:%s", e->kind, e->subject,
             (long long)e->since, e->cleared ? "cleared" : "started");
    sf_redact_copy(text, sizeof(text), e->text); /* server words may carry secrets */
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "title", json_object_new_string(e->title));
    json_object_object_add(o, "severity", json_object_new_string(e->cleared ? "informational"
                                                                            : e->severity));
    json_object_object_add(o, "status", json_object_new_string(e->cleared ? "resolved"
                                                                          : "new"));
    json_object_object_add(o, "category", json_object_new_string("siemfwd operations"));
    json_object_object_add(o, "description", json_object_new_string(text));
    json_object_object_add(o, "createdDateTime", json_object_new_string(when));
    json_object_object_add(meta, "kind", json_object_new_string(e->kind));
    json_object_object_add(meta, "state", json_object_new_string(e->cleared ? "cleared"
                                                                            : "started"));
    json_object_object_add(meta, "since", json_object_new_string(since));
    if (e->output)
        json_object_object_add(meta, "output", json_object_new_string(e->output));
    json_object_object_add(o, "siemfwd_event", meta);
    if (e->tenant) {
        json_object *t = json_object_new_object();
        json_object_object_add(t, "name", json_object_new_string(e->tenant->name));
        json_object_object_add(t, "id", json_object_new_string(e->tenant->tenant_id));
        json_object_object_add(o, "tenant", t);
    }
    const char *json = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    if (sf_outrun_event(r, e->tenant ? e->tenant->name : NULL, json) != SF_OK)
        sf_error(e->tenant ? e->tenant->name : NULL, r->out.name, "cannot queue event: %s",
                 e->title);
    else
        sf_info(e->tenant ? e->tenant->name : NULL, r->out.name, "event %s: %s",
                e->cleared ? "cleared" : "raised", e->title);
    json_object_put(o);
}

/* A condition's transition, *since its start (0 = not raised): 1 when it
 * starts (on), -1 when it clears. It clears only on evidence (a success
 * after its start), never because a new pipeline after a reload has not
 * failed yet. */
static int changed(int on, int64_t last_success, int64_t *since, int64_t start)
{
    if (on && !*since) {
        *since = start;
        return 1;
    }
    if (!on && *since && last_success > *since)
        return -1;
    return 0;
}

static void tenant_events(struct sf_events *evs, struct sub *s, size_t ti, int64_t now)
{
    struct sf_pipeline *p = evs->p;
    struct sf_tenant_rt *t = &p->tenants[ti];
    struct event e = { .subject = t->tc->name, .tenant = t->tc };

    pthread_mutex_lock(&p->mu);
    int auth = t->auth_failed;
    int64_t t_success = t->last_success_ms;
    /* this run's last success, else the stored one (a reload or restart
     * does not make a stale tenant fresh), else when this run began */
    int64_t last = t->last_success_ms ? t->last_success_ms
                 : evs->known[ti] ? evs->known[ti] : p->started_ms;
    char err[sizeof(t->last_error)];
    memcpy(err, t->last_error, sizeof(err));
    pthread_mutex_unlock(&p->mu);

    int d;
    if (s->ev->consent &&
        (d = changed(auth, t_success, &s->consent[ti], now)) != 0) {
        e.kind = "consent";
        e.severity = "high";
        e.cleared = d < 0;
        e.since = s->consent[ti];
        if (e.cleared)
            snprintf(e.title, sizeof(e.title), "Access restored for tenant %s", t->tc->name);
        else
            snprintf(e.title, sizeof(e.title), "Consent revoked or missing for tenant %s",
                     t->tc->name);
        snprintf(e.text, sizeof(e.text), "%s", e.cleared ? "The tenant's alerts flow again."
                 : err[0] ? err : "The token endpoint or the API refused access.");
        emit(evs, s, &e);
        if (e.cleared)
            s->consent[ti] = 0;
    }
    if (s->ev->stale_ms &&
        (d = changed(now - last > s->ev->stale_ms, t_success, &s->stale[ti], last)) != 0) {
        char dur[32];
        fmt_duration(s->ev->stale_ms, dur, sizeof(dur));
        e.kind = "stale";
        e.severity = "medium";
        e.cleared = d < 0;
        e.since = s->stale[ti];
        if (e.cleared)
            snprintf(e.title, sizeof(e.title), "Tenant %s polled successfully again",
                     t->tc->name);
        else
            snprintf(e.title, sizeof(e.title), "No successful poll of tenant %s for %s",
                     t->tc->name, dur);
        snprintf(e.text, sizeof(e.text), "%s", e.cleared ? "Its last cycle succeeded."
                 : err[0] ? err : "No cycle has completed yet.");
        emit(evs, s, &e);
        if (e.cleared)
            s->stale[ti] = 0;
    }
}

static void output_events(struct sf_events *evs, struct sub *s, size_t oi, int64_t now)
{
    struct sf_outrun *r = &evs->p->outs[oi];
    struct event e = { .subject = r->out.name, .output = r->out.name };
    char why[256];
    int d;

    sf_outrun_last_error(r, why, sizeof(why));
    int64_t since = sf_outrun_failing_since(r);
    int on = since && now - since > s->ev->output_failing_ms;
    if (s->ev->output_failing_ms && oi != s->oi &&
        (d = changed(on, r->stats.last_success_ms, &s->failing[oi], since ? since : now)) != 0) {
        char dur[32];
        fmt_duration(s->ev->output_failing_ms, dur, sizeof(dur));
        e.kind = "output_failing";
        e.severity = "high";
        e.cleared = d < 0;
        e.since = s->failing[oi];
        if (e.cleared)
            snprintf(e.title, sizeof(e.title), "Output %s delivering again", r->out.name);
        else
            snprintf(e.title, sizeof(e.title), "Output %s failing for more than %s",
                     r->out.name, dur);
        snprintf(e.text, sizeof(e.text), "%s", e.cleared ? "Its last delivery succeeded."
                 : why[0] ? why : "No acknowledgement from the peer.");
        emit(evs, s, &e);
        if (e.cleared)
            s->failing[oi] = 0;
    }
    uint64_t q = r->stats.quarantined;
    if (s->ev->quarantine && q > s->quarantined[oi] &&
        now - s->quarantine_sent[oi] >= QUARANTINE_EVERY_MS) {
        e.kind = "quarantine";
        e.severity = "medium";
        e.since = now;
        snprintf(e.title, sizeof(e.title), "%llu records quarantined by output %s",
                 (unsigned long long)(q - s->quarantined[oi]), r->out.name);
        snprintf(e.text, sizeof(e.text), "They are kept with the reason in "
                 "state_dir/quarantine/%s.jsonl. Last reason: %s", r->out.name,
                 why[0] ? why : "see the log");
        emit(evs, s, &e);
        s->quarantined[oi] = q;
        s->quarantine_sent[oi] = now;
    }
}

void sf_events_tick(struct sf_events *evs, int64_t now)
{
    for (size_t k = 0; k < evs->nsubs; k++) {
        struct sub *s = &evs->subs[k];
        for (size_t ti = 0; ti < evs->p->ntenants; ti++)
            tenant_events(evs, s, ti, now);
        for (size_t oi = 0; oi < evs->p->nouts; oi++)
            output_events(evs, s, oi, now);
    }
}

static void *watch_main(void *arg)
{
    struct sf_events *evs = arg;
    pthread_mutex_lock(&evs->mu);
    while (!evs->stop) {
        struct timespec ts = sf_clock_after(TICK_MS);
        if (pthread_cond_timedwait(&evs->cv, &evs->mu, &ts) != ETIMEDOUT)
            continue;
        pthread_mutex_unlock(&evs->mu);
        sf_events_tick(evs, sf_now_ms());
        pthread_mutex_lock(&evs->mu);
    }
    pthread_mutex_unlock(&evs->mu);
    return NULL;
}

static void subs_free(struct sf_events *evs)
{
    for (size_t k = 0; k < evs->nsubs; k++) {
        struct sub *s = &evs->subs[k];
        free(s->consent);
        free(s->stale);
        free(s->failing);
        free(s->quarantined);
        free(s->quarantine_sent);
    }
    free(evs->subs);
}

struct known_ctx {
    struct sf_pipeline *p;
    int64_t *known;
};

static void on_cursor(void *opaque, const char *tenant, const char *output,
                      const struct sf_cursor *c)
{
    struct known_ctx *k = opaque;
    (void)output;
    for (size_t ti = 0; ti < k->p->ntenants; ti++)
        if (strcmp(k->p->tenants[ti].tc->name, tenant) == 0 &&
            c->last_success_ms > k->known[ti])
            k->known[ti] = c->last_success_ms;
}

sf_err sf_events_new(struct sf_pipeline *p, struct sf_events **out)
{
    struct sf_events *evs = calloc(1, sizeof(*evs));
    *out = NULL;
    if (!evs || !(evs->subs = calloc(p->nouts ? p->nouts : 1, sizeof(*evs->subs))) ||
        !(evs->known = calloc(p->ntenants ? p->ntenants : 1, sizeof(int64_t))))
        goto nomem;
    evs->p = p;
    for (size_t oi = 0; oi < p->nouts; oi++) {
        const struct sf_events_conf *ev = &p->cfg->outputs[oi].ev;
        if (!ev->any)
            continue;
        struct sub *s = &evs->subs[evs->nsubs++];
        size_t nt = p->ntenants ? p->ntenants : 1, no = p->nouts;
        s->oi = oi;
        s->ev = ev;
        if (!(s->consent = calloc(nt, sizeof(int64_t))) ||
            !(s->stale = calloc(nt, sizeof(int64_t))) ||
            !(s->failing = calloc(no, sizeof(int64_t))) ||
            !(s->quarantined = calloc(no, sizeof(uint64_t))) ||
            !(s->quarantine_sent = calloc(no, sizeof(int64_t))))
            goto nomem;
        /* what a watcher before a reload raised is active here too: the
         * first look clears what is over, and raises nothing twice */
        const char *on = p->outs[oi].out.name;
        int64_t now = sf_now_ms();
        for (size_t ti = 0; ti < p->ntenants; ti++) {
            const char *tn = p->tenants[ti].tc->name;
            s->consent[ti] = active_has(on, "consent", tn) ? now : 0;
            s->stale[ti] = active_has(on, "stale", tn) ? now : 0;
        }
        for (size_t k = 0; k < no; k++)
            s->failing[k] = active_has(on, "output_failing", p->outs[k].out.name) ? now : 0;
    }
    if (evs->nsubs) {
        struct known_ctx k = { p, evs->known };
        sf_state_each(p->state, on_cursor, &k);
    }
    pthread_mutex_init(&evs->mu, NULL);
    pthread_cond_init(&evs->cv, NULL);
    *out = evs;
    return SF_OK;
nomem:
    if (evs) {
        subs_free(evs);
        free(evs->known);
        free(evs);
    }
    return SF_ERR_NOMEM;
}

void sf_events_start(struct sf_events *evs)
{
    if (evs->nsubs && pthread_create(&evs->thread, NULL, watch_main, evs) == 0)
        evs->running = 1;
}

void sf_events_free(struct sf_events *evs)
{
    if (!evs)
        return;
    if (evs->running) {
        pthread_mutex_lock(&evs->mu);
        evs->stop = 1;
        pthread_cond_signal(&evs->cv);
        pthread_mutex_unlock(&evs->mu);
        pthread_join(evs->thread, NULL);
        sf_events_tick(evs, sf_now_ms()); /* what the last seconds raised */
    }
    pthread_mutex_destroy(&evs->mu);
    pthread_cond_destroy(&evs->cv);
    subs_free(evs);
    free(evs->known);
    free(evs);
}
