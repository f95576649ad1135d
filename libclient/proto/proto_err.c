/* Names, messages and retriability of kc_err_t, from the one table in kc_err.h. */
#include <stddef.h>

#include "kc/kc_err.h"

struct err_row {
    int code;
    int retriable;
    const char *name;
    const char *msg;
};

static const struct err_row err_rows[] = {
#define KC_ERR_ROW_(name, code, retriable, msg) {code, retriable, #name, msg},
    KC_ERRORS(KC_ERR_ROW_)
#undef KC_ERR_ROW_
};

static const struct err_row *err_find(kc_err_t err)
{
    for (size_t i = 0; i < sizeof(err_rows) / sizeof(err_rows[0]); i++)
        if (err_rows[i].code == (int)err) return &err_rows[i];
    return 0;
}

const char *kc_err_name(kc_err_t err)
{
    const struct err_row *row = err_find(err);
    if (!row) return "UNKNOWN";
    /* Local errors are spelled "_NAME" in the table; show them without the underscore. */
    return row->name[0] == '_' ? row->name + 1 : row->name;
}

const char *kc_err_str(kc_err_t err)
{
    const struct err_row *row = err_find(err);
    return row ? row->msg : "unknown error code";
}

int kc_err_is_retriable(kc_err_t err)
{
    const struct err_row *row = err_find(err);
    return row ? row->retriable : 0;
}
