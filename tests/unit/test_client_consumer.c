/* The consumer without a group against a kc-broker process: records
 * produced by librdkafka read back through kc_assign (keys, values,
 * headers, offsets, every codec), EOF events, seek, pause/resume,
 * positions, offset resets and watermarks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client_test_util.h"
#include "test_client_consumer_util.h"

static tbroker_t broker;

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    if (tbroker_start(&broker) != 0) return -1;
    if (ctu_create_topic(broker.addr, "t3", 3) != 0) return -1;
    for (int p = 0; p < 3; p++)
        if (ctu_produce(broker.addr, "t3", p, 100, p * 1000, "none", 0, 1, NULL, NULL) != 0)
            return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tbroker_stop(&broker);
    return 0;
}

/* Reads n records of topic/partition, checking each against what
 * ctu_produce wrote from `start` (offset i holds record start + i). */
static void read_expect(kc_consumer_t *c, const char *topic, int32_t partition, int64_t first,
                        int n, int start, int headers, int value_size)
{
    for (int i = 0; i < n; i++) {
        kc_message_t *m = ctu_next_record(c, 10000, NULL);
        assert_non_null(m);
        assert_string_equal(m->topic, topic);
        assert_int_equal(m->partition, partition);
        assert_int_equal(m->offset, first + i);
        int rec = start + (int)(first + i);
        char want[32];
        int wl = snprintf(want, sizeof(want), "k%d", rec);
        assert_int_equal(m->key_len, (size_t)wl);
        assert_memory_equal(m->key, want, (size_t)wl);
        wl = snprintf(want, sizeof(want), "v%d", rec);
        assert_int_equal(m->value_len, value_size > wl ? (size_t)value_size : (size_t)wl);
        assert_memory_equal(m->value, want, (size_t)wl);
        assert_int_equal(m->timestamp_type, KC_TIMESTAMP_CREATE_TIME);
        assert_true(m->timestamp_ms > 1600000000000LL);
        if (headers) {
            assert_int_equal(m->header_cnt, 2);
            assert_string_equal(m->headers[0].name, "h");
            wl = snprintf(want, sizeof(want), "%d", rec);
            assert_int_equal(m->headers[0].value_len, (size_t)wl);
            assert_memory_equal(m->headers[0].value, want, (size_t)wl);
            assert_string_equal(m->headers[1].name, "null");
            assert_null(m->headers[1].value);
        } else {
            assert_int_equal(m->header_cnt, 0);
        }
        kc_message_destroy(m);
    }
}

static void test_assign_reads_all_partitions_with_eof(void **state)
{
    (void)state;
    kc_consumer_t *c = ctu_consumer(broker.addr, "enable.partition.eof", "true", NULL);
    assert_non_null(c);
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(3);
    for (int p = 0; p < 3; p++)
        kc_topic_partition_list_add(l, "t3", p)->offset = KC_OFFSET_BEGINNING;
    assert_int_equal(kc_assign(c, l), 0);
    kc_topic_partition_list_destroy(l);

    int64_t next[3] = {0, 0, 0};
    int eof[3] = {0, 0, 0};
    int got = 0, eofs = 0;
    int64_t end = ctu_now_ms() + 20000;
    while ((got < 300 || eofs < 3) && ctu_now_ms() < end) {
        kc_message_t *m = kc_consumer_poll(c, 100);
        if (!m) continue;
        if (m->err == KC_ERR__PARTITION_EOF) {
            assert_string_equal(m->topic, "t3");
            assert_int_equal(m->offset, 100);
            assert_int_equal(next[m->partition], 100);
            eof[m->partition]++;
            eofs++;
        } else {
            assert_int_equal(m->err, 0);
            assert_int_equal(m->offset, next[m->partition]);
            char want[32];
            snprintf(want, sizeof(want), "v%d", m->partition * 1000 + (int)m->offset);
            assert_int_equal(m->value_len, strlen(want));
            assert_memory_equal(m->value, want, strlen(want));
            next[m->partition]++;
            got++;
        }
        kc_message_destroy(m);
    }
    assert_int_equal(got, 300);
    for (int p = 0; p < 3; p++)
        assert_int_equal(eof[p], 1);

    /* Positions follow what was handed out; the assignment lists all three. */
    kc_topic_partition_list_t *pos = kc_topic_partition_list_new(3);
    for (int p = 0; p < 3; p++)
        kc_topic_partition_list_add(pos, "t3", p);
    assert_int_equal(kc_position(c, pos), 0);
    for (int p = 0; p < 3; p++)
        assert_int_equal(pos->elems[p].offset, 100);
    kc_topic_partition_list_destroy(pos);
    kc_topic_partition_list_t *as = NULL;
    assert_int_equal(kc_assignment(c, &as), 0);
    assert_int_equal(as->cnt, 3);
    kc_topic_partition_list_destroy(as);

    /* A new record after EOF comes, then a second EOF at the new end. */
    assert_int_equal(ctu_produce(broker.addr, "t3", 1, 1, 1000, "none", 0, 1, NULL, NULL), 0);
    kc_message_t *m = ctu_next_record(c, 10000, NULL);
    assert_non_null(m);
    assert_int_equal(m->partition, 1);
    assert_int_equal(m->offset, 100);
    kc_message_destroy(m);
    assert_true(ctu_wait_event(c, KC_ERR__PARTITION_EOF, 10000));
    assert_int_equal(kc_consumer_close(c), 0);
    kc_consumer_destroy(c);
}

