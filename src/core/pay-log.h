/* pay-log.h: the structured log writer: level filter, text or JSON lines on stderr. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  GLogLevelFlags level;   /* the least severe level written */
  gboolean       json;    /* one JSON object per line instead of text */
} PayLogSettings;

/* The writer's state. Lives for the whole process (main.c keeps it on its stack); the
 * fields after settings are private. */
typedef struct {
  PayLogSettings settings;
  GMutex         lock;          /* orders lines from every thread */
  GString       *pending;       /* info and debug lines of the loop's thread, unwritten */
  GMainContext  *context;       /* whose owning thread buffers; NULL: none does */
  GSource       *flush_source;
  gint64         stamp_second;  /* the second stamp_text shows (under lock) */
  gchar          stamp_text[24];   /* "YYYY-MM-DDTHH:MM:SS.", reused within the second */
} PayLog;

/* Installs the writer for the whole process: lines go straight to stderr, one write(2)
 * each, until pay_log_attach(). @log must outlive every log call. */
void pay_log_install (PayLog *log, const PayLogSettings *settings);

/* From now on, info and debug lines logged by the thread running @context's loop wait
 * in memory until that loop is about to sleep (or 64 KiB are waiting), then go out in one
 * write(2): one request's line no longer costs a syscall of its own. Lines at `message`
 * and above, and lines from other threads, are written at once, after what is waiting,
 * so the order is kept. */
void pay_log_attach (PayLog *log, GMainContext *context);

/* Writes what is waiting and stops buffering (call before the loop goes away). */
void pay_log_detach (PayLog *log);

/* Formats one record as the writer would print it (no trailing newline); for tests. */
gchar *pay_log_format (const PayLogSettings *settings,
                       GLogLevelFlags        level,
                       const GLogField      *fields,
                       gsize                 n_fields);

G_END_DECLS
