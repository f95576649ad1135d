/* The file-backed partition log: appends, reads, rolls, reopen, fetch
 * limits, errors. Every test works in its own temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <linux/magic.h>
#include <sys/resource.h>
#include <sys/statfs.h>

#include "storage/segment.h"
#include "test_broker_log_util.h"

/* Appends batches of 1..4 records and varying sizes: many segment rolls. */
static void fill(tlog_t *t, int batches)
{
    for (int i = 0; i < batches; i++)
        tlog_append(t, 1 + i % 4, 1000 + 10 * i, (size_t)(10 + (i * 37) % 90), 0);
}

/* Every offset reads back the batch holding it, first. */
static void check_every_offset(tlog_t *t)
{
    broker_log_offsets_t o;
    broker_log_offsets(t->log, &o);
    for (int64_t off = o.start; off < o.end; off++) {
        uint8_t *buf;
        size_t len;
        int64_t first;
        assert_int_equal(tlog_read(t, off, -1, 1, &buf, &len, &first), 0);
        long i = tlog_batch_of(t, off);
        assert_true(i >= 0);
        assert_true(first == t->b[i].base);
        assert_int_equal(len, t->b[i].len); /* max_bytes 1: the first batch, whole */
        assert_memory_equal(buf, t->b[i].bytes, len);
        free(buf);
    }
}

static void test_append_read_across_rolls(void **state)
{
    tlog_t *t = tlog_new(1000, 0);
    fill(t, 120);
    broker_log_offsets_t o;
    broker_log_offsets(t->log, &o);
    assert_true(o.start == 0);
    assert_true(o.end == t->b[t->n - 1].last + 1);
    assert_true(o.segments > 10);
    for (size_t i = 1; i < t->n; i++)
        assert_true(t->b[i].base == t->b[i - 1].last + 1);
    int64_t total = 0;
    for (size_t i = 0; i < t->n; i++)
        total += (int64_t)t->b[i].len;
    assert_true(o.bytes == total);
    tlog_check_all(t, 0);
    check_every_offset(t);
    /* Segment files are named by base offset, 20 digits, and each stays
     * within log.segment.bytes. */
    char path[512];
    tlog_file_path(t, 0, ".log", path, sizeof(path));
    assert_true(tlog_file_size(path) > 0 && tlog_file_size(path) <= 1000);
    tlog_free(t);
}

static void test_index_intervals(void **state)
{
    /* Sparse and dense indexes give the same answers, before and after a
     * reopen (loaded from the files). */
    int32_t intervals[] = {0, 1, 150, 4096};
    for (size_t k = 0; k < sizeof(intervals) / sizeof(intervals[0]); k++) {
        tlog_t *t = tlog_new(2000, intervals[k]);
        fill(t, 80);
        check_every_offset(t);
        tlog_close(t);
        tlog_open(t, 0);
        check_every_offset(t);
        tlog_free(t);
    }
}

static void test_reopen_after_clean_close(void **state)
{
    tlog_t *t = tlog_new(1000, 100);
    fill(t, 60);
    broker_log_offsets_t before, after;
    broker_log_offsets(t->log, &before);
    tlog_close(t);
    char path[512];
    snprintf(path, sizeof(path), "%s/clean-shutdown", t->dir);
    assert_true(tlog_file_size(path) == 0);
    tlog_open(t, 0);
    assert_true(tlog_file_size(path) < 0); /* taken on open: a crash now is unclean */
    broker_log_offsets(t->log, &after);
    assert_true(after.start == before.start);
    assert_true(after.end == before.end);
    assert_true(after.bytes == before.bytes);
    assert_int_equal(after.segments, before.segments);
    assert_true(after.flushed == after.end);
    tlog_check_all(t, 0);
    fill(t, 10); /* appends go on at the same end */
    assert_true(t->b[60].base == before.end);
    tlog_check_all(t, 0);
    check_every_offset(t);
    tlog_free(t);
}