static void test_headers_keys_values(void **state)
{
    (void)state;
    kc_consumer_t *c = ctu_consumer(broker.addr, NULL);
    assert_non_null(c);
    assert_int_equal(ctu_assign1(c, "t3", 2, KC_OFFSET_BEGINNING), 0);
    read_expect(c, "t3", 2, 0, 100, 2000, 1, 0);
    kc_consumer_destroy(c);
}

static void test_every_codec(void **state)
{
    (void)state;
    const char *codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
        char topic[32];
        snprintf(topic, sizeof(topic), "codec-%s", codecs[i]);
        assert_int_equal(ctu_create_topic(broker.addr, topic, 1), 0);
        assert_int_equal(ctu_produce(broker.addr, topic, 0, 500, 0, codecs[i], 300, 1, NULL, NULL),
                         0);
        kc_consumer_t *c = ctu_consumer(broker.addr, "check.crcs", "true", NULL);
        assert_non_null(c);
        assert_int_equal(ctu_assign1(c, topic, 0, KC_OFFSET_BEGINNING), 0);
        read_expect(c, topic, 0, 0, 500, 0, 1, 300);
        kc_consumer_destroy(c);
    }
}

/* Messages keep their buffer alive past the consumer. */
static void test_messages_outlive_consumer(void **state)
{
    (void)state;
    kc_consumer_t *c = ctu_consumer(broker.addr, NULL);
    assert_non_null(c);
    assert_int_equal(ctu_assign1(c, "codec-lz4", 0, KC_OFFSET_BEGINNING), 0);
    kc_message_t *keep[50];
    for (int i = 0; i < 50; i++) {
        keep[i] = ctu_next_record(c, 10000, NULL);
        assert_non_null(keep[i]);
    }
    kc_consumer_destroy(c);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(keep[i]->offset, i);
        assert_string_equal(keep[i]->topic, "codec-lz4");
        assert_int_equal(keep[i]->value_len, 300);
        kc_message_destroy(keep[i]);
    }
}

static void test_seek(void **state)
{
    (void)state;
    kc_consumer_t *c = ctu_consumer(broker.addr, NULL);
    assert_non_null(c);
    assert_int_equal(ctu_assign1(c, "t3", 0, 50), 0);
    read_expect(c, "t3", 0, 50, 3, 0, 1, 0);
    assert_int_equal(kc_seek(c, "t3", 0, 10, 1000), 0);
    read_expect(c, "t3", 0, 10, 2, 0, 1, 0);
    assert_int_equal(kc_seek(c, "t3", 0, KC_OFFSET_BEGINNING, 1000), 0);
    read_expect(c, "t3", 0, 0, 1, 0, 1, 0);
    /* Not assigned: refused. */
    assert_int_equal(kc_seek(c, "t3", 1, 5, 1000), KC_ERR__UNKNOWN_PARTITION);
    kc_consumer_destroy(c);
}

