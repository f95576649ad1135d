/* Pieces the client subcommands (produce, consume, bench) share: the -b/-X/-F
 * options, number parsing with readable errors, a topic's partitions, and
 * stopping cleanly on SIGINT/SIGTERM. Every function that fails prints why
 * to stderr, prefixed with the command's name, and returns the exit code the
 * command should return (2: bad usage, 1: a failure at run time). */
#ifndef KC_TOOL_COMMON_H
#define KC_TOOL_COMMON_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "kc/kc.h"

/* A configuration for a command: kc's defaults, except that only warnings
 * and errors are logged (log_level 4; -X log_level=6 brings back the
 * informational lines, e.g. a group's joins). NULL if out of memory. */
kc_conf_t *tool_conf_new(void);

/* -b HOST:PORT, -X name=value, -F FILE: applied to conf in command-line
 * order. 0 when opt was one of them and applied, 2 after printing why it
 * failed, -1 when opt is none of them. */
int tool_conf_option(kc_conf_t *conf, const char *cmd, const char *opt, const char *value);

/* 0 when bootstrap.servers is set (by -b, -X or -F), else 2 after saying so. */
int tool_conf_require_brokers(const kc_conf_t *conf, const char *cmd, const char *usage);

/* The value of the option at argv[*i], advancing *i; NULL after printing
 * "OPT needs a value" and the usage. */
const char *tool_opt_value(int argc, char **argv, int *i, const char *cmd, const char *usage);

/* Parses s as a whole decimal integer in [min, max] into *out; 0, or 2 after
 * printing "OPT: want MIN..MAX, got S". */
int tool_parse_ll(const char *cmd, const char *opt, const char *s, long long min, long long max,
                  long long *out);

/* The partition ids of topic, ascending, in *ids (free() it) and *cnt, asked
 * of the cluster with a client built from a copy of conf. 0, or 1 after
 * printing why (the topic does not exist, no broker answered in time). */
int tool_topic_partitions(const kc_conf_t *conf, const char *cmd, const char *topic, int timeout_ms,
                          int32_t **ids, int *cnt);

/* Set by SIGINT/SIGTERM once tool_catch_signals() ran; a second signal
 * kills the process as usual. */
extern volatile sig_atomic_t tool_stop;
void tool_catch_signals(void);

/* Writes `,"conf":{"name":"value",...}` for the named properties of conf
 * into buf (truncated to size), so a benchmark figure says what it was
 * measured with. Unknown names are left out. */
void tool_conf_json(const kc_conf_t *conf, const char *const *names, size_t n, char *buf,
                    size_t size);

/* Which assigned partitions the consumer has read to their end (-e, and the
 * consume benchmark's "topic holds fewer records" check). */
typedef struct tool_eof_elem {
    char *topic;
    int32_t partition;
    int at_eof;
} tool_eof_elem_t;
typedef struct tool_eof {
    size_t cnt, cap, at_eof_cnt;
    tool_eof_elem_t *elems;
} tool_eof_t;

/* Marks topic/partition at its end or not; 0, or -1 if out of memory. Cheap
 * while no partition is at its end. */
int tool_eof_mark(tool_eof_t *s, const char *topic, int32_t partition, int at_eof);
/* Whether every partition of list is at its end (0 for an empty list). */
int tool_eof_all(const tool_eof_t *s, const kc_topic_partition_list_t *list);
void tool_eof_clear(tool_eof_t *s);

#endif
