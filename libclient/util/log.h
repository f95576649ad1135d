/* Logging for kc's internals: levels, and one sink that an application (or
 * the broker's main) may replace. The default sink writes one line per call
 * to stderr: "2026-11-24T03:52:40.123Z WARN message". */
#ifndef UTIL_LOG_H
#define UTIL_LOG_H

#include <stdarg.h>

/* syslog(3) numbering, as librdkafka's log_level uses. */
enum { LOG_LVL_ERROR = 3, LOG_LVL_WARN = 4, LOG_LVL_INFO = 6, LOG_LVL_DEBUG = 7 };

typedef void (*util_log_sink_t)(void *opaque, int level, const char *msg);

/* Messages above `level` are dropped before formatting. Default: INFO. */
void util_log_set_level(int level);
int util_log_get_level(void);
/* NULL restores the stderr sink. */
void util_log_set_sink(util_log_sink_t sink, void *opaque);
/* This thread's own sink and level, in place of the process-wide ones
 * (level < 0 keeps the process-wide level). A client's I/O thread sets them
 * from its configuration (log_level, debug, kc_conf_set_log_cb), so two
 * clients in one process log to their own callbacks. NULL sink: back to the
 * process-wide sink. */
void util_log_set_thread(util_log_sink_t sink, void *opaque, int level);
/* "ERROR", "WARN", "INFO", "DEBUG". */
const char *util_log_level_name(int level);

void util_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void util_vlog(int level, const char *fmt, va_list ap);

#define log_error(...) util_log(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  util_log(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  util_log(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                   \
    do {                                                                                 \
        if (util_log_get_level() >= LOG_LVL_DEBUG) util_log(LOG_LVL_DEBUG, __VA_ARGS__); \
    } while (0)

#endif
