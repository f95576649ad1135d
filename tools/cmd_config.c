/* kc config: the configuration reference and a checker for property files,
 * from the same tables the client and the broker use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker_conf.h"
#include "conf_client.h"
#include "core/topic_conf.h"
#include "tools.h"

static const char config_usage[] =
    "usage: kc config --markdown client|broker|topic  print the configuration reference\n"
    "       kc config --check client|broker FILE    check a .properties file\n";

static const util_conf_table_t *table_named(const char *side)
{
    if (!strcmp(side, "client")) return &client_conf_table;
    if (!strcmp(side, "broker")) return &broker_conf_table;
    if (!strcmp(side, "topic")) return &broker_topic_conf_table;
    return NULL;
}

static int check_file(const char *side, const char *path)
{
    char err[1024] = "";
    kc_err_t rc;
    if (!strcmp(side, "client")) {
        client_conf_t c;
        rc = client_conf_init(&c, err, sizeof(err));
        if (!rc) rc = util_conf_load_file(&c.base, path, err, sizeof(err));
        if (!rc) {
            /* Check both roles: a file may be meant for either. */
            client_conf_t p;
            rc = util_conf_copy(&p.base, &c.base);
            if (!rc) {
                rc = client_conf_finalize(&p, CLIENT_ROLE_PRODUCER, err, sizeof(err));
                client_conf_clear(&p);
            }
        }
        if (!rc) rc = client_conf_finalize(&c, CLIENT_ROLE_CONSUMER, err, sizeof(err));
        client_conf_clear(&c);
    } else {
        broker_conf_t b;
        char *argv[] = {"kc-broker", (char *)path, NULL};
        rc = broker_conf_from_argv(&b, 2, argv, err, sizeof(err));
        if (!rc) broker_conf_clear(&b);
    }
    if (rc) {
        fprintf(stderr, "kc config: %s\n", err);
        return 1;
    }
    printf("%s: ok\n", path);
    return 0;
}

int tool_config(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--markdown") && table_named(argv[2])) {
        if (util_conf_write_markdown(stdout, table_named(argv[2])) || fflush(stdout)) {
            perror("kc config");
            return 1;
        }
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "--check") && table_named(argv[2]))
        return check_file(argv[2], argv[3]);
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fputs(config_usage, stdout);
        return 0;
    }
    fputs(config_usage, stderr);
    return 2;
}
