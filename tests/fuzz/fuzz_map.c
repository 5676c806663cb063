/* fuzz_map.c - libFuzzer target: untrusted bytes as a YAML field map (and
 * config tree): YAML loading, then map compilation for CEF and LEEF. Errors
 * are expected; crashes, leaks and hangs are not. */
#include <stdint.h>
#include <stdlib.h>

#include "sf_map.h"
#include "sf_yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sf_doc *doc = NULL;
    char errbuf[512];

    if (sf_yaml_load_string("fuzz.yaml", (const char *)data, size, &doc, errbuf,
                            sizeof(errbuf)) != SF_OK)
        return 0;
    for (int kind = SF_MAP_CEF; kind <= SF_MAP_LEEF; kind++) {
        struct sf_map *m = NULL;
        if (sf_map_compile(doc->root, (enum sf_map_kind)kind, &m, errbuf,
                           sizeof(errbuf)) == SF_OK)
            sf_map_free(m);
    }
    sf_doc_free(doc);
    return 0;
}
