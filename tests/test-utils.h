/* test-utils.h: helpers shared by the GTest suites. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A UTC date for table-driven tests; free with g_date_time_unref. */
GDateTime *pay_test_utc (gint year, gint month, gint day, gint hour, gint minute, gint second);

G_END_DECLS