static void test_pause_resume(void **state)
{
    (void)state;
    kc_consumer_t *c = ctu_consumer(broker.addr, NULL);
    assert_non_null(c);
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(2);
    kc_topic_partition_list_add(l, "t3", 0)->offset = 0;
    kc_topic_partition_list_add(l, "t3", 1)->offset = 0;
    assert_int_equal(kc_assign(c, l), 0);
    kc_topic_partition_list_t *p0 = kc_topic_partition_list_new(1);
    kc_topic_partition_list_add(p0, "t3", 0);
    assert_int_equal(kc_pause(c, p0), 0);
    /* Only partition 1 comes while 0 is paused. */
    for (int i = 0; i < 101; i++) {
        kc_message_t *m = ctu_next_record(c, 10000, NULL);
        assert_non_null(m);
        assert_int_equal(m->partition, 1);
        kc_message_destroy(m);
    }
    assert_null(ctu_next_record(c, 500, NULL));
    assert_int_equal(kc_resume(c, p0), 0);
    read_expect(c, "t3", 0, 0, 100, 0, 1, 0);

    /* Pausing mid-way drops what was fetched ahead and resumes from the
     * position. */
    assert_int_equal(kc_seek(c, "t3", 0, 20, 1000), 0);
    read_expect(c, "t3", 0, 20, 5, 0, 1, 0);
    assert_int_equal(kc_pause(c, p0), 0);
    assert_null(ctu_next_record(c, 300, NULL));
    assert_int_equal(kc_resume(c, p0), 0);
    read_expect(c, "t3", 0, 25, 5, 0, 1, 0);
    kc_topic_partition_list_destroy(p0);
    kc_topic_partition_list_destroy(l);
    kc_consumer_destroy(c);
}

static void test_offset_reset(void **state)
{
    (void)state;
    /* earliest: an offset past the end starts over at 0. */
    kc_consumer_t *c = ctu_consumer(broker.addr, "auto.offset.reset", "earliest", NULL);
    assert_non_null(c);
    assert_int_equal(ctu_assign1(c, "t3", 0, 5000), 0);
    read_expect(c, "t3", 0, 0, 2, 0, 1, 0);
    kc_consumer_destroy(c);

    /* error: an error event, no records. */
    c = ctu_consumer(broker.addr, "auto.offset.reset", "error", NULL);
    assert_non_null(c);
    assert_int_equal(ctu_assign1(c, "t3", 0, 5000), 0);
    assert_true(ctu_wait_event(c, KC_ERR_OFFSET_OUT_OF_RANGE, 10000));
    assert_null(ctu_next_record(c, 300, NULL));
    /* A seek gets it going again. */
    assert_int_equal(kc_seek(c, "t3", 0, 7, 1000), 0);
    read_expect(c, "t3", 0, 7, 1, 0, 1, 0);
    /* No committed offset without a group: auto.offset.reset=error again. */
    assert_int_equal(ctu_assign1(c, "t3", 0, KC_OFFSET_STORED), 0);
    assert_true(ctu_wait_event(c, KC_ERR__NOENT, 10000));
    kc_consumer_destroy(c);

    /* latest: out of range lands at the end; only new records come. */
    assert_int_equal(ctu_create_topic(broker.addr, "latest", 1), 0);
    assert_int_equal(ctu_produce(broker.addr, "latest", 0, 10, 0, "none", 0, 1, NULL, NULL), 0);
    c = ctu_consumer(broker.addr, "auto.offset.reset", "latest", "enable.partition.eof", "true",
                     NULL);
    assert_non_null(c);
    assert_int_equal(ctu_assign1(c, "latest", 0, KC_OFFSET_INVALID), 0);
    assert_true(ctu_wait_event(c, KC_ERR__PARTITION_EOF, 10000));
    assert_int_equal(ctu_produce(broker.addr, "latest", 0, 1, 10, "none", 0, 1, NULL, NULL), 0);
    read_expect(c, "latest", 0, 10, 1, 0, 1, 0);
    kc_consumer_destroy(c);
}

