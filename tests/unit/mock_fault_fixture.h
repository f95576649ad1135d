/* The fixture of the kc mock's fault tests (test_mock_*_faults.c): a
 * 3-broker kc mock cluster per test, and a count of the requests of one API
 * key in a broker's request log. Header-only, after cmocka. */
#ifndef KC_TEST_MOCK_FAULT_FIXTURE_H
#define KC_TEST_MOCK_FAULT_FIXTURE_H

#include <stdint.h>
#include <stdio.h>

#include "kc/kc_mock.h"

/* The cluster a fault test runs against, and its bootstrap string. */
typedef struct mock_fault_fixture {
    kc_mock_cluster_t *mc;
    const char *bootstrap;
} mock_fault_fixture_t;

/* cmocka setup: a fresh 3-broker kc mock cluster for the test. */
static inline int mock_fault_setup(void **state)
{
    static mock_fault_fixture_t f;
    char err[256];
    f.mc = kc_mock_cluster_new(3, err, sizeof(err));
    if (!f.mc) {
        fprintf(stderr, "mock: %s\n", err);
        return -1;
    }
    f.bootstrap = kc_mock_cluster_bootstrap(f.mc);
    *state = &f;
    return 0;
}

/* cmocka teardown: the cluster of mock_fault_setup() destroyed. */
static inline int mock_fault_teardown(void **state)
{
    mock_fault_fixture_t *f = *state;
    kc_mock_cluster_destroy(f->mc);
    f->mc = NULL;
    return 0;
}

/* Requests of api_key in the log of broker (-1: all), and how many of them
 * were answered with an injected error. */
static inline int mock_fault_count_requests(mock_fault_fixture_t *f, int32_t broker,
                                            int16_t api_key, int *injected)
{
    kc_mock_requests_t *l = kc_mock_requests_get(f->mc, broker);
    assert_non_null(l);
    int n = 0, inj = 0;
    for (size_t i = 0; i < kc_mock_requests_count(l); i++) {
        const kc_mock_request_t *r = kc_mock_requests_at(l, i);
        if (kc_mock_request_api_key(r) != api_key) continue;
        n++;
        if (kc_mock_request_injected_error(r)) inj++;
    }
    kc_mock_requests_destroy(l);
    if (injected) *injected = inj;
    return n;
}

#endif
