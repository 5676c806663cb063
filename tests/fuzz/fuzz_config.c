/* fuzz_config.c - libFuzzer target: untrusted bytes as a whole siemfwd.yaml
 * (YAML, every schema table, tenant_defaults merge, cross-checks). ${VAR}
 * and file: secrets are exercised against a fixed environment. Errors are
 * expected; crashes, leaks and hangs are not. */
#include <stdint.h>
#include <stdlib.h>

#include "sf_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sf_config *cfg = NULL;
    struct sf_buf errs, dump;

    if (size > (256u << 10))
        return 0;
    setenv("SF_FUZZ_SECRET", "fuzz-secret", 0);
    sf_buf_init(&errs, 1 << 20);
    if (sf_config_load_string("/nonexistent/fuzz.yaml", (const char *)data, size, &cfg,
                              &errs) == SF_OK) {
        sf_buf_init(&dump, 0);
        sf_config_dump(cfg, &dump); /* also masks secrets: must not crash */
        sf_buf_free(&dump);
        sf_config_free(cfg);
    }
    sf_buf_free(&errs);
    return 0;
}
