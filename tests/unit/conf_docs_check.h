/* The docs-drift check shared by the configuration tests: a property table's
 * generated Markdown must equal the page in docs/ byte for byte. Include
 * after cmocka.h. */
#ifndef TESTS_CONF_DOCS_CHECK_H
#define TESTS_CONF_DOCS_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/conf.h"

static char *conf_docs_read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, n, out);
    fclose(out);
    fclose(f);
    return buf;
}

/* Fails naming page and the command that regenerates it (`kc config
 * --markdown WHICH`) unless page is what table generates. */
static void expect_docs_match_table(const util_conf_table_t *table, const char *page,
                                    const char *name, const char *which)
{
    char *want = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&want, &len);
    assert_int_equal(util_conf_write_markdown(f, table), 0);
    fclose(f);
    char *have = conf_docs_read_all(page);
    int same = have && strcmp(have, want) == 0;
    free(have);
    free(want);
    if (!same)
        fail_msg("docs/%s is not what the table generates; regenerate it with "
                 "`build/bin/kc config --markdown %s > docs/%s`",
                 name, which, name);
}

#endif