static void test_fetch_max_bytes(void **state)
{
    tlog_t *t = tlog_new(1 << 20, 4096);
    for (int i = 0; i < 10; i++)
        tlog_append(t, 2, 1000 + i, 100, 0);
    size_t bl = t->b[0].len; /* all the same size */
    uint8_t *buf;
    size_t len;
    int64_t first;

    /* KIP-74: a first batch larger than max_bytes comes whole. */
    assert_int_equal(tlog_read(t, 0, -1, 10, &buf, &len, &first), 0);
    assert_int_equal(len, bl);
    free(buf);
    assert_int_equal(tlog_read(t, 0, -1, 0, &buf, &len, &first), 0);
    assert_int_equal(len, bl);
    free(buf);
    /* Otherwise max_bytes holds, with whole batches only (none is cut). */
    assert_int_equal(tlog_read(t, 0, -1, bl * 3 + bl / 2, &buf, &len, &first), 0);
    assert_int_equal(len, bl * 3);
    assert_memory_equal(buf, t->b[0].bytes, bl);
    assert_memory_equal(buf + 2 * bl, t->b[2].bytes, bl);
    free(buf);
    assert_int_equal(tlog_read(t, 0, -1, bl * 4, &buf, &len, &first), 0);
    assert_int_equal(len, bl * 4);
    free(buf);
    assert_int_equal(tlog_read(t, 0, -1, bl * 4 - 1, &buf, &len, &first), 0);
    assert_int_equal(len, bl * 3);
    free(buf);
    /* An offset inside a batch starts at that batch. */
    assert_int_equal(tlog_read(t, 5, -1, bl * 2, &buf, &len, &first), 0);
    assert_true(first == 4);
    assert_int_equal(len, bl * 2);
    assert_memory_equal(buf, t->b[2].bytes, bl);
    free(buf);
    /* max_offset (a high watermark) stops before the batch at it. */
    assert_int_equal(tlog_read(t, 0, 6, 1 << 20, &buf, &len, &first), 0);
    assert_int_equal(len, bl * 3);
    free(buf);
    assert_int_equal(tlog_read(t, 6, 6, 1 << 20, &buf, &len, &first), 0);
    assert_int_equal(len, 0);
    free(buf);
    /* Everything, when it fits. */
    assert_int_equal(tlog_read(t, 0, -1, 1 << 20, &buf, &len, &first), 0);
    assert_int_equal(len, bl * 10);
    free(buf);
    tlog_free(t);
}

static void test_fetch_stays_in_one_segment(void **state)
{
    /* Like Kafka, one read covers one segment; the next read continues. */
    tlog_t *t = tlog_new(700, 0);
    fill(t, 30);
    uint8_t *buf;
    size_t len;
    int64_t first;
    assert_int_equal(tlog_read(t, 0, -1, 1 << 20, &buf, &len, &first), 0);
    char path[512];
    tlog_file_path(t, 0, ".log", path, sizeof(path));
    assert_true((int64_t)len == tlog_file_size(path));
    free(buf);
    tlog_check_all(t, 0);
    tlog_free(t);
}

