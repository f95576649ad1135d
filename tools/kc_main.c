/* kc: the command-line tool. Subcommands live in their own files. */
#include <stdio.h>
#include <string.h>

#include "kc/kc.h"
#include "tools.h"

static const struct tool_cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} tool_cmds[] = {
    {"selfcheck", tool_selfcheck, "check the codec: every message and version, batches, codecs"},
    {"config", tool_config, "configuration reference (Markdown), check a .properties file"},
    {"metadata", tool_metadata, "list brokers, topics and partitions of a cluster (like kcat -L)"},
    {"produce", tool_produce, "produce lines from stdin or files as records (keys, headers)"},
    {"consume", tool_consume, "print records of topics in a format (kcat-style)"},
    {"bench", tool_bench, "producer / consumer benchmarks: records/s, MB/s, latency"},
};

static void usage(FILE *out)
{
    fprintf(out, "kc %s: Kafka-protocol toolkit\n\nusage: kc COMMAND [options]\n\ncommands:\n",
            kc_version_str());
    for (size_t i = 0; i < sizeof(tool_cmds) / sizeof(tool_cmds[0]); i++)
        fprintf(out, "  %-12s %s\n", tool_cmds[i].name, tool_cmds[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("kc %s\n", kc_version_str());
        return 0;
    }
    for (size_t i = 0; i < sizeof(tool_cmds) / sizeof(tool_cmds[0]); i++)
        if (!strcmp(argv[1], tool_cmds[i].name)) return tool_cmds[i].run(argc - 1, argv + 1);
    fprintf(stderr, "kc: unknown command '%s' (see kc --help)\n", argv[1]);
    return 2;
}
