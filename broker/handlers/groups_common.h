/* Helpers shared by the group and offset handlers (groups*.c, offsets*.c). */
#ifndef BROKER_HANDLERS_GROUPS_COMMON_H
#define BROKER_HANDLERS_GROUPS_COMMON_H

#include <stddef.h>

#include "core/broker.h"
#include "groups/groups.h"

/* 0 if this call's node coordinates the group, else NOT_COORDINATOR (or
 * COORDINATOR_NOT_AVAILABLE when no node is up). */
int groups_coordinator_error(broker_call_t *call, proto_str_t group_id);
/* The peer's address as Kafka shows it ("/127.0.0.1"), into buf. */
const char *groups_client_host(broker_call_t *call, char *buf, size_t cap);

/* Kafka's group ACL operations, all granted (kc-broker has no authorizer):
 * READ, DELETE, DESCRIBE. */
#define GROUP_ALL_OPERATIONS ((1 << 3) | (1 << 6) | (1 << 8))

#endif
