/* Idempotent producers through the protocol: InitProducerId, sequences,
 * retries answered with their original offsets, gaps, fencing by epoch, and
 * producer state and ids across clean restarts and simulated crashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "broker_harness.h"
#include "kc/kc_err.h"
#include "produce_test_util.h"
#include "producers/producers.h"

static int setup(void **state)
{
    static harness_t h;
    static const char *const overrides[] = {"num.partitions=1", NULL};
    harness_start(&h, overrides);
    *state = &h;
    return 0;
}

static int teardown(void **state)
{
    harness_stop(*state);
    return 0;
}

/* An idempotent batch of `records` records at seq. */
static produce_result_t idem(int fd, const char *topic, int64_t pid, int16_t epoch, int32_t seq,
                             int records)
{
    batch_opts_t o = BATCH_OPTS_INIT;
    o.producer_id = pid;
    o.producer_epoch = epoch;
    o.base_sequence = seq;
    o.records = records;
    return produce_batch(fd, 9, topic, 0, &o);
}

static int64_t new_pid(int fd)
{
    int64_t pid = -1;
    int16_t epoch = -1;
    assert_int_equal(init_producer_id(fd, 4, -1, -1, &pid, &epoch), 0);
    assert_true(pid >= 0);
    assert_int_equal(epoch, 0);
    return pid;
}

static void test_init_producer_id_every_version(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    int64_t last = -1;
    for (int16_t v = 0; v <= 5; v++) {
        int64_t pid;
        int16_t epoch;
        assert_int_equal(init_producer_id(fd, v, -1, -1, &pid, &epoch), 0);
        assert_true(pid > last);
        assert_int_equal(epoch, 0);
        last = pid;
    }
    /* A transactional id: no transactions here, answered as Kafka does while
     * its transaction log is unavailable. */
    proto_init_producer_id_request_t req;
    proto_msg_init(&proto_init_producer_id_request_desc, &req);
    req.transactional_id = proto_str_of("tx-1");
    req.transaction_timeout_ms = 60000;
    proto_init_producer_id_response_t resp;
    proto_arena_t arena;
    proto_arena_init(&arena);
    uint8_t *frame = harness_call(fd, PROTO_API_INIT_PRODUCER_ID, 4, &req, &resp, &arena);
    assert_non_null(frame);
    assert_int_equal(resp.error_code, KC_ERR_COORDINATOR_NOT_AVAILABLE);
    free(frame);
    proto_arena_destroy(&arena);
    close(fd);
}

