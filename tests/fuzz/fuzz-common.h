/* fuzz-common.h: shared by the fuzz targets. */
#pragma once

#include <stdio.h>
#include <stdlib.h>

#include <glib.h>

/* A GLib warning or critical (a g_return_if_fail that fired, a GError set twice...) is a
 * bug the fuzzer must report: print it and abort(), which libFuzzer catches and turns
 * into a crash artifact (a SIGTRAP from G_DEBUG=fatal-* would not be). Messages below
 * warnings (a connection's info and debug lines, one per bad request) are dropped. */
static void
fuzz_log_handler (const gchar *domain, GLogLevelFlags level, const gchar *message,
                  gpointer data)
{
  if (!(level & (G_LOG_FLAG_FATAL | G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)))
    return;
  fprintf (stderr, "%s: %s\n", domain != NULL ? domain : "(none)", message);
  abort ();
}

static inline void
fuzz_abort_on_warnings (void)
{
  g_log_set_default_handler (fuzz_log_handler, NULL);
}

/* What every target's LLVMFuzzerInitialize does. */
static inline void
fuzz_init_glib (void)
{
  setenv ("G_SLICE", "always-malloc", 1);
  fuzz_abort_on_warnings ();
}