static void test_out_of_range(void **state)
{
    tlog_t *t = tlog_new(1000, 0);
    fill(t, 5);
    broker_log_offsets_t o;
    broker_log_offsets(t->log, &o);
    uint8_t *buf;
    size_t len;
    int64_t first;
    assert_int_equal(tlog_read(t, o.end + 1, -1, 100, &buf, &len, &first),
                     KC_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(tlog_read(t, -1, -1, 100, &buf, &len, &first), KC_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(tlog_read(t, o.end, -1, 100, &buf, &len, &first), 0);
    assert_int_equal(len, 0);
    free(buf);
    tlog_free(t);
}

static void test_bad_appends(void **state)
{
    tlog_t *t = tlog_new(1000, 0);
    char err[256] = "";
    broker_log_append_info_t info;
    /* A batch larger than a segment. */
    tlog_build(t, 1, 0, 2000);
    assert_int_equal(broker_log_append(t->log, t->w.data, t->w.len, 0, &info, err, sizeof(err)),
                     KC_ERR_RECORD_LIST_TOO_LARGE);
    assert_non_null(strstr(err, "log.segment.bytes"));
    /* Not whole batches: cut short, trailing bytes, wrong magic, empty. */
    tlog_build(t, 2, 0, 20);
    assert_int_equal(broker_log_append(t->log, t->w.data, t->w.len - 1, 0, &info, err, sizeof(err)),
                     KC_ERR_CORRUPT_MESSAGE);
    uint8_t junk[512];
    memcpy(junk, t->w.data, t->w.len);
    junk[t->w.len] = 0;
    assert_int_equal(broker_log_append(t->log, junk, t->w.len + 1, 0, &info, err, sizeof(err)),
                     KC_ERR_CORRUPT_MESSAGE);
    junk[PROTO_BATCH_MAGIC_OFFSET] = 1;
    assert_int_equal(broker_log_append(t->log, junk, t->w.len, 0, &info, err, sizeof(err)),
                     KC_ERR_CORRUPT_MESSAGE);
    assert_int_equal(broker_log_append(t->log, junk, 0, 0, &info, err, sizeof(err)),
                     KC_ERR_CORRUPT_MESSAGE);
    broker_log_offsets_t o;
    broker_log_offsets(t->log, &o);
    assert_true(o.end == 0 && o.bytes == 0);
    /* Two batches in one append take consecutive offsets. */
    uint8_t two[1024];
    tlog_build(t, 3, 0, 20);
    size_t a = t->w.len;
    memcpy(two, t->w.data, a);
    tlog_build(t, 2, 0, 20);
    memcpy(two + a, t->w.data, t->w.len);
    assert_int_equal(broker_log_append(t->log, two, a + t->w.len, 0, &info, err, sizeof(err)), 0);
    assert_true(info.base_offset == 0 && info.last_offset == 4);
    proto_batch_header_t h;
    assert_int_equal(proto_batch_header_parse(two + a, t->w.len, &h, NULL, 0), 0);
    assert_true(h.base_offset == 3);
    tlog_free(t);
}

static void test_roll_by_age(void **state)
{
    tlog_t *t = tlog_new(1 << 20, 0);
    t->conf.roll_ms = 1000;
    tlog_close(t);
    tlog_open(t, 0);
    /* Batches stamped with the append time: the first one's timestamp
     * starts the segment's clock, as in Kafka. */
    tlog_append(t, 1, 0, 10, 0);
    tlog_append(t, 1, 900, 10, 900);
    broker_log_offsets_t o;
    broker_log_offsets(t->log, &o);
    assert_int_equal(o.segments, 1);
    tlog_append(t, 1, 1001, 10, 1001);
    broker_log_offsets(t->log, &o);
    assert_int_equal(o.segments, 2);
    char path[512];
    tlog_file_path(t, 2, ".log", path, sizeof(path));
    assert_true(tlog_file_size(path) > 0);
    /* Batches without timestamps count from the segment's creation. */
    tlog_append(t, 1, -1, 10, 2002);
    broker_log_offsets(t->log, &o);
    assert_int_equal(o.segments, 3);
    tlog_append(t, 1, -1, 10, 3002);
    broker_log_offsets(t->log, &o);
    assert_int_equal(o.segments, 3);
    tlog_append(t, 1, -1, 10, 3003);
    broker_log_offsets(t->log, &o);
    assert_int_equal(o.segments, 4);
    tlog_check_all(t, 0);
    tlog_free(t);
}

static void test_flush_reports_offset(void **state)
{
    tlog_t *t = tlog_new(500, 0);
    fill(t, 20);
    int64_t flushed = -1;
    char err[256];
    assert_int_equal(broker_log_flush(t->log, &flushed, err, sizeof(err)), 0);
    broker_log_offsets_t o;
    broker_log_offsets(t->log, &o);
    assert_true(flushed == o.end && o.flushed == o.end);
    tlog_append(t, 1, 0, 10, 0);
    broker_log_offsets(t->log, &o);
    assert_true(o.flushed == flushed && o.end == flushed + 1);
    tlog_free(t);
}

static void test_open_errors(void **state)
{
    broker_log_conf_t conf;
    broker_log_conf_defaults(&conf);
    broker_log_t *log = NULL;
    char err[512] = "";
    assert_int_equal(
        broker_file_log_open("/nonexistent-kc/dir/topic-0", &conf, 0, &log, err, sizeof(err)),
        KC_ERR_KAFKA_STORAGE_ERROR);
    assert_null(log);
    assert_non_null(strstr(err, "No such file or directory"));
    conf.segment_bytes = 10;
    assert_int_equal(broker_file_log_open("/tmp", &conf, 0, &log, err, sizeof(err)), KC_ERR__CONF);

    char buf[64];
    assert_int_equal(broker_log_dir_path(buf, sizeof(buf), "/data", "orders", 7), 0);
    assert_string_equal(buf, "/data/orders-7");
    assert_int_equal(broker_log_dir_path(buf, sizeof(buf), "/data", "..", 7), KC_ERR__INVALID_ARG);
    assert_int_equal(broker_log_dir_path(buf, sizeof(buf), "/data", "a/b", 7), KC_ERR__INVALID_ARG);
    assert_int_equal(broker_log_dir_path(buf, 8, "/data", "orders", 7), KC_ERR__INVALID_ARG);
}

static void test_full_index_rolls(void **state)
{
    tlog_t *t = tlog_new(1 << 20, 0); /* every batch indexed */
    t->conf.index_max_bytes = 24;     /* two time entries, three offset entries */
    tlog_close(t);
    tlog_open(t, 0);
    for (int i = 0; i < 9; i++)
        tlog_append(t, 1, 1000 + i, 10, 0);
    broker_log_offsets_t o;
    broker_log_offsets(t->log, &o);
    assert_int_equal(o.segments, 5);
    tlog_check_all(t, 0);
    tlog_free(t);
}

static void test_tiny_segment_refuses_batches(void **state)
{
    tlog_t *t = tlog_new(14, 0); /* Kafka's minimum: opens, holds no batch */
    tlog_build(t, 1, 0, 1);
    broker_log_append_info_t info;
    assert_int_equal(broker_log_append(t->log, t->w.data, t->w.len, 0, &info, NULL, 0),
                     KC_ERR_RECORD_LIST_TOO_LARGE);
    tlog_free(t);
}

static void test_write_error(void **state)
{
    /* A file size limit makes the write fail half-way (EFBIG): the append
     * fails with the errno text, and leaves no partial batch behind. */
    tlog_t *t = tlog_new(1 << 20, 0);
    tlog_append(t, 1, 0, 10, 0);
    char path[512];
    tlog_file_path(t, 0, ".log", path, sizeof(path));
    int64_t size = tlog_file_size(path);
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)size + 30;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    tlog_build(t, 1, 0, 100);
    char err[256] = "";
    broker_log_append_info_t info;
    int rc = broker_log_append(t->log, t->w.data, t->w.len, 0, &info, err, sizeof(err));
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    assert_int_equal(rc, KC_ERR_KAFKA_STORAGE_ERROR);
    assert_non_null(strstr(err, "File too large"));
    assert_true(tlog_file_size(path) == size);
    broker_log_offsets_t o;
    broker_log_offsets(t->log, &o);
    assert_true(o.end == 1 && o.bytes == size);
    tlog_append(t, 1, 0, 100, 0);
    assert_true(t->b[1].base == 1);
    tlog_check_all(t, 0);
    tlog_free(t);
}

struct flusher {
    broker_log_flush_t *ticket;
    int rc;
};

static void *flush_thread(void *arg)
{
    struct flusher *f = arg;
    char err[256];
    f->rc = broker_log_flush_run(f->ticket, err, sizeof(err));
    return NULL;
}

static void test_flush_in_steps(void **state)
{
    /* The fsyncs run on another thread while the log takes appends; the
     * flushed offset moves only to what the ticket covered. */
    tlog_t *t = tlog_new(1000, 0);
    fill(t, 10);
    char err[256];
    broker_log_flush_t *ticket, *second;
    assert_int_equal(broker_log_flush_begin(t->log, &ticket, err, sizeof(err)), 0);
    broker_log_offsets_t o;
    broker_log_offsets(t->log, &o);
    assert_true(ticket->end == o.end);
    assert_int_equal(broker_log_flush_begin(t->log, &second, err, sizeof(err)), KC_ERR__STATE);
    struct flusher f = {ticket, -1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, flush_thread, &f), 0);
    fill(t, 20); /* rolls segments meanwhile */
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(f.rc, 0);
    int64_t flushed = -1;
    assert_int_equal(broker_log_flush_end(t->log, ticket, f.rc, &flushed), 0);
    assert_true(flushed == o.end);
    broker_log_offsets_t o2;
    broker_log_offsets(t->log, &o2);
    assert_true(o2.flushed == o.end && o2.end > o.end);
    /* The next flush takes the rest. */
    assert_int_equal(broker_log_flush(t->log, &flushed, err, sizeof(err)), 0);
    assert_true(flushed == o2.end);
    /* A failed sync takes the log offline for appends. */
    assert_int_equal(broker_log_flush_begin(t->log, &ticket, err, sizeof(err)), 0);
    assert_int_equal(broker_log_flush_end(t->log, ticket, KC_ERR_KAFKA_STORAGE_ERROR, NULL),
                     KC_ERR_KAFKA_STORAGE_ERROR);
    tlog_build(t, 1, 0, 10);
    assert_int_equal(broker_log_append(t->log, t->w.data, t->w.len, 0, NULL, err, sizeof(err)),
                     KC_ERR_KAFKA_STORAGE_ERROR);
    assert_non_null(strstr(err, "offline"));
    tlog_check_all(t, 0); /* reads go on */
    assert_int_equal(broker_log_close(t->log, err, sizeof(err)), KC_ERR_KAFKA_STORAGE_ERROR);
    t->log = NULL;
    tlog_open(t, 0); /* a reopen recovers */
    tlog_append(t, 1, 0, 10, 0);
    tlog_check_all(t, 0);
    tlog_free(t);
}

