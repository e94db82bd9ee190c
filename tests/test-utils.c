/* test-utils.c: helpers shared by the GTest suites. */
#include "test-utils.h"

GDateTime *
pay_test_utc (gint year, gint month, gint day, gint hour, gint minute, gint second)
{
  return g_date_time_new_utc (year, month, day, hour, minute, second);
}
