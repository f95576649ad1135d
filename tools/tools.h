/* Subcommands of the kc tool: each takes argv from its own name on and returns
 * the process exit code. */
#ifndef KC_TOOLS_H
#define KC_TOOLS_H

int tool_selfcheck(int argc, char **argv);
int tool_config(int argc, char **argv);
int tool_metadata(int argc, char **argv);
int tool_produce(int argc, char **argv);
int tool_consume(int argc, char **argv);
int tool_bench(int argc, char **argv);

#endif
