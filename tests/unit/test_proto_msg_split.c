/* proto_msg_encode_split: records fields as length prefixes only, with the
 * bytes spliced in by the caller, must give exactly what the plain encoder
 * gives, in every Fetch response version (flexible or not). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "kc/kc_err.h"
#include "proto/proto_msg.h"
#include "proto_msgs.h"

typedef struct spl {
    size_t at[8];
    const proto_slice_t *rec[8];
    int n;
} spl_t;

static void on_rec(void *arg, const proto_slice_t *records, size_t at)
{
    spl_t *s = arg;
    s->at[s->n] = at;
    s->rec[s->n] = records;
    s->n++;
}

static void test_split_equals_plain(void **state)
{
    (void)state;
    static const uint8_t a[] = "first records bytes", b[] = "second";
    /* Tokens stand for the bytes: the split encoder must not read them. */
    static const char tok_a[] = "A", tok_b[] = "B";
    for (int16_t v = 4; v <= 17; v++) {
        proto_fetch_response_partition_data_t parts[3];
        for (int i = 0; i < 3; i++)
            proto_struct_init(&proto_fetch_response_partition_data_sdesc, &parts[i]);
        parts[0].partition_index = 0;
        parts[1].partition_index = 1;
        parts[1].records = PROTO_NULL_SLICE; /* null: written as usual */
        parts[2].partition_index = 2;
        parts[2].current_leader.leader_id = 7; /* a tagged field in v12+ */
        proto_fetch_response_fetchable_topic_response_t topic;
        proto_struct_init(&proto_fetch_response_fetchable_topic_response_sdesc, &topic);
        topic.topic = proto_str_of("t");
        topic.partitions.v = parts;
        topic.partitions.n = 3;
        proto_fetch_response_t resp;
        proto_msg_init(&proto_fetch_response_desc, &resp);
        resp.responses.v = &topic;
        resp.responses.n = 1;
        if (v < 12) parts[2].current_leader.leader_id = -1;

        parts[0].records = proto_slice_of(a, sizeof(a));
        parts[2].records = proto_slice_of(b, sizeof(b));
        proto_wbuf_t plain = {0}, split = {0};
        char err[256];
        assert_int_equal(
            proto_msg_encode(&proto_fetch_response_desc, v, &resp, &plain, err, sizeof(err)), 0);

        parts[0].records = proto_slice_of(tok_a, sizeof(a));
        parts[2].records = proto_slice_of(tok_b, sizeof(b));
        spl_t s = {.n = 0};
        assert_int_equal(proto_msg_encode_split(&proto_fetch_response_desc, v, &resp, &split,
                                                on_rec, &s, err, sizeof(err)),
                         0);
        assert_int_equal(s.n, 2);
        assert_ptr_equal(s.rec[0]->ptr, (const uint8_t *)tok_a);
        assert_ptr_equal(s.rec[1]->ptr, (const uint8_t *)tok_b);
        assert_true(s.at[0] < s.at[1]);
        /* Splice and compare. */
        size_t total = split.len + sizeof(a) + sizeof(b);
        assert_int_equal(total, plain.len);
        uint8_t *joined = malloc(total);
        size_t o = 0;
        memcpy(joined, split.data, s.at[0]);
        o = s.at[0];
        memcpy(joined + o, a, sizeof(a));
        o += sizeof(a);
        memcpy(joined + o, split.data + s.at[0], s.at[1] - s.at[0]);
        o += s.at[1] - s.at[0];
        memcpy(joined + o, b, sizeof(b));
        o += sizeof(b);
        memcpy(joined + o, split.data + s.at[1], split.len - s.at[1]);
        assert_memory_equal(joined, plain.data, plain.len);
        free(joined);
        proto_wbuf_free(&plain);
        proto_wbuf_free(&split);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_equals_plain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
