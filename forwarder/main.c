/* main.c - siemfwd entry point: dispatches to the subcommands of DESIGN §3.
 * Owns nothing beyond argv; each subcommand cleans up after itself. */
#include <stdio.h>
#include <string.h>

#include "sf_cli.h"

/* Read by jemalloc when the binary is linked with it (ignored otherwise).
 * Its default of 4 arenas per core with 10 s of dirty-page decay let every
 * fetch worker keep the memory of the pages it parsed: 172 MB peak for 100
 * tenants x 1000 alerts with 8 workers (tests/bench/outage_rss.sh). */
const char *malloc_conf = "narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0";

static const char usage_text[] =
    "usage: siemfwd COMMAND [OPTIONS]\n"
    "\n"
    "Pull Microsoft Defender alerts from many customer tenants and deliver them\n"
    "as CEF, LEEF or JSON to syslog (TCP/TLS), Kafka and Splunk HEC.\n"
    "\n"
    "commands:\n"
    "  run    -c FILE [--once]        run the pipeline in the foreground;\n"
    "                                 --once: one complete pass, drain, exit (0 only\n"
    "                                 when every output acknowledged everything)\n"
    "  check  -c FILE [--online [--tenant NAME]]\n"
    "                                 validate the config and every map it names;\n"
    "                                 --online: get a token and call the API per tenant\n"
    "                                 (or NAME only): are consent and permissions there\n"
    "  render -m MAP [--format cef|leef|json] [--tenant NAME] [--tenant-id ID] [FILE|-]\n"
    "                                 render alerts (JSON array, API page or JSON lines)\n"
    "  state  -c FILE [--json] [--tenant NAME]\n"
    "                                 per tenant and output: state, cursor, lag, last error\n"
    "  tenant add NAME TENANT_ID [--source graph|mde|siem] [--api-base URL] [-c FILE]\n"
    "                                 onboard a customer: write tenants_dir/NAME.yaml,\n"
    "                                 print the admin-consent link\n"
    "  consent-url --client-id ID [--tenant T] [--redirect-uri URI]\n"
    "                                 the admin-consent link a customer opens to onboard\n"
    "  notify-test -c FILE --output NAME [--tenant NAME] [--alert FILE]\n"
    "                                 send one test message through an email or\n"
    "                                 webhook output; prints the server's answer\n"
    "  --version                      print the version\n"
    "  --help                         this text; `siemfwd COMMAND --help` for details\n"
    "\n"
    "exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_text, stderr);
        return SF_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_text, stdout);
        return SF_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("siemfwd %s\n", SIEMFWD_VERSION);
        return SF_EXIT_OK;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        { "run", sf_cmd_run },
        { "check", sf_cmd_check },
        { "render", sf_cmd_render },
        { "state", sf_cmd_state },
        { "consent-url", sf_cmd_consent_url },
        { "notify-test", sf_cmd_notify_test },
        { "tenant", sf_cmd_tenant },
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(cmd, cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "siemfwd: unknown command '%s' (try --help)\n", cmd);
    return SF_EXIT_USAGE;
}
