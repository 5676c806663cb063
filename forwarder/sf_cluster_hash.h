/* sf_cluster_hash.h - which partition of the tenants topic (and of the
 * cursors topic) a tenant belongs to, in cluster mode. Documented contract
 * (siemfwd.yaml(5), ARCHITECTURE.md): FNV-1a 32-bit over the tenant_id
 * GUID in lower case (ASCII), modulo P. Stable across versions and hosts:
 * changing it moves every tenant. */
#ifndef SF_CLUSTER_HASH_H
#define SF_CLUSTER_HASH_H

#include <stdint.h>

/* Partition of tenant_id among P (> 0) partitions, 0..P-1. */
int32_t sf_cluster_partition(const char *tenant_id, int32_t partitions);

#endif