/* Reads come with the segment mapped (mem) as well as its descriptor; the
 * mapping grows as the active segment does, and a range taken before it grew
 * stays readable. The same bytes as pread gives. */
static void test_mapped_reads_follow_growth(void **state)
{
    (void)state;
    size_t step = broker_seg_map_step;
    broker_seg_map_step = 4096; /* a page: every few appends outgrow the mapping */
    tlog_t *t = tlog_new(1 << 20, 0);
    char err[256];
    broker_log_range_t held;
    fill(t, 4);
    assert_int_equal(broker_log_read(t->log, 0, -1, 1 << 20, &held, err, sizeof(err)), 0);
    assert_non_null(held.mem);
    assert_true(held.fd >= 0);
    size_t held_len = held.len;
    fill(t, 40); /* well past the first mapping */
    broker_log_offsets_t o;
    broker_log_offsets(t->log, &o);
    broker_log_range_t r;
    assert_int_equal(broker_log_read(t->log, 0, -1, 1 << 20, &r, err, sizeof(err)), 0);
    assert_non_null(r.mem);
    assert_true(r.len > 4 * held_len);
    uint8_t *file = malloc(r.len);
    assert_non_null(file);
    assert_int_equal(pread(r.fd, file, r.len, r.pos), (ssize_t)r.len);
    assert_memory_equal(r.mem, file, r.len);
    assert_memory_equal(held.mem, file, held_len); /* the older mapping still serves */
    free(file);
    broker_log_range_release(&r);
    broker_log_range_release(&held);
    tlog_check_all(t, 0);
    tlog_free(t);
    broker_seg_map_step = step;
}

