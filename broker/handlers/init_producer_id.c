/* InitProducerId (key 22): producer ids for idempotent producers.
 *
 * - Null transactional id: a new producer id with epoch 0. From v3 (KIP-360)
 *   a producer may present the id and epoch it has; if this broker issued
 *   that id, the answer is the same id with the next epoch (the partitions
 *   then expect sequence 0 from it), or a new id once the epoch reaches
 *   32766. Kafka itself always hands out a new id here; both answers are
 *   valid for every client, and the bump keeps ids from being used up by
 *   producers that recover from errors often.
 * - A transactional id: kc-broker has no transaction coordinator yet. It
 *   answers COORDINATOR_NOT_AVAILABLE, which is what Kafka answers while its
 *   transaction state log cannot be used: clients retry until their own
 *   timeout and then report that transactions could not be initialised.
 */
#include <stdio.h>

#include "handlers/handlers.h"
#include "kc/kc_err.h"
#include "producers/producers.h"
#include "proto_msgs.h"
#include "util/log.h"

void broker_handle_init_producer_id(broker_call_t *call)
{
    broker_t *b = call->b;
    const proto_init_producer_id_request_t *req = call->request;
    proto_init_producer_id_response_t resp;
    proto_msg_init(&proto_init_producer_id_response_desc, &resp);
    resp.producer_id = -1;
    resp.producer_epoch = -1;
    if (req->transactional_id.len >= 0) {
        resp.error_code = KC_ERR_COORDINATOR_NOT_AVAILABLE;
        broker_call_respond(call, &resp);
        return;
    }
    if (req->producer_id >= 0 && req->producer_epoch >= 0 &&
        req->producer_epoch < BROKER_PRODUCER_EPOCH_MAX &&
        broker_pids_issued(b, req->producer_id)) {
        resp.producer_id = req->producer_id;
        resp.producer_epoch = (int16_t)(req->producer_epoch + 1);
        broker_call_respond(call, &resp);
        return;
    }
    char errstr[256];
    int64_t id;
    int rc = broker_pids_next(b, &id, errstr, sizeof(errstr));
    if (rc) {
        /* Retriable for every client, and true: ids cannot be handed out now. */
        log_error("InitProducerId: cannot allocate a producer id: %s", errstr);
        resp.error_code = KC_ERR_COORDINATOR_NOT_AVAILABLE;
    } else {
        resp.producer_id = id;
        resp.producer_epoch = 0;
    }
    broker_call_respond(call, &resp);
}
