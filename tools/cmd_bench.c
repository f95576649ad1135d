/* kc bench: client benchmarks against a live cluster (see bench/README.md). */
#include <stdio.h>
#include <string.h>

#include "cmd_bench.h"
#include "tools.h"

static const char bench_usage[] =
    "usage: kc bench produce -b HOST:PORT -t TOPIC [-n COUNT] [-s SIZE] "
    "[options]\n"
    "       kc bench consume -b HOST:PORT -t TOPIC [-n COUNT] [options]\n"
    "  kc bench produce --help, kc bench consume --help: the options\n";

int tool_bench(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "produce")) return tool_bench_produce(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "consume")) return tool_bench_consume(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("%s", bench_usage);
        return 0;
    }
    if (argc >= 2)
        fprintf(stderr, "kc bench: unknown benchmark '%s'\n%s", argv[1], bench_usage);
    else
        fprintf(stderr, "kc bench: which benchmark?\n%s", bench_usage);
    return 2;
}
