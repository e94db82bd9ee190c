/* pay-cache-private.h: what pay-cache.c shares with pay-cache-lookup.c. Not for other
 * modules: they use pay-cache.h. */
#pragma once

#include "storage/pay-cache.h"

G_BEGIN_DECLS

/* A GET's outcome: @ok FALSE when Redis failed; otherwise @value (@len bytes) is the
 * key's value, NULL when the key does not exist. Valid only during the call. */
typedef void (*PayCacheGetFunc) (gboolean ok, const gchar *value, gsize len, gpointer user_data);

/* One GET of @key on the cache's context; @got runs there, within about
 * settings->timeout_ms (a failure when Redis is not connected or too slow). */
void pay_cache_get_async (PayCache        *self,
                          const gchar     *key,
                          PayCacheGetFunc  got,
                          gpointer         user_data);

G_END_DECLS
