/* kc-mock's control commands: one JSON object in, one JSON answer out.
 * The operations are the C API's (kc_mock.h); docs/mock.md lists them. */
#ifndef MOCK_CMD_H
#define MOCK_CMD_H

#include <stddef.h>

#include "kc/kc_mock.h"
#include "mock_json.h"

/* Runs the command in line[0..len) and appends its one-line answer (no
 * newline) to out: {"ok":true,...} or {"ok":false,"error":"..."}. */
void mock_cmd_exec(kc_mock_cluster_t *mc, const char *line, size_t len, mock_jbuf_t *out);

/* Kafka's error name ("NOT_LEADER_OR_FOLLOWER") or number ("6") to *code.
 * Returns 0, or -1 for neither (kc's local errors are not Kafka's). */
int mock_cmd_error_code(const char *name, int *code);
/* An API's name as the codec spells it ("Produce") or number ("0") to
 * *key. Returns 0, or -1 for an API the codec does not know. */
int mock_cmd_api_key(const char *name, int *key);

#endif
