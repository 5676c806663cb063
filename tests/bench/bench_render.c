/* bench_render.c - mapping-stage throughput: N generated Graph alerts_v2
 * (~4 KB each, with device/file/process/user/ip/url evidence) parsed from
 * JSON text and rendered through the shipped CEF (and LEEF) map on one core.
 * Prints alerts/s, MB/s of input and peak RSS. Numbers, not assertions.
 * usage: bench_render [N] [MAPS_DIR] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "sf_alert_reader.h"
#include "sf_format.h"

static const char tmpl[] =
    "{\"@odata.type\":\"#microsoft.graph.security.alert\",\"id\":\"da6375512276775608%02d_-96144%04d\","
    "\"providerAlertId\":\"da637551227677560813_-961444813\",\"incidentId\":\"2828%d\",\"status\":\"new\","
    "\"severity\":\"%s\",\"classification\":\"unknown\",\"determination\":\"unknown\","
    "\"serviceSource\":\"microsoftDefenderForEndpoint\",\"detectionSource\":\"antivirus\","
    "\"detectorId\":\"e0da400f-affd-43ef-b1d5-afc2eb6f2756\",\"tenantId\":\"b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c\","
    "\"title\":\"Suspicious execution of hidden file %d\",\"description\":\"A hidden file has been launched. "
    "This activity could indicate a compromised host. Attackers often hide files associated with malicious "
    "tools to evade file system inspection and defenses. key=value | pipe \\\\ backslash\","
    "\"recommendedActions\":\"Collect artifacts and determine scope\\n-\\tReview the machine timeline for "
    "suspicious activities\\n-\\tBlock communication with relevant URLs or IPs.\",\"category\":\"DefenseEvasion\","
    "\"assignedTo\":null,\"alertWebUrl\":\"https://security.microsoft.com/alerts/da637551227677560813_-961444813?tid=b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c\","
    "\"incidentWebUrl\":\"https://security.microsoft.com/incidents/28282?tid=b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c\","
    "\"actorDisplayName\":null,\"threatDisplayName\":\"HackTool:Win32/Mikatz!dha\",\"threatFamilyName\":null,"
    "\"mitreTechniques\":[\"T1564.001\",\"T1059\"],\"createdDateTime\":\"2021-04-27T12:19:27.7211305Z\","
    "\"lastUpdateDateTime\":\"2021-05-02T14:19:01.3266667Z\",\"resolvedDateTime\":null,"
    "\"firstActivityDateTime\":\"2021-04-26T07:45:50.116Z\",\"lastActivityDateTime\":\"2021-05-02T07:56:58.222Z\","
    "\"comments\":[],\"evidence\":["
    "{\"@odata.type\":\"#microsoft.graph.security.deviceEvidence\",\"createdDateTime\":\"2021-04-27T12:19:27.7211305Z\","
    "\"verdict\":\"unknown\",\"remediationStatus\":\"none\",\"remediationStatusDetails\":null,\"firstSeenDateTime\":\"2020-09-12T07:28:32.4321753Z\","
    "\"mdeDeviceId\":\"73e7e2de709dff64ef64b1d0c30e67fab63279db\",\"azureAdDeviceId\":null,\"deviceDnsName\":\"host%d.contoso.example\","
    "\"osPlatform\":\"Windows10\",\"osBuild\":22424,\"version\":\"Other\",\"healthStatus\":\"active\",\"riskScore\":\"medium\","
    "\"rbacGroupId\":75,\"rbacGroupName\":\"UnassignedGroup\",\"onboardingStatus\":\"onboarded\",\"defenderAvStatus\":\"unknown\","
    "\"loggedOnUsers\":[{\"accountName\":\"SYSTEM\",\"domainName\":\"NT AUTHORITY\"}],\"roles\":[],\"tags\":[\"Test Machine\"],"
    "\"vmMetadata\":{\"vmId\":\"ca1b0d41-5a3b-4d95-b48b-f220aed11d78\",\"cloudProvider\":\"azure\",\"resourceId\":\"/subscriptions/x/resourceGroups/y\",\"subscriptionId\":\"z\"}},"
    "{\"@odata.type\":\"#microsoft.graph.security.fileEvidence\",\"createdDateTime\":\"2021-04-27T12:19:27.7211305Z\","
    "\"verdict\":\"unknown\",\"remediationStatus\":\"none\",\"detectionStatus\":\"detected\",\"mdeDeviceId\":\"73e7e2de709dff64ef64b1d0c30e67fab63279db\","
    "\"fileDetails\":{\"sha1\":\"5f1e8acedc065031aad553b710838eb366cfee9a\",\"sha256\":\"8963a19fb992ad9a76576c5638fd68292cffb9aaac29eb8285f9abf6196a7dec\","
    "\"fileName\":\"MsSense.exe\",\"filePath\":\"C:\\\\Program Files\\\\temp\",\"fileSize\":6136392,\"filePublisher\":\"Microsoft Corporation\","
    "\"signer\":null,\"issuer\":null}},"
    "{\"@odata.type\":\"#microsoft.graph.security.processEvidence\",\"createdDateTime\":\"2021-04-27T12:19:27.7211305Z\","
    "\"verdict\":\"unknown\",\"remediationStatus\":\"none\",\"processId\":4780,\"parentProcessId\":668,"
    "\"processCommandLine\":\"\\\"MsSense.exe\\\" -arg=1\",\"processCreationDateTime\":\"2021-08-12T12:43:19.0772577Z\","
    "\"parentProcessCreationDateTime\":\"2021-08-12T07:39:09.0909239Z\",\"detectionStatus\":\"detected\","
    "\"mdeDeviceId\":\"73e7e2de709dff64ef64b1d0c30e67fab63279db\",\"imageFile\":{\"sha1\":\"5f1e8acedc065031aad553b710838eb366cfee9a\","
    "\"sha256\":\"8963a19fb992ad9a76576c5638fd68292cffb9aaac29eb8285f9abf6196a7dec\",\"fileName\":\"MsSense.exe\","
    "\"filePath\":\"C:\\\\Program Files\\\\temp\",\"fileSize\":6136392},\"userAccount\":{\"accountName\":\"SYSTEM\",\"domainName\":\"NT AUTHORITY\","
    "\"userSid\":\"S-1-5-18\",\"azureAdUserId\":null,\"userPrincipalName\":null}},"
    "{\"@odata.type\":\"#microsoft.graph.security.userEvidence\",\"createdDateTime\":\"2021-04-27T12:19:27.7211305Z\","
    "\"verdict\":\"unknown\",\"remediationStatus\":\"none\",\"userAccount\":{\"accountName\":\"liz.bean\",\"domainName\":\"CONTOSO\","
    "\"userSid\":\"S-1-5-21-1\",\"azureAdUserId\":\"e1f6e3a0-1111-2222-3333-444455556666\",\"userPrincipalName\":\"liz.bean@contoso.example\"}},"
    "{\"@odata.type\":\"#microsoft.graph.security.ipEvidence\",\"createdDateTime\":\"2021-04-27T12:19:27.7211305Z\","
    "\"verdict\":\"suspicious\",\"remediationStatus\":\"none\",\"ipAddress\":\"218.90.204.%d\",\"countryLetterCode\":\"CN\"},"
    "{\"@odata.type\":\"#microsoft.graph.security.urlEvidence\",\"createdDateTime\":\"2021-04-27T12:19:27.7211305Z\","
    "\"verdict\":\"suspicious\",\"remediationStatus\":\"none\",\"url\":\"http://down.esales360.cn/a?b=1&c=2\"}]}";

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

struct run {
    struct sf_format *fmt;
    struct sf_buf out;
    size_t ok, bytes_out;
};

static sf_err on_alert(void *opaque, json_object *alert, const struct sf_alert_pos *pos)
{
    struct run *r = opaque;
    struct sf_tenant_info t = { "contoso", "b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c" };
    char errbuf[256];
    sf_buf_reset(&r->out);
    if (sf_format_render(r->fmt, alert, &t, &r->out, errbuf, sizeof(errbuf)) == SF_OK) {
        r->ok++;
        r->bytes_out += r->out.len;
    }
    return SF_OK;
}

static void bench(const char *label, const struct sf_format_type *type, const char *map,
                  const char *input, size_t len, size_t n)
{
    struct run r = { 0 };
    char errbuf[512];
    if (sf_format_new(type, map, &r.fmt, errbuf, sizeof(errbuf)) != SF_OK) {
        fprintf(stderr, "%s\n", errbuf);
        exit(1);
    }
    sf_buf_init(&r.out, 0);
    struct timespec a, b, ca, cb;
    clock_gettime(CLOCK_MONOTONIC, &a);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
    sf_alert_read(input, len, on_alert, NULL, &r, NULL);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    double cpu = (double)(cb.tv_sec - ca.tv_sec) + (double)(cb.tv_nsec - ca.tv_nsec) / 1e9;
    /* CPU time is what one core spends; wall time also counts other load */
    printf("%-5s %zu alerts (%zu rendered): wall %.3f s, cpu %.3f s -> %.0f alerts/s "
           "per core, %.1f MB/s in, %.1f MB/s out, avg record %zu B, peak RSS %ld MB\n",
           label, n, r.ok, s, cpu, (double)n / cpu, (double)len / cpu / 1e6,
           (double)r.bytes_out / cpu / 1e6, r.ok ? r.bytes_out / r.ok : 0,
           peak_rss_kb() / 1024);
    sf_buf_free(&r.out);
    sf_format_free(r.fmt);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 100000;
    const char *maps = argc > 2 ? argv[2] : SF_SOURCE_DIR "/formats/maps";
    static const char *const sev[] = { "low", "medium", "high", "informational" };
    struct sf_buf in;
    char path[1024];

    sf_buf_init(&in, (size_t)8 << 30);
    for (size_t i = 0; i < n; i++) {
        if (sf_buf_printf(&in, tmpl, (int)(i % 100), (int)(i % 10000), (int)(i % 10),
                          sev[i % 4], (int)i, (int)(i % 997), (int)(i % 250)) != SF_OK ||
            sf_buf_addc(&in, '\n') != SF_OK) {
            fprintf(stderr, "input too large\n");
            return 1;
        }
    }
    printf("input: %zu JSON lines, %.1f MB, %.0f B per alert\n", n, (double)in.len / 1e6,
           (double)in.len / (double)n);
    snprintf(path, sizeof(path), "%s/cef-defender.yaml", maps);
    bench("cef", &sf_format_cef, path, in.data, in.len, n);
    snprintf(path, sizeof(path), "%s/leef-defender.yaml", maps);
    bench("leef", &sf_format_leef, path, in.data, in.len, n);
    bench("json", &sf_format_json, NULL, in.data, in.len, n);
    sf_buf_free(&in);
    return 0;
}
