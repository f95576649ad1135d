/* kc consume's output format: a kcat-style string compiled once, then
 * applied to every record. */
#ifndef KC_CMD_CONSUME_FMT_H
#define KC_CMD_CONSUME_FMT_H

#include <stdio.h>

#include "kc/kc_consumer.h"

typedef struct tool_fmt tool_fmt_t;

/* Compiles fmt: %k key, %s value, %h headers (name=value,... ; a null value
 * prints the name alone), %p partition, %o offset, %t topic, %T timestamp
 * (ms, -1 if none), %K / %S key / value length (-1 for null), %% a percent
 * sign; \n \t \r \\ \0 escapes. NULL after writing why to err. */
tool_fmt_t *tool_fmt_new(const char *fmt, char *err, size_t err_size);
void tool_fmt_destroy(tool_fmt_t *f);
/* Writes msg (a record, err == 0) to out per f. */
void tool_fmt_write(const tool_fmt_t *f, const kc_message_t *msg, FILE *out);

#endif
