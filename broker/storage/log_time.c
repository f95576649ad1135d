/* ListOffsets on the file log: earliest, latest, by timestamp, max timestamp. */
#include <inttypes.h>

#include "kc/kc_err.h"
#include "storage/log_file_int.h"
#include "storage/storage_err.h"

static void hit_batch(broker_log_ts_hit_t *hit, const proto_batch_header_t *h, int64_t start)
{
    hit->timestamp = h->max_timestamp;
    hit->offset = h->base_offset < start ? start : h->base_offset;
    hit->last_offset = broker_batch_last_offset(h);
}

/* KIP-734: the first batch holding the largest timestamp of the log. */
static int max_timestamp(broker_file_log_t *l, broker_log_ts_hit_t *hit, char *errstr,
                         size_t errstr_size)
{
    int best = -1;
    for (int i = broker_flog_seg_for(l, l->start); i < l->nsegs; i++)
        if (l->segs[i]->max_ts >= 0 && (best < 0 || l->segs[i]->max_ts > l->segs[best]->max_ts))
            best = i;
    if (best < 0) return 0;
    broker_segment_t *seg = l->segs[best];
    proto_batch_header_t h;
    int64_t pos;
    int rc = broker_segment_find(seg, seg->max_ts_offset, &pos, &h, errstr, errstr_size);
    if (rc == KC_ERR__NOENT)
        return broker_store_err(KC_ERR_KAFKA_STORAGE_ERROR, errstr, errstr_size,
                                "%s.log: no batch at offset %" PRId64 " of its max timestamp",
                                seg->path, seg->max_ts_offset);
    if (rc) return rc;
    hit_batch(hit, &h, l->start);
    return 0;
}

int broker_flog_offset_for_time(broker_log_t *log, int64_t ts, broker_log_ts_hit_t *hit,
                                char *errstr, size_t errstr_size)
{
    broker_file_log_t *l = (broker_file_log_t *)log;
    hit->timestamp = -1;
    hit->offset = -1;
    hit->last_offset = -1;
    switch (ts) {
    case BROKER_LOG_TS_LATEST: hit->offset = broker_flog_end(l); return 0;
    case BROKER_LOG_TS_EARLIEST: hit->offset = l->start; return 0;
    case BROKER_LOG_TS_MAX: return max_timestamp(l, hit, errstr, errstr_size);
    default: break;
    }
    if (ts < 0)
        return broker_store_err(KC_ERR__INVALID_ARG, errstr, errstr_size,
                                "unsupported ListOffsets timestamp %" PRId64, ts);
    for (int i = broker_flog_seg_for(l, l->start); i < l->nsegs; i++) {
        broker_segment_t *seg = l->segs[i];
        if (seg->max_ts < ts) continue;
        proto_batch_header_t h;
        int64_t pos;
        int rc = broker_segment_find_time(seg, ts, l->start, &pos, &h, errstr, errstr_size);
        if (rc == KC_ERR__NOENT) continue;
        if (rc) return rc;
        hit_batch(hit, &h, l->start);
        return 0;
    }
    return 0;
}
