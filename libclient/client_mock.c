/* test.mock.num.brokers through libkc-mock, resolved at run time.
 *
 * Why dlopen: the mock is the broker core, several times libkc's size;
 * linking it into libkc would put a broker into every application. The
 * property is for tests, so libkc looks for libkc-mock when it is set, in
 * this order:
 *   1. already in the process (the application linked libkc-mock);
 *   2. $KC_MOCK_LIBRARY, a path to the library;
 *   3. libkc-mock.so.<major> on the loader's usual path;
 *   4. next to the object holding this code (libkc.so's folder, or for a
 *      static libkc the executable's folder and ../lib), which finds an
 *      installed or a build-tree libkc-mock. */
#include <dlfcn.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_mock.h"
#include "kc/kc_mock.h"

#define MOCK_SONAME "libkc-mock.so.0"

typedef kc_mock_cluster_t *(*new_fn)(int, char *, size_t);
typedef const char *(*bootstrap_fn)(const kc_mock_cluster_t *);
typedef void (*destroy_fn)(kc_mock_cluster_t *);

struct client_mock {
    kc_mock_cluster_t *mc;
    destroy_fn destroy;
    bootstrap_fn bootstrap;
};

typedef struct mock_syms {
    new_fn cluster_new;
    bootstrap_fn bootstrap;
    destroy_fn destroy;
} mock_syms_t;

static int syms_from(void *handle, mock_syms_t *s)
{
    *(void **)&s->cluster_new = dlsym(handle, "kc_mock_cluster_new");
    *(void **)&s->bootstrap = dlsym(handle, "kc_mock_cluster_bootstrap");
    *(void **)&s->destroy = dlsym(handle, "kc_mock_cluster_destroy");
    return s->cluster_new && s->bootstrap && s->destroy ? 0 : -1;
}

static int try_path(const char *path, mock_syms_t *s, char *why, size_t why_size)
{
    /* Loaded for the process's lifetime: never closed, so no code a
     * finished mock thread ran can go away under a later one. */
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(why, why_size, "%s", e ? e : path);
        return -1;
    }
    if (syms_from(h, s) == 0) return 0;
    snprintf(why, why_size, "%s has no kc_mock_cluster_new", path);
    return -1;
}

/* The folder of the object that holds this function. */
static int own_dir(char *buf, size_t cap)
{
    Dl_info info;
    if (!dladdr((void *)own_dir, &info) || !info.dli_fname || !strchr(info.dli_fname, '/'))
        return -1;
    char copy[4096];
    snprintf(copy, sizeof(copy), "%s", info.dli_fname);
    snprintf(buf, cap, "%s", dirname(copy));
    return 0;
}

static int resolve(mock_syms_t *s, char *errstr, size_t errstr_size)
{
    if (syms_from(RTLD_DEFAULT, s) == 0) return 0;
    char why[512] = "";
    const char *env = getenv("KC_MOCK_LIBRARY");
    if (env && *env) {
        if (try_path(env, s, why, sizeof(why)) == 0) return 0;
        snprintf(errstr, errstr_size, "test.mock.num.brokers: KC_MOCK_LIBRARY=%s: %s", env, why);
        return -1;
    }
    if (try_path(MOCK_SONAME, s, why, sizeof(why)) == 0) return 0;
    char dir[4096], path[4200];
    if (own_dir(dir, sizeof(dir)) == 0) {
        snprintf(path, sizeof(path), "%s/%s", dir, MOCK_SONAME);
        if (try_path(path, s, why, sizeof(why)) == 0) return 0;
        snprintf(path, sizeof(path), "%s/../lib/%s", dir, MOCK_SONAME);
        if (try_path(path, s, why, sizeof(why)) == 0) return 0;
    }
    snprintf(errstr, errstr_size,
             "test.mock.num.brokers needs libkc-mock, which was not found (link it, install it "
             "next to libkc, or set KC_MOCK_LIBRARY to its path): %s",
             why);
    return -1;
}

client_mock_t *client_mock_start(int brokers, char *errstr, size_t errstr_size)
{
    mock_syms_t s;
    if (resolve(&s, errstr, errstr_size) != 0) return NULL;
    client_mock_t *m = calloc(1, sizeof(*m));
    if (!m) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    char err[512];
    m->mc = s.cluster_new(brokers, err, sizeof(err));
    if (!m->mc) {
        snprintf(errstr, errstr_size, "test.mock.num.brokers: %s", err);
        free(m);
        return NULL;
    }
    m->destroy = s.destroy;
    m->bootstrap = s.bootstrap;
    return m;
}

const char *client_mock_bootstrap(const client_mock_t *m)
{
    return m->bootstrap(m->mc);
}

void client_mock_destroy(client_mock_t *m)
{
    if (!m) return;
    m->destroy(m->mc);
    free(m);
}
