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
void broker_handle_create_topics(broker_call_t *call);
void broker_handle_delete_topics(broker_call_t *call);
void broker_handle_create_partitions(broker_call_t *call);
void broker_handle_describe_configs(broker_call_t *call);
void broker_handle_alter_configs(broker_call_t *call);
void broker_handle_incremental_alter_configs(broker_call_t *call);
void broker_handle_produce(broker_call_t *call);
void broker_handle_init_producer_id(broker_call_t *call);

#endif