static void test_retry_returns_original_offset(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    int64_t pid = new_pid(fd);
    for (int i = 0; i < 5; i++) {
        produce_result_t r = idem(fd, "idem", pid, 0, i * 2, 2);
        assert_int_equal(r.error_code, 0);
        assert_int_equal(r.base_offset, i * 2);
    }
    /* Every cached batch, retried, is answered with its offset, once. */
    for (int i = 0; i < 5; i++) {
        produce_result_t r = idem(fd, "idem", pid, 0, i * 2, 2);
        assert_int_equal(r.error_code, 0);
        assert_int_equal(r.base_offset, i * 2);
    }
    assert_int_equal(idem(fd, "idem", pid, 0, 10, 1).base_offset, 10); /* the log grew once */
    /* seq 0 is now older than the five cached batches: not a duplicate Kafka
     * can prove, so out of order. */
    assert_int_equal(idem(fd, "idem", pid, 0, 0, 2).error_code,
                     KC_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    close(fd);
}

static void test_gap_rejected(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    int64_t pid = new_pid(fd);
    assert_int_equal(idem(fd, "gaps", pid, 0, 0, 3).error_code, 0);
    produce_result_t r = idem(fd, "gaps", pid, 0, 4, 1);
    assert_int_equal(r.error_code, KC_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_int_equal(r.base_offset, -1);
    r = idem(fd, "gaps", pid, 0, 3, 1);
    assert_int_equal(r.error_code, 0);
    assert_int_equal(r.base_offset, 3);
    /* An overlapping batch that is not one of the cached ones. */
    assert_int_equal(idem(fd, "gaps", pid, 0, 2, 2).error_code,
                     KC_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    close(fd);
}

static void test_unknown_producer_any_sequence(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    int64_t pid = new_pid(fd);
    /* Kafka 2.5+ (KIP-360): a producer the partition has no state for may
     * start anywhere (its state may have been removed by retention). */
    produce_result_t r = idem(fd, "fresh", pid, 0, 41, 2);
    assert_int_equal(r.error_code, 0);
    assert_int_equal(idem(fd, "fresh", pid, 0, 43, 1).error_code, 0);
    close(fd);
}

static void test_sequence_wraps(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    int64_t pid = new_pid(fd);
    assert_int_equal(idem(fd, "wrap", pid, 0, INT32_MAX - 1, 2).error_code, 0);
    assert_int_equal(idem(fd, "wrap", pid, 0, 0, 1).error_code, 0);
    /* A batch that wraps inside itself. */
    assert_int_equal(broker_producers_last_seq(INT32_MAX - 1, 3), 1);
    close(fd);
}

static void test_epochs(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    int64_t pid = new_pid(fd), pid2;
    int16_t epoch;
    assert_int_equal(idem(fd, "epochs", pid, 0, 0, 2).error_code, 0);
    /* KIP-360: the producer presents its id and epoch and gets the next epoch. */
    assert_int_equal(init_producer_id(fd, 4, pid, 0, &pid2, &epoch), 0);
    assert_int_equal(pid2, pid);
    assert_int_equal(epoch, 1);
    /* The new epoch must start at 0. */
    assert_int_equal(idem(fd, "epochs", pid, 1, 2, 1).error_code,
                     KC_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_int_equal(idem(fd, "epochs", pid, 1, 0, 1).error_code, 0);
    /* The old epoch is fenced, retries of its batches included. */
    assert_int_equal(idem(fd, "epochs", pid, 0, 2, 1).error_code, KC_ERR_INVALID_PRODUCER_EPOCH);
    assert_int_equal(idem(fd, "epochs", pid, 0, 0, 2).error_code, KC_ERR_INVALID_PRODUCER_EPOCH);
    /* At the last epoch a new id is handed out; an id never issued here
     * gets a new one too. */
    assert_int_equal(init_producer_id(fd, 3, pid, BROKER_PRODUCER_EPOCH_MAX, &pid2, &epoch), 0);
    assert_true(pid2 != pid);
    assert_int_equal(epoch, 0);
    assert_int_equal(init_producer_id(fd, 3, 1LL << 40, 3, &pid2, &epoch), 0);
    assert_true(pid2 != (1LL << 40));
    assert_int_equal(epoch, 0);
    close(fd);
}

static void test_expiry(void **state)
{
    (void)state;
    harness_t h;
    static const char *const overrides[] = {"producer.id.expiration.ms=1", NULL};
    harness_start(&h, overrides);
    int fd = harness_connect(&h);
    int64_t pid = new_pid(fd);
    assert_int_equal(idem(fd, "expire", pid, 0, 0, 1).error_code, 0);
    /* Idle for at least 1 ms: forgotten, so any sequence is accepted again
     * (and a retry is no longer recognised). Poll rather than sleep: the
     * state is gone once a gap is accepted. */
    int accepted = 0;
    for (int i = 0; i < 1000 && !accepted; i++) {
        usleep(2000);
        accepted = idem(fd, "expire", pid, 0, 100 + i * 10, 1).error_code == 0;
    }
    assert_true(accepted);
    close(fd);
    harness_stop(&h);
}

/* ---- Restarts ------------------------------------------------------------------- */

/* Simulates a kill -9 for the producer state: the states are dropped, so the
 * shutdown that follows writes no snapshot and the next start must rebuild
 * them from the log (and whatever older snapshot is on disk). */
static void lose_producer_state(harness_t *h)
{
    size_t it = 0;
    broker_topic_t *t;
    while (util_hmap_next(&h->broker->topics, &it, NULL, NULL, (void **)&t))
        for (int32_t i = 0; i < t->partition_count; i++)
            broker_producers_free(t->partitions[i]);
}

static int snapshot_exists(harness_t *h, const char *name)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof(path), "%s/kc-metadata/producers/%s", h->dir, name);
    return stat(path, &st) == 0;
}

static void test_state_survives_restart(void **state)
{
    (void)state;
    harness_t h;
    harness_start(&h, NULL);
    int fd = harness_connect(&h);
    int64_t pid = new_pid(fd);
    for (int i = 0; i < 3; i++)
        assert_int_equal(idem(fd, "keep", pid, 0, i, 1).base_offset, i);
    close(fd);
    harness_restart(&h);
    assert_true(snapshot_exists(&h, "keep-0"));
    fd = harness_connect(&h);
    produce_result_t r = idem(fd, "keep", pid, 0, 2, 1);
    assert_int_equal(r.error_code, 0);
    assert_int_equal(r.base_offset, 2); /* still a duplicate */
    assert_int_equal(idem(fd, "keep", pid, 0, 4, 1).error_code,
                     KC_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_int_equal(idem(fd, "keep", pid, 0, 3, 1).base_offset, 3);
    /* Ids never repeat across restarts. */
    int64_t pid2 = new_pid(fd);
    assert_true(pid2 > pid);
    close(fd);
    harness_stop(&h);
}

static void test_state_rebuilt_after_crash(void **state)
{
    (void)state;
    harness_t h;
    harness_start(&h, NULL);
    int fd = harness_connect(&h);
    int64_t pid = new_pid(fd);
    assert_int_equal(idem(fd, "crash", pid, 0, 0, 2).base_offset, 0);
    assert_int_equal(produce_one(fd, "crash", 0), 2); /* a plain batch between */
    assert_int_equal(idem(fd, "crash", pid, 0, 2, 3).base_offset, 3);
    close(fd);
    /* No snapshot ever written: the whole log is replayed. */
    lose_producer_state(&h);
    harness_restart(&h);
    fd = harness_connect(&h);
    produce_result_t r = idem(fd, "crash", pid, 0, 2, 3);
    assert_int_equal(r.error_code, 0);
    assert_int_equal(r.base_offset, 3);
    assert_int_equal(idem(fd, "crash", pid, 0, 0, 2).base_offset, 0);
    assert_int_equal(idem(fd, "crash", pid, 0, 6, 1).error_code,
                     KC_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    close(fd);
    /* Now a clean restart (snapshot), more appends, then a crash: the
     * snapshot plus the log after it. */
    harness_restart(&h);
    fd = harness_connect(&h);
    assert_int_equal(idem(fd, "crash", pid, 0, 5, 1).base_offset, 6);
    assert_int_equal(idem(fd, "crash", pid, 0, 6, 2).base_offset, 7);
    close(fd);
    lose_producer_state(&h);
    harness_restart(&h);
    fd = harness_connect(&h);
    assert_int_equal(idem(fd, "crash", pid, 0, 6, 2).base_offset, 7);
    assert_int_equal(idem(fd, "crash", pid, 0, 2, 3).base_offset, 3);
    assert_int_equal(idem(fd, "crash", pid, 0, 8, 1).base_offset, 9);
    /* Ids handed out before a crash are not handed out again. */
    int64_t pid2 = new_pid(fd);
    assert_true(pid2 > pid);
    close(fd);
    harness_stop(&h);
}

static void test_damaged_snapshot_ignored(void **state)
{
    (void)state;
    harness_t h;
    harness_start(&h, NULL);
    int fd = harness_connect(&h);
    int64_t pid = new_pid(fd);
    assert_int_equal(idem(fd, "damaged", pid, 0, 0, 1).base_offset, 0);
    assert_int_equal(idem(fd, "damaged", pid, 0, 1, 1).base_offset, 1);
    close(fd);
    harness_restart(&h);
    /* Break the snapshot while the broker is running, then crash. */
    char path[512];
    snprintf(path, sizeof(path), "%s/kc-metadata/producers/damaged-0", h.dir);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 30, SEEK_SET);
    fputc(0x77, f);
    fclose(f);
    lose_producer_state(&h);
    harness_restart(&h);
    fd = harness_connect(&h);
    assert_int_equal(idem(fd, "damaged", pid, 0, 1, 1).base_offset, 1);
    assert_int_equal(idem(fd, "damaged", pid, 0, 2, 1).base_offset, 2);
    close(fd);
    harness_stop(&h);
}

static void test_recreated_topic_starts_clean(void **state)
{
    (void)state;
    harness_t h;
    harness_start(&h, NULL);
    int fd = harness_connect(&h);
    int64_t pid = new_pid(fd);
    assert_int_equal(idem(fd, "again", pid, 0, 0, 1).base_offset, 0);
    close(fd);
    harness_restart(&h); /* writes again-0's snapshot */
    broker_topic_t *t = broker_topic_find(h.broker, proto_str_of("again"));
    char err[256];
    assert_int_equal(broker_topic_delete(h.broker, t, err, sizeof(err)), 0);
    fd = harness_connect(&h);
    /* Auto-created again, empty: the old snapshot (another topic id) must not
     * make seq 0 a duplicate of offset 0 of the deleted topic -- here both
     * would say offset 0, so produce two first. */
    assert_int_equal(produce_one(fd, "again", 0), 0);
    close(fd);
    lose_producer_state(&h);
    harness_restart(&h);
    fd = harness_connect(&h);
    produce_result_t r = idem(fd, "again", pid, 0, 0, 1);
    assert_int_equal(r.error_code, 0);
    assert_int_equal(r.base_offset, 1);
    close(fd);
    harness_stop(&h);
}

/* The log lost its tail after the snapshot was written (a machine crash
 * with unflushed data): the snapshot claims batches the log no longer has,
 * so it must be ignored, or a retry of a lost batch would be "acknowledged"
 * as a duplicate of data that is gone. */
static void test_snapshot_newer_than_log_ignored(void **state)
{
    (void)state;
    harness_t h;
    harness_start(&h, NULL);
    int fd = harness_connect(&h);
    int64_t pid = new_pid(fd);
    char path[512];
    assert_int_equal(idem(fd, "tail", pid, 0, 0, 1).base_offset, 0);
    assert_int_equal(idem(fd, "tail", pid, 0, 1, 1).base_offset, 1);
    close(fd);
    harness_shutdown_(&h); /* the snapshot covers offsets 0..1 */
    assert_true(snapshot_exists(&h, "tail-0"));
    /* The test batches carry 2023 timestamps, so log.roll.ms gave each batch
     * its own segment: losing the tail is losing the second segment. */
    static const char *const lost[] = {"00000000000000000001.log", "00000000000000000001.index",
                                       "00000000000000000001.timeindex", "clean-shutdown"};
    for (size_t i = 0; i < sizeof(lost) / sizeof(lost[0]); i++) {
        snprintf(path, sizeof(path), "%s/tail-0/%s", h.dir, lost[i]);
        unlink(path);
    }
    harness_start_(&h, NULL);
    fd = harness_connect(&h);
    produce_result_t r = idem(fd, "tail", pid, 0, 1, 1);
    assert_int_equal(r.error_code, 0);
    assert_int_equal(r.base_offset, 1);
    /* Appended again (offset 1 was lost), not answered as a duplicate. */
    assert_int_equal(produce_one(fd, "tail", 0), 2);
    assert_int_equal(idem(fd, "tail", pid, 0, 2, 1).base_offset, 3);
    close(fd);
    harness_stop(&h);
}

int main(void)
{
    (void)harness_closed; /* the harness's, unused here */
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(test_init_producer_id_every_version),
        cmocka_unit_test(test_retry_returns_original_offset),
        cmocka_unit_test(test_gap_rejected),
        cmocka_unit_test(test_unknown_producer_any_sequence),
        cmocka_unit_test(test_sequence_wraps),
        cmocka_unit_test(test_epochs),
    };
    const struct CMUnitTest alone[] = {
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_state_survives_restart),
        cmocka_unit_test(test_state_rebuilt_after_crash),
        cmocka_unit_test(test_damaged_snapshot_ignored),
        cmocka_unit_test(test_recreated_topic_starts_clean),
        cmocka_unit_test(test_snapshot_newer_than_log_ignored),
    };
    int failed = cmocka_run_group_tests_name("idempotence", shared, setup, teardown);
    failed += cmocka_run_group_tests_name("idempotence-restarts", alone, NULL, NULL);
    return failed;
}
