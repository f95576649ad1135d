/* kc: a Kafka-protocol client SDK. This header includes the whole public API. */
#ifndef KC_H
#define KC_H

#include "kc/kc_client.h"
#include "kc/kc_conf.h"
#include "kc/kc_consumer.h"
#include "kc/kc_err.h"
#include "kc/kc_producer.h"
#include "kc/kc_record.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KC_VERSION_MAJOR 0
#define KC_VERSION_MINOR 1
#define KC_VERSION_PATCH 0
/* 0xMMmmpp00, comparable with < and >. */
#define KC_VERSION_NUM \
    ((KC_VERSION_MAJOR << 24) | (KC_VERSION_MINOR << 16) | (KC_VERSION_PATCH << 8))

/* The library's version as "MAJOR.MINOR.PATCH"; may differ from the header's
 * when an application runs against a newer shared library. */
const char *kc_version_str(void);
/* The library's KC_VERSION_NUM. */
int kc_version(void);

#ifdef __cplusplus
}
#endif
#endif
