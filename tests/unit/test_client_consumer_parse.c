/* The poll-side reader (consumer_parse.c) on hand-made fetched data: legacy
 * message sets written by kafka-python (magic 0/1, every codec), records
 * before the fetch offset inside a compressed wrapper, read_committed
 * skipping aborted transactions and control batches, a partial trailing
 * batch, a bad CRC, and messages outliving the data they came in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consumer/consumer_int.h"
#include "proto_batch.h"
#include "proto_compress.h"

static cons_part_t part = {.topic = "t", .partition = 3};

static uint8_t *read_fixture(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/records/%s", KC_TEST_FIXTURES, name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

/* A DATA event over data (taken). */
static cons_ev_t *data_ev(uint8_t *data, size_t len, int64_t start)
{
    cons_ev_t *ev = calloc(1, sizeof(*ev));
    ev->type = CONS_EV_DATA;
    ev->part = &part;
    ev->buf = cons_buf_new(data);
    ev->data = data;
    ev->len = len;
    ev->start_offset = start;
    return ev;
}

/* Reads everything; messages go to out (caller destroys). */
static int read_ev(cons_ev_t *ev, int read_committed, kc_message_t **out, int max, kc_err_t *err)
{
    cons_reader_t rd = {0};
    cons_reader_start(&rd, ev, 1, read_committed);
    int n = 0;
    char es[256];
    kc_message_t *m;
    *err = 0;
    while ((m = cons_reader_next(&rd, err, es, sizeof(es)))) {
        assert_true(n < max);
        out[n++] = m;
    }
    cons_reader_end(&rd);
    cons_reader_free(&rd);
    return n;
}

static void hex(char *out, const void *p, size_t len, int is_null)
{
    if (is_null) {
        strcpy(out, "-");
        return;
    }
    if (len == 0) {
        strcpy(out, ".");
        return;
    }
    for (size_t i = 0; i < len; i++)
        sprintf(out + 2 * i, "%02x", ((const uint8_t *)p)[i]);
}

static void test_legacy_fixtures(void **state)
{
    (void)state;
    const char *names[] = {"v0_plain", "v1_plain",           "v0_gzip",
                           "v1_gzip",  "v1_gzip_log_append", "v1_snappy",
                           "v1_lz4",   "v0_lz4_kafka3160",   "mixed"};
    for (size_t f = 0; f < sizeof(names) / sizeof(names[0]); f++) {
        char bin[64], expn[64];
        snprintf(bin, sizeof(bin), "%s.bin", names[f]);
        snprintf(expn, sizeof(expn), "%s.expected", names[f]);
        size_t len, elen;
        uint8_t *data = read_fixture(bin, &len);
        char *exp = (char *)read_fixture(expn, &elen);
        cons_ev_t *ev = data_ev(data, len, 0);
        kc_message_t *msgs[64];
        kc_err_t err;
        int n = read_ev(ev, 0, msgs, 64, &err);
        assert_int_equal(err, 0);
        cons_ev_free(ev); /* the messages keep the data alive */
        char *line = exp;
        for (int i = 0; i < n; i++) {
            char *nl = strchr(line, '\n');
            assert_non_null(nl);
            *nl = '\0';
            char *k = malloc(2 * msgs[i]->key_len + 2), *v = malloc(2 * msgs[i]->value_len + 2);
            hex(k, msgs[i]->key, msgs[i]->key_len, msgs[i]->key == NULL);
            hex(v, msgs[i]->value, msgs[i]->value_len, msgs[i]->value == NULL);
            char got[8192];
            snprintf(got, sizeof(got), "%lld %lld %d %s %s", (long long)msgs[i]->offset,
                     (long long)msgs[i]->timestamp_ms, (int)msgs[i]->timestamp_type, k, v);
            assert_string_equal(got, line);
            assert_string_equal(msgs[i]->topic, "t");
            assert_int_equal(msgs[i]->partition, 3);
            free(k);
            free(v);
            line = nl + 1;
            kc_message_destroy(msgs[i]);
        }
        assert_string_equal(line, ""); /* every expected record came */
        free(exp);
    }
}

/* A fetch from an offset inside a compressed wrapper: the records before
 * it are not handed out again. */
static void test_start_offset_inside_wrapper(void **state)
{
    (void)state;
    size_t len;
    uint8_t *data = read_fixture("mixed.bin", &len);
    cons_ev_t *ev = data_ev(data, len, 907);
    kc_message_t *msgs[64];
    kc_err_t err;
    int n = read_ev(ev, 0, msgs, 64, &err);
    assert_int_equal(err, 0);
    assert_int_equal(n, 6); /* 907-909 of the gzip wrapper, 910-912 of the batch */
    for (int i = 0; i < n; i++) {
        assert_int_equal(msgs[i]->offset, 907 + i);
        kc_message_destroy(msgs[i]);
    }
    cons_ev_free(ev);
}

/* Appends a batch of n records at base, of producer pid (transactional
 * when pid >= 0), compressed with codec. */
static void put_batch(proto_wbuf_t *w, int64_t base, int n, int64_t pid, int codec)
{
    proto_batch_builder_t bb;
    proto_batch_params_t params = PROTO_BATCH_PARAMS_INIT;
    params.base_offset = base;
    if (pid >= 0) {
        params.producer_id = pid;
        params.producer_epoch = 0;
        params.base_sequence = 0;
        params.attributes = PROTO_BATCH_ATTR_TRANSACTIONAL;
    }
    assert_int_equal(proto_batch_builder_begin(&bb, w, &params), 0);
    for (int i = 0; i < n; i++) {
        char v[16];
        int vl = snprintf(v, sizeof(v), "r%lld", (long long)(base + i));
        proto_record_header_t h = {proto_str_of("hk"), proto_slice_of("hv", 2)};
        assert_int_equal(
            proto_batch_builder_append(&bb, 1700000000000LL + i, NULL, -1, v, vl, &h, 1), 0);
    }
    proto_wbuf_t scratch = {0};
    assert_int_equal(proto_batch_builder_finish(&bb, codec, -1, &scratch, NULL, 0), 0);
    proto_wbuf_free(&scratch);
}

