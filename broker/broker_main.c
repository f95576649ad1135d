/* kc-broker: a single-node Kafka-protocol broker with durable on-disk logs.
 *
 *   kc-broker [server.properties] [--override key=value]...
 *
 * Prints "listening on HOST:PORT" on stdout once it accepts connections;
 * SIGTERM and SIGINT shut it down cleanly (logs flushed and closed). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "broker_conf.h"
#include "core/broker.h"
#include "util/log.h"

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    log_info("received %s; shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("%s\n", BROKER_CONF_USAGE);
            return 0;
        }
    broker_conf_t conf;
    char err[512];
    if (broker_conf_from_argv(&conf, argc, argv, err, sizeof(err)) != 0) {
        fprintf(stderr, "kc-broker: %s\n%s\n", err, BROKER_CONF_USAGE);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    struct event_base *base = event_base_new();
    broker_t *b = base ? broker_new(base, &conf, NULL, err, sizeof(err)) : NULL;
    if (!b) {
        fprintf(stderr, "kc-broker: cannot start: %s\n", base ? err : "no event loop");
        if (base) event_base_free(base);
        broker_conf_clear(&conf);
        return 1;
    }
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    for (int i = 0; i < conf.listen_count; i++)
        printf("listening on %s\n", broker_server_address(b->nodes[0].server, i));
    fflush(stdout);
    log_info("kc-broker node %d serving cluster %s, data in %s", b->nodes[0].id, b->cluster_id,
             conf.dirs[0]);
    event_base_dispatch(base);
    event_free(sigterm);
    event_free(sigint);
    broker_destroy(b);
    event_base_free(base);
    broker_conf_clear(&conf);
    log_info("kc-broker stopped cleanly");
    return 0;
}
