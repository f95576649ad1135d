/* kc metadata: brokers, topics, partitions with leaders and replicas, as
 * `kcat -L` prints them (or JSON). Uses only the public API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc/kc.h"
#include "tools.h"

static const char metadata_usage[] =
    "usage: kc metadata -b HOST:PORT[,HOST:PORT...] [-t TOPIC] [-X prop=value]... [--json]\n"
    "                   [--timeout MS]\n"
    "  -b          bootstrap brokers (bootstrap.servers)\n"
    "  -t          only this topic (default: all topics)\n"
    "  -X          set a client property, e.g. -X client.id=me (see kc config --markdown "
    "client)\n"
    "  -J, --json  print JSON\n"
    "  --timeout   give up after MS milliseconds (default 10000)\n";

static void print_ids(const int32_t *ids, int n)
{
    for (int i = 0; i < n; i++)
        printf("%s%d", i ? "," : "", (int)ids[i]);
}

static void print_text(const kc_metadata_t *md, const char *topic)
{
    if (topic)
        printf("Metadata for %s (from broker %d: %s):\n", topic, (int)md->orig_broker_id,
               md->orig_broker_name);
    else
        printf("Metadata for all topics (from broker %d: %s):\n", (int)md->orig_broker_id,
               md->orig_broker_name);
    printf(" %d brokers:\n", md->broker_cnt);
    for (int i = 0; i < md->broker_cnt; i++) {
        const kc_metadata_broker_t *b = &md->brokers[i];
        printf("  broker %d at %s:%d%s", (int)b->id, b->host, b->port,
               b->id == md->controller_id ? " (controller)" : "");
        if (b->rack) printf(" rack %s", b->rack);
        printf("\n");
    }
    printf(" %d topics:\n", md->topic_cnt);
    for (int i = 0; i < md->topic_cnt; i++) {
        const kc_metadata_topic_t *t = &md->topics[i];
        printf("  topic \"%s\" with %d partitions:", t->name, t->partition_cnt);
        if (t->err) printf(" %s (%s)", kc_err_str(t->err), kc_err_name(t->err));
        printf("\n");
        for (int j = 0; j < t->partition_cnt; j++) {
            const kc_metadata_partition_t *p = &t->partitions[j];
            printf("    partition %d, leader %d, replicas: ", (int)p->id, (int)p->leader);
            print_ids(p->replicas, p->replica_cnt);
            printf(", isrs: ");
            print_ids(p->isrs, p->isr_cnt);
            if (p->err) printf(", %s (%s)", kc_err_str(p->err), kc_err_name(p->err));
            printf("\n");
        }
    }
}

static void json_str(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static void json_ids(const int32_t *ids, int n)
{
    putchar('[');
    for (int i = 0; i < n; i++)
        printf("%s{\"id\":%d}", i ? "," : "", (int)ids[i]);
    putchar(']');
}

static void print_json(const kc_metadata_t *md, const char *topic)
{
    printf("{\"originating_broker\":{\"id\":%d,\"name\":", (int)md->orig_broker_id);
    json_str(md->orig_broker_name);
    printf("},\"query\":{\"topic\":");
    json_str(topic ? topic : "*");
    printf("},\"controllerid\":%d,\"cluster_id\":", (int)md->controller_id);
    if (md->cluster_id)
        json_str(md->cluster_id);
    else
        printf("null");
    printf(",\"brokers\":[");
    for (int i = 0; i < md->broker_cnt; i++) {
        const kc_metadata_broker_t *b = &md->brokers[i];
        printf("%s{\"id\":%d,\"name\":\"", i ? "," : "", (int)b->id);
        printf("%s:%d\"", b->host, b->port);
        if (b->rack) {
            printf(",\"rack\":");
            json_str(b->rack);
        }
        printf("}");
    }
    printf("],\"topics\":[");
    for (int i = 0; i < md->topic_cnt; i++) {
        const kc_metadata_topic_t *t = &md->topics[i];
        printf("%s{\"topic\":", i ? "," : "");
        json_str(t->name);
        if (t->err) printf(",\"error\":\"%s\"", kc_err_name(t->err));
        printf(",\"partitions\":[");
        for (int j = 0; j < t->partition_cnt; j++) {
            const kc_metadata_partition_t *p = &t->partitions[j];
            printf("%s{\"partition\":%d,\"leader\":%d", j ? "," : "", (int)p->id, (int)p->leader);
            if (p->err) printf(",\"error\":\"%s\"", kc_err_name(p->err));
            printf(",\"replicas\":");
            json_ids(p->replicas, p->replica_cnt);
            printf(",\"isrs\":");
            json_ids(p->isrs, p->isr_cnt);
            printf("}");
        }
        printf("]}");
    }
    printf("]}\n");
}

/* Sets "name=value" on conf; 0, or 2 after printing why. */
static int set_prop(kc_conf_t *conf, const char *arg)
{
    char name[256];
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(name)) {
        fprintf(stderr, "kc metadata: -X %s: want property=value\n", arg);
        return 2;
    }
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = '\0';
    char err[512];
    if (kc_conf_set(conf, name, eq + 1, err, sizeof(err)) != 0) {
        fprintf(stderr, "kc metadata: -X %s: %s\n", name, err);
        return 2;
    }
    return 0;
}

