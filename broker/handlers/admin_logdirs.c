/* DescribeLogDirs: each of log.dirs with the partitions it holds and their
 * sizes (bytes of batches held), and from v4 the file system's total and
 * usable bytes. A partition is reported in the directory that holds its
 * folder; an in-memory log (the mock) in the first directory. Topics or
 * partitions that do not exist are left out, as Kafka does. */
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "handlers/admin.h"
#include "handlers/handlers.h"
#include "kc/kc_err.h"
#include "proto_msgs.h"
#include "storage/log_file.h"

typedef proto_describe_log_dirs_response_describe_log_dirs_result_t ld_result_t;
typedef proto_describe_log_dirs_response_describe_log_dirs_topic_t ld_topic_t;
typedef proto_describe_log_dirs_response_describe_log_dirs_partition_t ld_part_t;
typedef proto_describe_log_dirs_request_describable_log_dir_topic_t ld_req_topic_t;

static int partition_dir(const broker_t *b, const broker_topic_t *t, int32_t p)
{
    for (int i = 0; i < b->conf->dir_count; i++) {
        char path[4096];
        struct stat st;
        if (broker_log_dir_path(path, sizeof(path), b->conf->dirs[i], t->name, p) == 0 &&
            stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            return i;
    }
    return 0;
}

/* Adds t's wanted partitions held in dir `d` to *out (if any). */
static int add_topic(broker_call_t *call, const broker_topic_t *t, const ld_req_topic_t *want,
                     int d, ld_topic_t *out)
{
    int32_t cap = want ? want->partitions.n : t->partition_count;
    ld_part_t *ps = broker_call_structs(
        call, cap, &proto_describe_log_dirs_response_describe_log_dirs_partition_sdesc);
    int32_t n = 0;
    for (int32_t i = 0; ps && i < cap; i++) {
        int32_t p = want ? want->partitions.v[i] : i;
        if (p < 0 || p >= t->partition_count || partition_dir(call->b, t, p) != d) continue;
        broker_log_offsets_t o;
        broker_log_offsets(t->partitions[p]->log, &o);
        ps[n].partition_index = p;
        ps[n].partition_size = o.bytes;
        ps[n].offset_lag = 0;
        ps[n].is_future_key = false;
        n++;
    }
    if (!n) return 0;
    out->name = proto_str_of(t->name);
    out->partitions.v = ps;
    out->partitions.n = n;
    return 1;
}

static void fill_dir(broker_call_t *call, const proto_describe_log_dirs_request_t *req, int d,
                     ld_result_t *out)
{
    broker_t *b = call->b;
    out->error_code = 0;
    out->log_dir = proto_str_of(b->conf->dirs[d]);
    struct statvfs vfs;
    if (statvfs(b->conf->dirs[d], &vfs) == 0) {
        out->total_bytes = (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize;
        out->usable_bytes = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
    }
    int32_t cap = req->topics.n >= 0 ? req->topics.n : (int32_t)b->topics.count;
    ld_topic_t *ts = broker_call_structs(
        call, cap, &proto_describe_log_dirs_response_describe_log_dirs_topic_sdesc);
    int32_t n = 0;
    if (ts && req->topics.n >= 0) {
        for (int32_t i = 0; i < req->topics.n; i++) {
            const broker_topic_t *t = broker_topic_find(b, req->topics.v[i].topic);
            if (t) n += add_topic(call, t, &req->topics.v[i], d, &ts[n]);
        }
    } else if (ts) {
        size_t it = 0;
        broker_topic_t *t;
        while (n < cap && util_hmap_next(&b->topics, &it, NULL, NULL, (void **)&t))
            n += add_topic(call, t, NULL, d, &ts[n]);
    }
    out->topics.v = ts;
    out->topics.n = ts ? n : 0;
}

void broker_handle_describe_log_dirs(broker_call_t *call)
{
    const proto_describe_log_dirs_request_t *req = call->request;
    proto_describe_log_dirs_response_t resp;
    proto_msg_init(&proto_describe_log_dirs_response_desc, &resp);
    int dirs = call->b->conf->dir_count;
    ld_result_t *res = broker_call_structs(
        call, dirs, &proto_describe_log_dirs_response_describe_log_dirs_result_sdesc);
    if (dirs && !res) {
        broker_call_close(call, "out of memory");
        return;
    }
    for (int d = 0; d < dirs; d++)
        fill_dir(call, req, d, &res[d]);
    resp.results.v = res;
    resp.results.n = dirs;
    broker_call_respond(call, &resp);
}
