/* sf_portal_link.h - the Defender portal link of one alert, carrying tid=
 * so an MSSP analyst lands in the right customer tenant. Used by the
 * sources' view() (sf_alert_view.link) and by the notification renderer's
 * view of events and test alerts (formats/notify_view.c). Pure string
 * work: no JSON, no I/O. */
#ifndef SF_PORTAL_LINK_H
#define SF_PORTAL_LINK_H

#include <stddef.h>

/* Into buf (n bytes): url when it is https:// (the API's own link:
 * Graph alertWebUrl, SIEM LinkToMTP), else the portal's alert page for
 * alert_id when both alert_id and tenant_id are known; then "?tid=" or
 * "&tid=" tenant_id appended unless the link has a tid= already. A link
 * that does not fit is left out: buf is "" (never a cut URL). */
void sf_portal_link(char *buf, size_t n, const char *url, const char *alert_id,
                    const char *tenant_id);

#endif
