/* cluster_hash.c - tenant -> partition (sf_cluster_hash.h). */
#include "sf_cluster_hash.h"

int32_t sf_cluster_partition(const char *tenant_id, int32_t partitions)
{
    uint32_t h = 2166136261u;                 /* FNV-1a 32-bit offset basis */
    for (const unsigned char *p = (const unsigned char *)tenant_id; *p; p++) {
        unsigned char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        h ^= c;
        h *= 16777619u;                       /* FNV prime */
    }
    return partitions > 0 ? (int32_t)(h % (uint32_t)partitions) : 0;
}
