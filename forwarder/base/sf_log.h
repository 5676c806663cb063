/* sf_log.h - one event per line on stderr, logfmt (default) or JSON, with
 * the tenant and output the event concerns. Thread-safe (one write(2) per
 * line). Callers must never pass secrets; as a last line of defence every
 * message passes sf_redact (sf_redact.h) first. */
#ifndef SF_LOG_H
#define SF_LOG_H

enum sf_log_level { SF_LOG_ERROR, SF_LOG_WARN, SF_LOG_INFO, SF_LOG_DEBUG };

void sf_log_setup(enum sf_log_level level, int json);
int sf_log_level_parse(const char *name, enum sf_log_level *level);
int sf_log_enabled(enum sf_log_level level);

/* tenant / output may be NULL. msg is printf-style. */
void sf_log(enum sf_log_level level, const char *tenant, const char *output,
            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define sf_error(t, o, ...) sf_log(SF_LOG_ERROR, t, o, __VA_ARGS__)
#define sf_warn(t, o, ...) sf_log(SF_LOG_WARN, t, o, __VA_ARGS__)
#define sf_info(t, o, ...) sf_log(SF_LOG_INFO, t, o, __VA_ARGS__)
#define sf_debug(t, o, ...) do { if (sf_log_enabled(SF_LOG_DEBUG)) sf_log(SF_LOG_DEBUG, t, o, __VA_ARGS__); } while (0)

#endif
