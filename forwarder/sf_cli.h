/* sf_cli.h - the subcommands of the siemfwd binary (DESIGN.md §3). Each takes
 * argc/argv starting at the subcommand name and returns the process exit
 * code: 0 ok, 1 runtime failure, 2 usage or configuration error. */
#ifndef SF_CLI_H
#define SF_CLI_H

enum { SF_EXIT_OK = 0, SF_EXIT_FAIL = 1, SF_EXIT_USAGE = 2 };

int sf_cmd_render(int argc, char **argv);
int sf_cmd_check(int argc, char **argv);
int sf_cmd_run(int argc, char **argv);
int sf_cmd_state(int argc, char **argv);
int sf_cmd_consent_url(int argc, char **argv);
int sf_cmd_notify_test(int argc, char **argv);
int sf_cmd_tenant(int argc, char **argv);

/* Read a whole file ("-" = stdin) into a malloc'ed buffer, bounded by max. */
char *sf_read_input(const char *path, size_t max, size_t *len, char *errbuf, size_t errlen);

#endif
