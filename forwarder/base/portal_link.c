/* portal_link.c - sf_portal_link.h: the alert's portal link with tid=. */
#include <stdio.h>
#include <string.h>

#include "sf_portal_link.h"

#define PORTAL_ALERTS "https://security.microsoft.com/alerts/"

void sf_portal_link(char *buf, size_t n, const char *url, const char *alert_id,
                    const char *tenant_id)
{
    size_t len;
    int w;

    if (!n)
        return;
    buf[0] = '\0';
    if (url && strncmp(url, "https://", 8) != 0)
        url = NULL;
    if (url)
        w = snprintf(buf, n, "%s", url);
    else if (alert_id && *alert_id && tenant_id && *tenant_id)
        w = snprintf(buf, n, "%s%s", PORTAL_ALERTS, alert_id);
    else
        return;
    if (w < 0 || (size_t)w >= n) {
        buf[0] = '\0';
        return;
    }
    len = (size_t)w;
    if (!tenant_id || !*tenant_id || strstr(buf, "tid="))
        return;
    w = snprintf(buf + len, n - len, "%stid=%s", strchr(buf, '?') ? "&" : "?", tenant_id);
    if (w < 0 || (size_t)w >= n - len)
        buf[0] = '\0';
}
