/* test-utils.h: helpers shared by the GTest suites. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A UTC date for table-driven tests; free with g_date_time_unref. */
GDateTime *pay_test_utc (gint year, gint month, gint day, gint hour, gint minute, gint second);

/* A loopback port nothing listens on (bound, then released). */
guint16 pay_test_unused_loopback_port (void);

G_END_DECLS
