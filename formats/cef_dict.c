/* cef_dict.c - the CEF extension dictionary (formats-and-outputs.md §1.5:
 * CEF Implementation Standard v27 + CEF 1.2 additions, dmac/dvcmac per rev
 * 25) and sf_cef_key_check. Does not render; the table is static data. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cef_dict.h"
#include "sf_render.h"

/* Sorted by strcmp (bsearch). max_chars is the spec's length column; it
 * counts characters of the unescaped value (see cef.c). */
static const struct sf_cef_key cef_keys[] = {
    {"act", 63, CEF_KEY_PRODUCER},
    {"agentDnsDomain", 0, CEF_KEY_CONSUMER},
    {"agentNtDomain", 0, CEF_KEY_CONSUMER},
    {"agentTranslatedAddress", 0, CEF_KEY_CONSUMER},
    {"agentTranslatedZoneExternalID", 0, CEF_KEY_CONSUMER},
    {"agentTranslatedZoneKey", 0, CEF_KEY_PRODUCER},
    {"agentTranslatedZoneURI", 0, CEF_KEY_CONSUMER},
    {"agentZoneExternalID", 0, CEF_KEY_CONSUMER},
    {"agentZoneKey", 0, CEF_KEY_PRODUCER},
    {"agentZoneURI", 0, CEF_KEY_CONSUMER},
    {"agt", 0, CEF_KEY_CONSUMER},
    {"ahost", 0, CEF_KEY_CONSUMER},
    {"aid", 0, CEF_KEY_CONSUMER},
    {"amac", 0, CEF_KEY_CONSUMER},
    {"app", 31, CEF_KEY_PRODUCER},
    {"art", 0, CEF_KEY_CONSUMER},
    {"at", 0, CEF_KEY_CONSUMER},
    {"atz", 0, CEF_KEY_CONSUMER},
    {"av", 0, CEF_KEY_CONSUMER},
    {"c6a1", 0, CEF_KEY_PRODUCER},
    {"c6a1Label", 1023, CEF_KEY_PRODUCER},
    {"c6a2", 0, CEF_KEY_PRODUCER},
    {"c6a2Label", 1023, CEF_KEY_PRODUCER},
    {"c6a3", 0, CEF_KEY_PRODUCER},
    {"c6a3Label", 1023, CEF_KEY_PRODUCER},
    {"c6a4", 0, CEF_KEY_PRODUCER},
    {"c6a4Label", 1023, CEF_KEY_PRODUCER},
    {"cat", 1023, CEF_KEY_PRODUCER},
    {"cfp1", 0, CEF_KEY_PRODUCER},
    {"cfp1Label", 1023, CEF_KEY_PRODUCER},
    {"cfp2", 0, CEF_KEY_PRODUCER},
    {"cfp2Label", 1023, CEF_KEY_PRODUCER},
    {"cfp3", 0, CEF_KEY_PRODUCER},
    {"cfp3Label", 1023, CEF_KEY_PRODUCER},
    {"cfp4", 0, CEF_KEY_PRODUCER},
    {"cfp4Label", 1023, CEF_KEY_PRODUCER},
    {"cn1", 0, CEF_KEY_PRODUCER},
    {"cn1Label", 1023, CEF_KEY_PRODUCER},
    {"cn2", 0, CEF_KEY_PRODUCER},
    {"cn2Label", 1023, CEF_KEY_PRODUCER},
    {"cn3", 0, CEF_KEY_PRODUCER},
    {"cn3Label", 1023, CEF_KEY_PRODUCER},
    {"cnt", 0, CEF_KEY_PRODUCER},
    {"cs1", 4000, CEF_KEY_PRODUCER},
    {"cs1Label", 1023, CEF_KEY_PRODUCER},
    {"cs2", 4000, CEF_KEY_PRODUCER},
    {"cs2Label", 1023, CEF_KEY_PRODUCER},
    {"cs3", 4000, CEF_KEY_PRODUCER},
    {"cs3Label", 1023, CEF_KEY_PRODUCER},
    {"cs4", 4000, CEF_KEY_PRODUCER},
    {"cs4Label", 1023, CEF_KEY_PRODUCER},
    {"cs5", 4000, CEF_KEY_PRODUCER},
    {"cs5Label", 1023, CEF_KEY_PRODUCER},
    {"cs6", 4000, CEF_KEY_PRODUCER},
    {"cs6Label", 1023, CEF_KEY_PRODUCER},
    {"customerExternalID", 0, CEF_KEY_CONSUMER},
    {"customerKey", 0, CEF_KEY_PRODUCER},
    {"customerURI", 0, CEF_KEY_CONSUMER},
    {"dTranslatedZoneKey", 0, CEF_KEY_PRODUCER},
    {"dZoneKey", 0, CEF_KEY_PRODUCER},
    {"destinationDnsDomain", 255, CEF_KEY_PRODUCER},
    {"destinationServiceName", 1023, CEF_KEY_PRODUCER},
    {"destinationTranslatedAddress", 0, CEF_KEY_PRODUCER},
    {"destinationTranslatedPort", 0, CEF_KEY_PRODUCER},
    {"destinationTranslatedZoneExternalID", 0, CEF_KEY_CONSUMER},
    {"destinationTranslatedZoneURI", 0, CEF_KEY_CONSUMER},
    {"destinationZoneExternalID", 0, CEF_KEY_CONSUMER},
    {"destinationZoneURI", 0, CEF_KEY_CONSUMER},
    {"deviceCustomDate1", 0, CEF_KEY_PRODUCER},
    {"deviceCustomDate1Label", 1023, CEF_KEY_PRODUCER},
    {"deviceCustomDate2", 0, CEF_KEY_PRODUCER},
    {"deviceCustomDate2Label", 1023, CEF_KEY_PRODUCER},
    {"deviceDirection", 0, CEF_KEY_PRODUCER},
    {"deviceDnsDomain", 255, CEF_KEY_PRODUCER},
    {"deviceExternalId", 255, CEF_KEY_PRODUCER},
    {"deviceFacility", 1023, CEF_KEY_PRODUCER},
    {"deviceInboundInterface", 128, CEF_KEY_PRODUCER},
    {"deviceNtDomain", 255, CEF_KEY_PRODUCER},
    {"deviceOutboundInterface", 128, CEF_KEY_PRODUCER},
    {"devicePayloadId", 128, CEF_KEY_PRODUCER},
    {"deviceProcessName", 1023, CEF_KEY_PRODUCER},
    {"deviceTranslatedAddress", 0, CEF_KEY_PRODUCER},
    {"deviceTranslatedZoneExternalID", 0, CEF_KEY_CONSUMER},
    {"deviceTranslatedZoneKey", 0, CEF_KEY_PRODUCER},
    {"deviceTranslatedZoneURI", 0, CEF_KEY_CONSUMER},
    {"deviceZoneExternalID", 0, CEF_KEY_CONSUMER},
    {"deviceZoneKey", 0, CEF_KEY_PRODUCER},
    {"deviceZoneURI", 0, CEF_KEY_CONSUMER},
    {"dhost", 1023, CEF_KEY_PRODUCER},
    {"dlat", 0, CEF_KEY_CONSUMER},
    {"dlong", 0, CEF_KEY_CONSUMER},
    {"dmac", 0, CEF_KEY_PRODUCER},
    {"dntdom", 255, CEF_KEY_PRODUCER},
    {"dpid", 0, CEF_KEY_PRODUCER},
    {"dpriv", 1023, CEF_KEY_PRODUCER},
    {"dproc", 1023, CEF_KEY_PRODUCER},
    {"dpt", 0, CEF_KEY_PRODUCER},
    {"dst", 0, CEF_KEY_PRODUCER},
    {"dtz", 255, CEF_KEY_PRODUCER},
    {"duid", 1023, CEF_KEY_PRODUCER},
    {"duser", 1023, CEF_KEY_PRODUCER},
    {"dvc", 0, CEF_KEY_PRODUCER},
    {"dvchost", 100, CEF_KEY_PRODUCER},
    {"dvcmac", 0, CEF_KEY_PRODUCER},
    {"dvcpid", 0, CEF_KEY_PRODUCER},
    {"end", 0, CEF_KEY_PRODUCER},
    {"eventId", 0, CEF_KEY_CONSUMER},
    {"externalId", 40, CEF_KEY_PRODUCER},
    {"fileCreateTime", 0, CEF_KEY_PRODUCER},
    {"fileHash", 255, CEF_KEY_PRODUCER},
    {"fileId", 1023, CEF_KEY_PRODUCER},
    {"fileModificationTime", 0, CEF_KEY_PRODUCER},
    {"filePath", 1023, CEF_KEY_PRODUCER},
    {"filePermission", 1023, CEF_KEY_PRODUCER},
    {"fileType", 1023, CEF_KEY_PRODUCER},
    {"flexDate1", 0, CEF_KEY_PRODUCER},
    {"flexDate1Label", 128, CEF_KEY_PRODUCER},
    {"flexString1", 1023, CEF_KEY_PRODUCER},
    {"flexString1Label", 128, CEF_KEY_PRODUCER},
    {"flexString2", 1023, CEF_KEY_PRODUCER},
    {"flexString2Label", 128, CEF_KEY_PRODUCER},
    {"fname", 1023, CEF_KEY_PRODUCER},
    {"frameworkName", 256, CEF_KEY_PRODUCER},
    {"fsize", 0, CEF_KEY_PRODUCER},
    {"in", 0, CEF_KEY_PRODUCER},
    {"msg", 1023, CEF_KEY_PRODUCER},
    {"oldFileCreateTime", 0, CEF_KEY_PRODUCER},
    {"oldFileHash", 255, CEF_KEY_PRODUCER},
    {"oldFileId", 1023, CEF_KEY_PRODUCER},
    {"oldFileModificationTime", 0, CEF_KEY_PRODUCER},
    {"oldFileName", 1023, CEF_KEY_PRODUCER},
    {"oldFilePath", 1023, CEF_KEY_PRODUCER},
    {"oldFilePermission", 1023, CEF_KEY_PRODUCER},
    {"oldFileSize", 0, CEF_KEY_PRODUCER},
    {"oldFileType", 1023, CEF_KEY_PRODUCER},
    {"out", 0, CEF_KEY_PRODUCER},
    {"outcome", 63, CEF_KEY_PRODUCER},
    {"proto", 31, CEF_KEY_PRODUCER},
    {"rawEvent", 0, CEF_KEY_CONSUMER},
    {"reason", 1023, CEF_KEY_PRODUCER},
    {"reportedDuration", 0, CEF_KEY_PRODUCER},
    {"reportedResourceGroupName", 128, CEF_KEY_PRODUCER},
    {"reportedResourceID", 256, CEF_KEY_PRODUCER},
    {"reportedResourceName", 64, CEF_KEY_PRODUCER},
    {"reportedResourceType", 64, CEF_KEY_PRODUCER},
    {"request", 1023, CEF_KEY_PRODUCER},
    {"requestClientApplication", 1023, CEF_KEY_PRODUCER},
    {"requestContext", 2048, CEF_KEY_PRODUCER},
    {"requestCookies", 1023, CEF_KEY_PRODUCER},
    {"requestMethod", 1023, CEF_KEY_PRODUCER},
    {"rt", 0, CEF_KEY_PRODUCER},
    {"sTranslatedZoneKey", 0, CEF_KEY_PRODUCER},
    {"sZoneKey", 0, CEF_KEY_PRODUCER},
    {"shost", 1023, CEF_KEY_PRODUCER},
    {"slat", 0, CEF_KEY_CONSUMER},
    {"slong", 0, CEF_KEY_CONSUMER},
    {"smac", 0, CEF_KEY_PRODUCER},
    {"sntdom", 255, CEF_KEY_PRODUCER},
    {"sourceDnsDomain", 255, CEF_KEY_PRODUCER},
    {"sourceServiceName", 1023, CEF_KEY_PRODUCER},
    {"sourceTranslatedAddress", 0, CEF_KEY_PRODUCER},
    {"sourceTranslatedPort", 0, CEF_KEY_PRODUCER},
    {"sourceTranslatedZoneExternalID", 0, CEF_KEY_CONSUMER},
    {"sourceTranslatedZoneURI", 0, CEF_KEY_CONSUMER},
    {"sourceZoneExternalID", 0, CEF_KEY_CONSUMER},
    {"sourceZoneURI", 0, CEF_KEY_CONSUMER},
    {"spid", 0, CEF_KEY_PRODUCER},
    {"spriv", 1023, CEF_KEY_PRODUCER},
    {"sproc", 1023, CEF_KEY_PRODUCER},
    {"spt", 0, CEF_KEY_PRODUCER},
    {"src", 0, CEF_KEY_PRODUCER},
    {"start", 0, CEF_KEY_PRODUCER},
    {"suid", 1023, CEF_KEY_PRODUCER},
    {"suser", 1023, CEF_KEY_PRODUCER},
    {"threatActor", 40, CEF_KEY_PRODUCER},
    {"threatAttackID", 32, CEF_KEY_PRODUCER},
    {"type", 0, CEF_KEY_PRODUCER},
};

