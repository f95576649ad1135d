/* The inside of client_t, shared by client.c (thread, queue, brokers) and
 * client_metadata.c (metadata requests and the cache). */
#ifndef KC_CLIENT_PRIV_H
#define KC_CLIENT_PRIV_H

#include <pthread.h>
#include <sys/queue.h>

#include "client.h"
#include "conf_client.h"
#include "proto_msgs.h"
#include "util/hmap.h"

typedef struct client_broker {
    int32_t node_id; /* learned brokers: >= 0; bootstrap entries: -1, -2, ... */
    char *host;
    int port;
    char *rack;
    net_conn_t *conn;
} client_broker_t;

typedef struct client_partition {
    int32_t id;
    int32_t leader;
    int32_t leader_epoch;
    int16_t err;
} client_partition_t;

typedef struct client_topic {
    char *name;
    int16_t err;
    int32_t npart;
    client_partition_t *parts; /* indexed by partition id when dense */
    uint64_t updated_ms;       /* 0: never answered */
} client_topic_t;

typedef enum client_op_type {
    CLIENT_OP_METADATA, /* an application's metadata request */
    CLIENT_OP_REFRESH,  /* the cache's own refresh (no waiter) */
    CLIENT_OP_CALL,     /* run fn on the I/O thread */
} client_op_type_t;

typedef struct client_op client_op_t;
struct client_op {
    TAILQ_ENTRY(client_op) link;
    client_op_type_t type;
    int refs;   /* under c->lock: the waiter's and the I/O thread's */
    int queued; /* set by op_run once the I/O thread holds a reference */
    int done;
    kc_err_t err;
    char errstr[512];

    /* CLIENT_OP_CALL */
    void (*fn)(client_t *c, void *arg);
    void *arg;

    /* metadata: what to ask (all, or ntopics names) and the answer */
    int all_topics;
    char **topics;
    int ntopics;
    uint64_t deadline_ms;
    kc_metadata_t *md;

    /* I/O thread state of a metadata operation */
    client_t *client;
    struct event *timer; /* retry backoff */
    int in_flight;
    int attempt;
    proto_metadata_request_t req;
    proto_metadata_request_topic_t *req_topics;
};

TAILQ_HEAD(client_op_q, client_op);

struct client {
    kc_conf_t *kconf; /* owned */
    const client_conf_t *conf;
    struct event_base *base;
    pthread_t thread;
    pthread_t io_tid;
    int thread_started;

    pthread_mutex_t lock;   /* guards: ops, op refs/done, terminate */
    pthread_cond_t cond;    /* an op became done */
    struct client_op_q ops; /* queued by application threads */
    int terminate;
    struct event *ev_wake;

    /* I/O thread only from here on */
    struct client_op_q active; /* metadata operations running */
    client_broker_t **brokers;
    int nbrokers;
    int rr; /* round-robin start for "any broker" */
    net_conn_conf_t nconf;

    util_hmap_t topics; /* name -> client_topic_t */
    struct event *ev_refresh;
    client_op_t *refresh_op; /* the one refresh in flight */
    int refresh_again;
    uint64_t refreshes;
    int stopping;
    struct client_mock *mock; /* test.mock.num.brokers (client_mock.h); owned */
    void (*on_metadata)(client_t *c, void *opaque); /* client_set_metadata_cb */
    void *on_metadata_opaque;
};

uint64_t client_now_ms(void);
void client_op_release(client_t *c, client_op_t *op);
/* Marks op done with err (0 = success), wakes the waiter, drops the I/O
 * thread's reference. */
void client_op_finish(client_t *c, client_op_t *op, kc_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
client_broker_t *client_broker_find(client_t *c, int32_t node_id);
/* Adds or updates a learned broker. NULL when out of memory. */
client_broker_t *client_broker_upsert(client_t *c, int32_t node_id, const char *host, int port,
                                      const char *rack);
/* The broker to try for attempt n of an "any broker" request. */
client_broker_t *client_broker_pick(client_t *c, int attempt);

/* client_metadata.c */
void client_metadata_start(client_t *c, client_op_t *op);
void client_metadata_init(client_t *c);
void client_metadata_stop(client_t *c);
void client_metadata_clear(client_t *c);
void client_op_free_md(client_op_t *op);

#endif
