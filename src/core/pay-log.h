/* pay-log.h: the structured log writer: level filter, text or JSON lines on stderr. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  GLogLevelFlags level;   /* the least severe level written */
  gboolean       json;    /* one JSON object per line instead of text */
} PayLogSettings;

/* Installs the writer for the whole process. @settings must outlive every log call
 * (main.c keeps it on its stack for the life of the process). */
void pay_log_install (const PayLogSettings *settings);

/* Formats one record as the writer would print it (no trailing newline); for tests. */
gchar *pay_log_format (const PayLogSettings *settings,
                       GLogLevelFlags        level,
                       const GLogField      *fields,
                       gsize                 n_fields);

G_END_DECLS
