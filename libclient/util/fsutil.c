/* Durable-file helpers. See fsutil.h. */
#define _XOPEN_SOURCE 700
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(char *errstr, size_t n, const char *what, const char *path)
{
    if (errstr) snprintf(errstr, n, "%s %s: %s", what, path, strerror(errno));
    return -1;
}

static int fsync_parent(const char *path)
{
    char *copy = strdup(path);
    if (!copy) return -1;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    free(copy);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int util_write_file_atomic(const char *path, const void *data, size_t len, char *errstr,
                           size_t errstr_size)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return fail(errstr, errstr_size, "cannot write", path);
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return fail(errstr, errstr_size, "cannot create", tmp);
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            errno = e;
            return fail(errstr, errstr_size, "cannot write", tmp);
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        errno = e;
        return fail(errstr, errstr_size, "cannot fsync", tmp);
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return fail(errstr, errstr_size, "cannot rename into", path);
    }
    if (fsync_parent(path) != 0)
        return fail(errstr, errstr_size, "cannot fsync the folder of", path);
    return 0;
}

int util_read_file(const char *path, char **data, size_t *len, char *errstr, size_t errstr_size)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 1;
        return fail(errstr, errstr_size, "cannot open", path);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return fail(errstr, errstr_size, "cannot stat", path);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        errno = ENOMEM;
        return fail(errstr, errstr_size, "cannot read", path);
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            errno = e;
            return fail(errstr, errstr_size, "cannot read", path);
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return 0;
}

int util_mkdirs(const char *path, char *errstr, size_t errstr_size)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(buf)) {
        errno = n ? ENAMETOOLONG : ENOENT;
        return fail(errstr, errstr_size, "cannot create folder", path);
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return fail(errstr, errstr_size, "cannot create folder", buf);
        buf[i] = c;
    }
    struct stat st;
    if (stat(path, &st) != 0) return fail(errstr, errstr_size, "cannot create folder", path);
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return fail(errstr, errstr_size, "cannot create folder", path);
    }
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

int util_remove_tree(const char *path, char *errstr, size_t errstr_size)
{
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        return fail(errstr, errstr_size, "cannot remove", path);
    return 0;
}
