/* alert_view.c - the shared part of sf_alert_view.h: severity words to
 * their ordered rank. The view itself is filled by each source's view()
 * (forwarder/source_*.c); nothing here reads API field names. */
#include <stddef.h>
#include <strings.h>

#include "sf_alert_view.h"

int sf_sev_rank_of(const char *severity)
{
    static const struct {
        const char *word;
        int rank;
    } words[] = {
        { "informational", SF_SEV_INFORMATIONAL }, { "info", SF_SEV_INFORMATIONAL },
        { "low", SF_SEV_LOW }, { "medium", SF_SEV_MEDIUM }, { "high", SF_SEV_HIGH },
    };

    for (size_t i = 0; severity && i < sizeof(words) / sizeof(words[0]); i++)
        if (strcasecmp(severity, words[i].word) == 0)
            return words[i].rank;
    return SF_SEV_UNKNOWN;
}