static void test_watermarks(void **state)
{
    (void)state;
    kc_consumer_t *c = ctu_consumer(broker.addr, NULL);
    assert_non_null(c);
    int64_t lo = -5, hi = -5;
    assert_int_equal(kc_query_watermark_offsets(c, "t3", 2, &lo, &hi, 10000), 0);
    assert_int_equal(lo, 0);
    assert_int_equal(hi, 100);
    /* None from a fetch yet. */
    assert_int_equal(kc_get_watermark_offsets(c, "t3", 2, &lo, &hi), KC_ERR__NOENT);
    assert_int_equal(hi, -1);
    assert_int_equal(ctu_assign1(c, "t3", 2, KC_OFFSET_END), 0);
    int64_t end = ctu_now_ms() + 10000;
    while (ctu_now_ms() < end && kc_get_watermark_offsets(c, "t3", 2, &lo, &hi) != 0)
        kc_message_destroy(kc_consumer_poll(c, 50));
    assert_int_equal(lo, 0);
    assert_int_equal(hi, 100);
    kc_topic_partition_list_t *pos = kc_topic_partition_list_new(1);
    kc_topic_partition_list_add(pos, "t3", 2);
    assert_int_equal(kc_position(c, pos), 0);
    assert_int_equal(pos->elems[0].offset, 100);
    kc_topic_partition_list_destroy(pos);
    /* Unknown partition: an error, not a hang. */
    assert_int_not_equal(kc_query_watermark_offsets(c, "t3", 9, &lo, &hi, 2000), 0);
    kc_consumer_destroy(c);
}

static void test_unassign_and_incremental(void **state)
{
    (void)state;
    kc_consumer_t *c = ctu_consumer(broker.addr, NULL);
    assert_non_null(c);
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(1);
    kc_topic_partition_list_add(l, "t3", 0)->offset = 0;
    assert_int_equal(kc_incremental_assign(c, l), 0);
    /* Twice: refused. */
    assert_int_equal(kc_incremental_assign(c, l), KC_ERR__INVALID_ARG);
    read_expect(c, "t3", 0, 0, 1, 0, 1, 0);
    assert_int_equal(kc_incremental_unassign(c, l), 0);
    assert_null(ctu_next_record(c, 300, NULL));
    kc_topic_partition_list_t *as = NULL;
    assert_int_equal(kc_assignment(c, &as), 0);
    assert_int_equal(as->cnt, 0);
    kc_topic_partition_list_destroy(as);
    /* Without a group, commits and subscriptions are refused. */
    assert_int_equal(kc_commit(c, NULL, 0), KC_ERR__INVALID_ARG);
    const char *topics[] = {"t3"};
    assert_int_equal(kc_subscribe(c, topics, 1), KC_ERR__INVALID_ARG);
    kc_topic_partition_list_destroy(l);
    kc_consumer_destroy(c);
}

/* An assigned partition whose leader is not known yet is fetched as soon as
 * the metadata names it, not retry.backoff.ms after it asked (20 s here, so
 * a record within 10 s shows the difference on any machine). */
static void test_first_fetch_when_metadata_arrives(void **state)
{
    (void)state;
    kc_consumer_t *c = ctu_consumer(broker.addr, "retry.backoff.ms", "20000",
                                    "retry.backoff.max.ms", "20000", NULL);
    assert_non_null(c);
    assert_int_equal(ctu_assign1(c, "t3", 0, KC_OFFSET_BEGINNING), 0);
    kc_message_t *m = ctu_next_record(c, 10000, NULL);
    assert_non_null(m);
    assert_int_equal(m->offset, 0);
    kc_message_destroy(m);
    kc_consumer_close(c);
    kc_consumer_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assign_reads_all_partitions_with_eof),
        cmocka_unit_test(test_headers_keys_values),
        cmocka_unit_test(test_every_codec),
        cmocka_unit_test(test_messages_outlive_consumer),
        cmocka_unit_test(test_seek),
        cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_offset_reset),
        cmocka_unit_test(test_watermarks),
        cmocka_unit_test(test_unassign_and_incremental),
        cmocka_unit_test(test_first_fetch_when_metadata_arrives),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
