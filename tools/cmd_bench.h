/* kc bench's subcommands: each takes argv from its own name on. */
#ifndef KC_CMD_BENCH_H
#define KC_CMD_BENCH_H

int tool_bench_produce(int argc, char **argv);
int tool_bench_consume(int argc, char **argv);

#endif
