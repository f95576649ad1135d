/* Version of the library an application runs against. */
#include "kc/kc.h"

#define KC_STR2_(x) #x
#define KC_STR_(x)  KC_STR2_(x)

const char *kc_version_str(void)
{
    return KC_STR_(KC_VERSION_MAJOR) "." KC_STR_(KC_VERSION_MINOR) "." KC_STR_(KC_VERSION_PATCH);
}

int kc_version(void)
{
    return KC_VERSION_NUM;
}
