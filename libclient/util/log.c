/* Logging sink and level. See log.h. */
#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

static atomic_int log_level = LOG_LVL_INFO;
static util_log_sink_t log_sink;
static void *log_opaque;
static _Thread_local util_log_sink_t thread_sink;
static _Thread_local void *thread_opaque;
static _Thread_local int thread_level = -1;

void util_log_set_level(int level)
{
    atomic_store(&log_level, level);
}

int util_log_get_level(void)
{
    return thread_level >= 0 ? thread_level : atomic_load(&log_level);
}

void util_log_set_thread(util_log_sink_t sink, void *opaque, int level)
{
    thread_sink = sink;
    thread_opaque = opaque;
    thread_level = level;
}

void util_log_set_sink(util_log_sink_t sink, void *opaque)
{
    log_sink = sink;
    log_opaque = opaque;
}

const char *util_log_level_name(int level)
{
    switch (level) {
    case LOG_LVL_ERROR: return "ERROR";
    case LOG_LVL_WARN: return "WARN";
    case LOG_LVL_INFO: return "INFO";
    case LOG_LVL_DEBUG: return "DEBUG";
    default: return level < LOG_LVL_ERROR ? "ERROR" : "DEBUG";
    }
}

void util_vlog(int level, const char *fmt, va_list ap)
{
    if (level > util_log_get_level()) return;
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (thread_sink) {
        thread_sink(thread_opaque, level, msg);
        return;
    }
    if (log_sink) {
        log_sink(log_opaque, level, msg);
        return;
    }
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s\n", tm.tm_year + 1900,
            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
            util_log_level_name(level), msg);
}

void util_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    util_vlog(level, fmt, ap);
    va_end(ap);
}