/* Past broker_seg_map_max live mappings a segment is not mapped: its reads
 * come with the descriptor only, and read the same. Freed segments give
 * their mappings back. */
static void test_mapping_cap(void **state)
{
    (void)state;
    int max = broker_seg_map_max;
    int before = broker_seg_maps_live();
    broker_seg_map_max = before + 1;
    tlog_t *t = tlog_new(1000, 0);
    fill(t, 40); /* several segments */
    char err[256];
    broker_log_range_t a, b;
    assert_int_equal(broker_log_read(t->log, 0, -1, 1 << 20, &a, err, sizeof(err)), 0);
    assert_non_null(a.mem); /* the one mapping allowed */
    int64_t later = t->b[t->n - 1].base;
    assert_int_equal(broker_log_read(t->log, later, -1, 1 << 20, &b, err, sizeof(err)), 0);
    assert_null(b.mem); /* another segment: over the cap */
    assert_true(b.fd >= 0);
    broker_log_range_release(&a);
    broker_log_range_release(&b);
    tlog_check_all(t, 0); /* every read still right, through pread */
    tlog_free(t);
    assert_int_equal(broker_seg_maps_live(), before);
    broker_seg_map_max = max;
}

static int64_t disk_bytes(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (int64_t)st.st_blocks * 512;
}

