/* The hash map: put/get/replace/delete against a reference, growth, iteration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "util/hmap.h"

static void test_basic(void **state)
{
    util_hmap_t m;
    util_hmap_init(&m);
    int a = 1, b = 2;
    assert_null(util_hmap_gets(&m, "x"));
    assert_int_equal(util_hmap_puts(&m, "x", &a), 0);
    assert_ptr_equal(util_hmap_gets(&m, "x"), &a);
    void *old = NULL;
    assert_int_equal(util_hmap_put(&m, "x", 1, &b, &old), 0);
    assert_ptr_equal(old, &a);
    assert_ptr_equal(util_hmap_gets(&m, "x"), &b);
    assert_int_equal(m.count, 1);
    /* The empty key is a key like any other. */
    assert_int_equal(util_hmap_put(&m, "", 0, &a, NULL), 0);
    assert_ptr_equal(util_hmap_get(&m, "", 0), &a);
    assert_ptr_equal(util_hmap_del(&m, "x", 1), &b);
    assert_null(util_hmap_gets(&m, "x"));
    assert_int_equal(m.count, 1);
    util_hmap_destroy(&m);
}

/* Random operations checked against a plain array indexed by key number. */
static void test_against_reference(void **state)
{
    enum { KEYS = 3000, OPS = 60000 };
    static intptr_t ref[KEYS];
    util_hmap_t m;
    util_hmap_init(&m);
    srand(7);
    for (int op = 0; op < OPS; op++) {
        int k = rand() % KEYS;
        char key[16];
        int kl = snprintf(key, sizeof(key), "topic-%d", k);
        switch (rand() % 3) {
        case 0:
        case 1:
            ref[k] = op + 1;
            assert_int_equal(util_hmap_put(&m, key, (size_t)kl, (void *)(intptr_t)(op + 1), NULL),
                             0);
            break;
        default: assert_int_equal((intptr_t)util_hmap_del(&m, key, (size_t)kl), ref[k]); ref[k] = 0;
        }
    }
    size_t live = 0;
    for (int k = 0; k < KEYS; k++) {
        char key[16];
        int kl = snprintf(key, sizeof(key), "topic-%d", k);
        assert_int_equal((intptr_t)util_hmap_get(&m, key, (size_t)kl), ref[k]);
        live += ref[k] != 0;
    }
    assert_int_equal(m.count, live);
    size_t seen = 0, it = 0;
    void *v;
    while (util_hmap_next(&m, &it, NULL, NULL, &v))
        seen++;
    assert_int_equal(seen, live);
    util_hmap_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_against_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
