/* Commits through the public API against a kc-broker process: metadata and
 * leader epochs read back with kc_committed, and a synchronous kc_commit
 * telling the caller which partitions failed (per element of its list, and
 * the whole call's error on every element). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client_test_util.h"
#include "test_client_consumer_util.h"

static tbroker_t broker;

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    if (tbroker_start(&broker) != 0) return -1;
    return ctu_create_topic(broker.addr, "ca", 3);
}

static int teardown(void **state)
{
    (void)state;
    tbroker_stop(&broker);
    return 0;
}

static kc_consumer_t *grouped(const char *bootstrap, const char *group)
{
    return ctu_consumer(bootstrap, "group.id", group, "enable.auto.commit", "false", NULL);
}

static void test_committed_reads_metadata_and_epoch(void **state)
{
    (void)state;
    kc_consumer_t *c = grouped(broker.addr, "g-md");
    assert_non_null(c);
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(3);
    kc_topic_partition_t *a = kc_topic_partition_list_add(l, "ca", 0);
    a->offset = 5;
    a->leader_epoch = 3;
    assert_int_equal(kc_topic_partition_set_metadata(l, a, "checkpoint-a"), 0);
    kc_topic_partition_list_add(l, "ca", 1)->offset = 9; /* no metadata, no epoch */
    kc_topic_partition_t *b = kc_topic_partition_list_add(l, "ca", 2);
    b->offset = 11;
    b->leader_epoch = 0;
    assert_int_equal(kc_topic_partition_set_metadata(l, b, "{\"by\":\"b\"}"), 0);
    assert_int_equal(kc_commit(c, l, 0), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(l->elems[i].err, 0);
    kc_topic_partition_list_destroy(l);
    kc_consumer_destroy(c);

    /* Another member of the group reads them back; what the list held
     * before (a metadata string of its own) is replaced. */
    c = grouped(broker.addr, "g-md");
    assert_non_null(c);
    l = kc_topic_partition_list_new(3);
    for (int p = 0; p < 3; p++)
        assert_int_equal(
            kc_topic_partition_set_metadata(l, kc_topic_partition_list_add(l, "ca", p), "stale"),
            0);
    assert_int_equal(kc_committed(c, l, 10000), 0);
    assert_int_equal(l->elems[0].err, 0);
    assert_int_equal(l->elems[0].offset, 5);
    assert_int_equal(l->elems[0].leader_epoch, 3);
    assert_non_null(l->elems[0].metadata);
    assert_string_equal(l->elems[0].metadata, "checkpoint-a");
    assert_int_equal(l->elems[1].offset, 9);
    assert_int_equal(l->elems[1].leader_epoch, -1);
    /* A commit without metadata sends the empty string. */
    assert_non_null(l->elems[1].metadata);
    assert_string_equal(l->elems[1].metadata, "");
    assert_int_equal(l->elems[2].offset, 11);
    assert_int_equal(l->elems[2].leader_epoch, 0);
    assert_string_equal(l->elems[2].metadata, "{\"by\":\"b\"}");
    /* The strings belong to the list: a copy carries them. */
    kc_topic_partition_list_t *copy = kc_topic_partition_list_copy(l);
    assert_non_null(copy);
    assert_string_equal(copy->elems[0].metadata, "checkpoint-a");
    kc_topic_partition_list_destroy(copy);
    kc_topic_partition_list_destroy(l);
    kc_consumer_destroy(c);
}

static void test_commit_reports_each_partition(void **state)
{
    (void)state;
    kc_consumer_t *c = grouped(broker.addr, "g-perr");
    assert_non_null(c);
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(4);
    kc_topic_partition_list_add(l, "ca", 1)->offset = 7;
    kc_topic_partition_list_add(l, "no-such-topic", 0)->offset = 1;
    kc_topic_partition_list_add(l, "ca", 42)->offset = 1; /* no such partition */
    kc_topic_partition_list_add(l, "ca", 2)->offset = 8;
    /* Whatever the caller left in err is overwritten with the result. */
    for (int i = 0; i < l->cnt; i++)
        l->elems[i].err = KC_ERR__STATE;
    assert_int_equal(kc_commit(c, l, 0), KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(l->elems[0].err, 0);
    assert_int_equal(l->elems[1].err, KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(l->elems[2].err, KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(l->elems[3].err, 0);
    /* The caller's offsets are left as they were. */
    assert_int_equal(l->elems[0].offset, 7);
    assert_int_equal(l->elems[1].offset, 1);
    kc_topic_partition_list_destroy(l);

    /* The partitions that succeeded were committed. */
    l = kc_topic_partition_list_new(2);
    kc_topic_partition_list_add(l, "ca", 1);
    kc_topic_partition_list_add(l, "ca", 2);
    assert_int_equal(kc_committed(c, l, 10000), 0);
    assert_int_equal(l->elems[0].offset, 7);
    assert_int_equal(l->elems[1].offset, 8);
    kc_topic_partition_list_destroy(l);

    /* async=1 leaves the list alone (the commit callback has the results). */
    l = kc_topic_partition_list_new(1);
    kc_topic_partition_list_add(l, "no-such-topic", 0)->offset = 1;
    l->elems[0].err = KC_ERR__STATE;
    assert_int_equal(kc_commit(c, l, 1), 0);
    assert_int_equal(l->elems[0].err, KC_ERR__STATE);
    kc_topic_partition_list_destroy(l);
    kc_consumer_destroy(c);
}

/* No coordinator ever answers: the whole call's error reaches every
 * element. */
static void test_commit_call_error_on_every_partition(void **state)
{
    (void)state;
    char bootstrap[64];
    snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:%d", closed_port());
    kc_consumer_t *c = ctu_consumer(bootstrap, "group.id", "g-none", "enable.auto.commit", "false",
                                    "socket.timeout.ms", "300", NULL);
    assert_non_null(c);
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(2);
    kc_topic_partition_list_add(l, "ca", 0)->offset = 1;
    kc_topic_partition_list_add(l, "ca", 1)->offset = 2;
    kc_err_t err = kc_commit(c, l, 0);
    assert_int_not_equal(err, 0);
    assert_int_equal(l->elems[0].err, err);
    assert_int_equal(l->elems[1].err, err);
    kc_topic_partition_list_destroy(l);
    kc_consumer_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_committed_reads_metadata_and_epoch),
        cmocka_unit_test(test_commit_reports_each_partition),
        cmocka_unit_test(test_commit_call_error_on_every_partition),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
