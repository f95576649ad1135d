/* Request handlers, one file per API (or per family of APIs). Each takes a
 * broker_call_t with the decoded request and answers it with
 * broker_call_respond() (now or later). The API table in core/dispatch.c maps
 * keys and versions to these. */
#ifndef BROKER_HANDLERS_H
#define BROKER_HANDLERS_H

#include "core/broker.h"

void broker_handle_api_versions(broker_call_t *call);
void broker_handle_metadata(broker_call_t *call);
void broker_handle_describe_cluster(broker_call_t *call);
/* Groups and committed offsets (groups_*.c, offsets_*.c). */
void broker_handle_find_coordinator(broker_call_t *call);
void broker_handle_join_group(broker_call_t *call);
void broker_handle_sync_group(broker_call_t *call);
void broker_handle_heartbeat(broker_call_t *call);
void broker_handle_leave_group(broker_call_t *call);
void broker_handle_offset_commit(broker_call_t *call);
void broker_handle_offset_fetch(broker_call_t *call);
void broker_handle_describe_groups(broker_call_t *call);
void broker_handle_list_groups(broker_call_t *call);
void broker_handle_delete_groups(broker_call_t *call);
void broker_handle_offset_delete(broker_call_t *call);
void broker_handle_create_topics(broker_call_t *call);
void broker_handle_delete_topics(broker_call_t *call);
void broker_handle_create_partitions(broker_call_t *call);
void broker_handle_describe_configs(broker_call_t *call);
void broker_handle_alter_configs(broker_call_t *call);
void broker_handle_incremental_alter_configs(broker_call_t *call);
void broker_handle_describe_log_dirs(broker_call_t *call);
void broker_handle_produce(broker_call_t *call);
void broker_handle_init_producer_id(broker_call_t *call);
void broker_handle_fetch(broker_call_t *call);
void broker_handle_list_offsets(broker_call_t *call);
void broker_handle_delete_records(broker_call_t *call);
void broker_handle_offset_for_leader_epoch(broker_call_t *call);

#endif