static int is_memory_fs(const char *dir)
{
    struct statfs sf;
    assert_int_equal(statfs(dir, &sf), 0);
    return sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC;
}

/* On a disk, appends reserve blocks ahead (fallocate, the file's size
 * unchanged), never past log.segment.bytes, and sealing a segment (a roll, a
 * close) gives back what it did not use. On tmpfs nothing is reserved: there
 * fallocate would take the memory itself. */
static void check_reservation(const char *base)
{
    tlog_t *t = tlog_new_in(base, 32 << 20, 0);
    fill(t, 3);
    char path[512];
    tlog_file_path(t, 0, ".log", path, sizeof(path));
    int64_t size = tlog_file_size(path);
    assert_true(size > 0 && size < 4096);
    if (is_memory_fs(t->dir)) {
        assert_true(disk_bytes(path) <= 8192);
        tlog_free(t);
        return;
    }
    if (disk_bytes(path) < BROKER_SEG_RESERVE_STEP) {
        print_message("no fallocate on %s: reservation not checked\n", t->dir);
        tlog_free(t);
        return;
    }
    tlog_check_all(t, 0); /* readers see the bytes written, nothing more */
    tlog_close(t);
    assert_true(tlog_file_size(path) == size);
    assert_true(disk_bytes(path) < 64 * 1024);
    tlog_open(t, 0);
    fill(t, 3);
    tlog_check_all(t, 0);
    tlog_free(t);

    /* Small segments: the reservation stops at log.segment.bytes, and every
     * rolled segment is down to its size. */
    t = tlog_new_in(base, 1000, 0);
    fill(t, 40);
    broker_log_offsets_t o;
    broker_log_offsets(t->log, &o);
    assert_true(o.segments > 5);
    for (size_t i = 0; i < t->n; i++) {
        tlog_file_path(t, t->b[i].base, ".log", path, sizeof(path));
        if (tlog_file_size(path) >= 0) assert_true(disk_bytes(path) <= 8192);
    }
    tlog_free(t);
}

static void test_space_reserved_ahead_and_given_back(void **state)
{
    (void)state;
    /* /var/tmp is on disk on Debian; KC_TEST_DISKDIR names another place. */
    const char *disk = getenv("KC_TEST_DISKDIR");
    check_reservation(disk ? disk : "/var/tmp");
    if (access("/dev/shm", W_OK) == 0) {
        assert_true(is_memory_fs("/dev/shm"));
        check_reservation("/dev/shm");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_read_across_rolls),
        cmocka_unit_test(test_mapped_reads_follow_growth),
        cmocka_unit_test(test_mapping_cap),
        cmocka_unit_test(test_space_reserved_ahead_and_given_back),
        cmocka_unit_test(test_index_intervals),
        cmocka_unit_test(test_reopen_after_clean_close),
        cmocka_unit_test(test_fetch_max_bytes),
        cmocka_unit_test(test_fetch_stays_in_one_segment),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_bad_appends),
        cmocka_unit_test(test_roll_by_age),
        cmocka_unit_test(test_flush_reports_offset),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_full_index_rolls),
        cmocka_unit_test(test_tiny_segment_refuses_batches),
        cmocka_unit_test(test_write_error),
        cmocka_unit_test(test_flush_in_steps),
    };
    return cmocka_run_group_tests(tests, NULL, tlog_teardown);
}
