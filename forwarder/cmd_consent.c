/* cmd_consent.c - `siemfwd consent-url`: the admin-consent link a customer's
 * administrator opens once to consent the MSSP's multi-tenant app. */
#include <getopt.h>
#include <stdio.h>

#include "sf_cli.h"
#include "sf_fetch.h"

static const char consent_usage[] =
    "usage: siemfwd consent-url --client-id ID [--tenant T] [--redirect-uri URI]\n"
    "                           [--authority URL]\n"
    "Prints the admin-consent URL for the MSSP's multi-tenant app. --tenant is\n"
    "the customer's tenant id or domain (default: organizations).\n";

int sf_cmd_consent_url(int argc, char **argv)
{
    static const struct option opts[] = {
        { "client-id", required_argument, NULL, 'i' },
        { "tenant", required_argument, NULL, 't' },
        { "redirect-uri", required_argument, NULL, 'r' },
        { "authority", required_argument, NULL, 'a' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *client = NULL, *tenant = "organizations", *redirect = NULL;
    const char *authority = "https://login.microsoftonline.com";
    char url[4096];
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "i:t:r:a:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'i': client = optarg; break;
        case 't': tenant = optarg; break;
        case 'r': redirect = optarg; break;
        case 'a': authority = optarg; break;
        case 'h': fputs(consent_usage, stdout); return SF_EXIT_OK;
        default: fputs(consent_usage, stderr); return SF_EXIT_USAGE;
        }
    }
    if (!client || optind < argc) {
        fputs(consent_usage, stderr);
        return SF_EXIT_USAGE;
    }
    if (sf_consent_url(authority, client, tenant, redirect, url, sizeof(url)) != 0) {
        fprintf(stderr, "siemfwd consent-url: arguments too long\n");
        return SF_EXIT_USAGE;
    }
    puts(url);
    return SF_EXIT_OK;
}