#define N_KEYS (sizeof(cef_keys) / sizeof(cef_keys[0]))

static int cmp_key(const void *a, const void *b)
{
    return strcmp((const char *)a, ((const struct sf_cef_key *)b)->key);
}

const struct sf_cef_key *sf_cef_dict_find(const char *key)
{
    return bsearch(key, cef_keys, N_KEYS, sizeof(cef_keys[0]), cmp_key);
}

/* Case-insensitive Levenshtein distance, capped: keys are short. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64], i, j;

    if (la >= 63 || lb >= 63)
        return 99;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *sf_cef_dict_suggest(const char *key)
{
    const char *best = NULL;
    size_t best_d = 3, i;   /* more than 2 edits is not a typo */

    for (i = 0; i < N_KEYS; i++) {
        if (cef_keys[i].kind != CEF_KEY_PRODUCER)
            continue;
        size_t d = distance(key, cef_keys[i].key);
        if (d < best_d) {
            best_d = d;
            best = cef_keys[i].key;
        }
    }
    return best;
}

int sf_cef_key_check(const char *key, char *errbuf, size_t errlen)
{
    const struct sf_cef_key *k;
    const char *hint;

    if (!key || !*key) {
        sf_errf(errbuf, errlen, "empty CEF extension key");
        return -1;
    }
    k = sf_cef_dict_find(key);
    if (k && k->kind == CEF_KEY_PRODUCER)
        return 0;
    if (k) {
        sf_errf(errbuf, errlen, "CEF key '%s' is set by ArcSight after ingestion "
                "(consumer key) and must not be sent", key);
        return -1;
    }
    hint = sf_cef_dict_suggest(key);
    if (hint)
        sf_errf(errbuf, errlen, "'%s' is not a CEF extension key (did you mean '%s'?)",
                key, hint);
    else
        sf_errf(errbuf, errlen, "'%s' is not a CEF extension key of the dictionary", key);
    return -1;
}