int tool_metadata(int argc, char **argv)
{
    const char *brokers = NULL, *topic = NULL;
    int json = 0;
    long timeout_ms = 10000;
    kc_conf_t *conf = kc_conf_new();
    if (!conf) {
        fprintf(stderr, "kc metadata: out of memory\n");
        return 1;
    }
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("%s", metadata_usage);
            kc_conf_destroy(conf);
            return 0;
        } else if (!strcmp(a, "-J") || !strcmp(a, "--json")) {
            json = 1;
        } else if ((!strcmp(a, "-b") || !strcmp(a, "-t") || !strcmp(a, "-X") ||
                    !strcmp(a, "--timeout")) &&
                   !next) {
            fprintf(stderr, "kc metadata: %s needs a value\n%s", a, metadata_usage);
            rc = 2;
        } else if (!strcmp(a, "-b")) {
            brokers = argv[++i];
        } else if (!strcmp(a, "-t")) {
            topic = argv[++i];
        } else if (!strcmp(a, "-X")) {
            rc = set_prop(conf, argv[++i]);
        } else if (!strcmp(a, "--timeout")) {
            char *end;
            timeout_ms = strtol(argv[++i], &end, 10);
            if (*end || timeout_ms < 1 || timeout_ms > 3600000) {
                fprintf(stderr, "kc metadata: --timeout: want 1..3600000 ms, got \"%s\"\n",
                        argv[i]);
                rc = 2;
            }
        } else {
            fprintf(stderr, "kc metadata: unknown option '%s'\n%s", a, metadata_usage);
            rc = 2;
        }
    }
    char err[512];
    if (rc == 0 && brokers && kc_conf_set(conf, "bootstrap.servers", brokers, err, sizeof(err))) {
        fprintf(stderr, "kc metadata: -b: %s\n", err);
        rc = 2;
    }
    size_t sz = sizeof(err);
    if (rc == 0 && !brokers &&
        (kc_conf_get(conf, "bootstrap.servers", err, &sz) != 0 || err[0] == '\0')) {
        fprintf(stderr, "kc metadata: no brokers: use -b HOST:PORT\n%s", metadata_usage);
        rc = 2;
    }
    if (rc != 0) {
        kc_conf_destroy(conf);
        return rc;
    }
    kc_client_t *client = kc_client_new(conf, err, sizeof(err));
    if (!client) {
        fprintf(stderr, "kc metadata: %s\n", err);
        kc_conf_destroy(conf);
        return 1;
    }
    kc_metadata_t *md = NULL;
    kc_err_t e = kc_metadata(client, topic, (int)timeout_ms, &md, err, sizeof(err));
    if (e) {
        fprintf(stderr, "kc metadata: cannot get metadata (%s): %s\n", kc_err_name(e), err);
        kc_client_destroy(client);
        return 1;
    }
    if (json)
        print_json(md, topic);
    else
        print_text(md, topic);
    kc_metadata_destroy(md);
    kc_client_destroy(client);
    return 0;
}