static void put_control(proto_wbuf_t *w, int64_t offset, int64_t pid, int16_t type)
{
    size_t at = w->len;
    assert_int_equal(proto_batch_build_control(w, pid, 0, 1700000000000LL, type, 0), 0);
    /* The base offset is outside the CRC: set it as the broker does. */
    for (int i = 0; i < 8; i++)
        w->data[at + (size_t)i] = (uint8_t)((uint64_t)offset >> (56 - 8 * i));
}

static cons_ev_t *txn_ev(int codec)
{
    proto_wbuf_t w = {0};
    put_batch(&w, 0, 3, 1, codec); /* pid 1, aborted below */
    put_batch(&w, 3, 2, 2, codec); /* pid 2, committed */
    put_control(&w, 5, 1, PROTO_CONTROL_ABORT);
    put_control(&w, 6, 2, PROTO_CONTROL_COMMIT);
    put_batch(&w, 7, 2, -1, codec); /* not transactional */
    put_batch(&w, 9, 1, 1, codec);  /* pid 1 again, a later transaction: committed */
    put_control(&w, 10, 1, PROTO_CONTROL_COMMIT);
    cons_ev_t *ev = data_ev(w.data, w.len, 0);
    ev->aborted = malloc(sizeof(*ev->aborted));
    ev->aborted[0] = (cons_aborted_t){1, 0};
    ev->naborted = 1;
    return ev;
}

static void test_read_committed(void **state)
{
    (void)state;
    int codecs[] = {PROTO_CODEC_NONE, PROTO_CODEC_LZ4, PROTO_CODEC_ZSTD};
    for (size_t c = 0; c < sizeof(codecs) / sizeof(codecs[0]); c++) {
        for (int rc = 0; rc < 2; rc++) {
            cons_ev_t *ev = txn_ev(codecs[c]);
            kc_message_t *msgs[32];
            kc_err_t err;
            int n = read_ev(ev, rc, msgs, 32, &err);
            assert_int_equal(err, 0);
            int64_t want_rc[] = {3, 4, 7, 8, 9};
            int64_t want_ru[] = {0, 1, 2, 3, 4, 7, 8, 9};
            int64_t *want = rc ? want_rc : want_ru;
            assert_int_equal(n, rc ? 5 : 8);
            for (int i = 0; i < n; i++) {
                assert_int_equal(msgs[i]->offset, want[i]);
                char v[16];
                snprintf(v, sizeof(v), "r%lld", (long long)want[i]);
                assert_int_equal(msgs[i]->value_len, strlen(v));
                assert_memory_equal(msgs[i]->value, v, strlen(v));
                assert_null(msgs[i]->key);
                assert_int_equal(msgs[i]->header_cnt, 1);
                assert_string_equal(msgs[i]->headers[0].name, "hk");
                assert_memory_equal(msgs[i]->headers[0].value, "hv", 2);
                kc_message_destroy(msgs[i]);
            }
            cons_ev_free(ev);
        }
    }
}

static void test_partial_trailing_batch_and_bad_crc(void **state)
{
    (void)state;
    proto_wbuf_t w = {0};
    put_batch(&w, 0, 4, -1, PROTO_CODEC_NONE);
    size_t first = w.len;
    put_batch(&w, 4, 4, -1, PROTO_CODEC_GZIP);
    /* Cut the second batch short, as a fetch size limit does. */
    cons_ev_t *ev = data_ev(w.data, w.len - 7, 0);
    kc_message_t *msgs[16];
    kc_err_t err;
    int n = read_ev(ev, 0, msgs, 16, &err);
    assert_int_equal(err, 0);
    assert_int_equal(n, 4);
    for (int i = 0; i < n; i++)
        kc_message_destroy(msgs[i]);
    cons_ev_free(ev);

    /* Flip a byte in the second batch's records: check.crcs finds it after
     * the first batch's records came. */
    proto_wbuf_t w2 = {0};
    put_batch(&w2, 0, 4, -1, PROTO_CODEC_NONE);
    put_batch(&w2, 4, 4, -1, PROTO_CODEC_NONE);
    w2.data[w2.len - 3] ^= 0x55;
    ev = data_ev(w2.data, w2.len, 0);
    n = read_ev(ev, 0, msgs, 16, &err);
    assert_int_equal(n, 4);
    assert_int_equal(err, KC_ERR__BAD_CRC);
    for (int i = 0; i < n; i++)
        kc_message_destroy(msgs[i]);
    cons_ev_free(ev);
    (void)first;
}

static void test_event_messages(void **state)
{
    (void)state;
    kc_message_t *m = cons_msg_event(KC_ERR__PARTITION_EOF, NULL, "topic", 2, 77);
    assert_non_null(m);
    assert_int_equal(m->err, KC_ERR__PARTITION_EOF);
    assert_string_equal(m->topic, "topic");
    assert_int_equal(m->offset, 77);
    assert_non_null(m->errstr);
    kc_message_destroy(m);
    kc_message_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_legacy_fixtures),
        cmocka_unit_test(test_start_offset_inside_wrapper),
        cmocka_unit_test(test_read_committed),
        cmocka_unit_test(test_partial_trailing_batch_and_bad_crc),
        cmocka_unit_test(test_event_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
