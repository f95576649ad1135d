/* Fetch: long-polling reads of partition logs. (Being written.) */
#include "handlers/handlers.h"

void broker_notify_append(broker_t *b, broker_partition_t *p)
{
    (void)b;
    (void)p;
}
