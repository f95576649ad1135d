/* test.mock.num.brokers: a mock cluster started by the client itself.
 *
 * libkc does not link the broker: the mock is libkc-mock, found at run time
 * (see client_mock.c for where it is looked for), so applications that never
 * set the property carry none of it. Any thread; the mock runs on its own
 * thread, so the client's I/O thread talks to it over loopback like any
 * cluster. */
#ifndef KC_CLIENT_MOCK_H
#define KC_CLIENT_MOCK_H

#include <stddef.h>

typedef struct client_mock client_mock_t;

/* Starts a mock cluster of `brokers` brokers. NULL with errstr on failure
 * (libkc-mock not found, or the cluster could not start). */
client_mock_t *client_mock_start(int brokers, char *errstr, size_t errstr_size);
/* Its bootstrap servers; borrowed until client_mock_destroy(). */
const char *client_mock_bootstrap(const client_mock_t *m);
/* Stops and frees the cluster. NULL is allowed. */
void client_mock_destroy(client_mock_t *m);

#endif
