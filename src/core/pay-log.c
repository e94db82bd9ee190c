/* pay-log.c: structured log writer for g_log_structured (text or JSON lines). */
#include "core/pay-log.h"

#include "core/pay-text.h"

#include <json-glib/json-glib.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const gchar *
level_name (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR)    return "error";
  if (level & G_LOG_LEVEL_CRITICAL) return "critical";
  if (level & G_LOG_LEVEL_WARNING)  return "warning";
  if (level & G_LOG_LEVEL_MESSAGE)  return "message";
  if (level & G_LOG_LEVEL_INFO)     return "info";
  return "debug";
}

/* GLib's levels are bit flags ordered from most (ERROR) to least severe (DEBUG). */
static gboolean
wanted (const PayLogSettings *settings, GLogLevelFlags level)
{
  return (level & G_LOG_LEVEL_MASK) <= settings->level;
}

#define STAMP_BYTES sizeof "2026-01-01T00:00:00.000000Z"

/* RFC 3339 UTC time with microseconds. One log line per request makes this hot:
 * GDateTime's formatter costs several times more than gmtime_r, and snprintf more than
 * putting the digits down. */
static void
format_stamp (gchar out[STAMP_BYTES])
{
  gint64 now = g_get_real_time ();
  time_t secs = (time_t) (now / G_USEC_PER_SEC);
  struct tm tm;
  PayText text = pay_text_init (out, STAMP_BYTES);

  gmtime_r (&secs, &tm);
  pay_text_put_uint (&text, (guint64) tm.tm_year + 1900, 4);
  pay_text_put (&text, "-");
  pay_text_put_uint (&text, (guint64) tm.tm_mon + 1, 2);
  pay_text_put (&text, "-");
  pay_text_put_uint (&text, (guint64) tm.tm_mday, 2);
  pay_text_put (&text, "T");
  pay_text_put_uint (&text, (guint64) tm.tm_hour, 2);
  pay_text_put (&text, ":");
  pay_text_put_uint (&text, (guint64) tm.tm_min, 2);
  pay_text_put (&text, ":");
  pay_text_put_uint (&text, (guint64) tm.tm_sec, 2);
  pay_text_put (&text, ".");
  pay_text_put_uint (&text, (guint64) (now % G_USEC_PER_SEC), 6);
  pay_text_put (&text, "Z");
}

gchar *
pay_log_format (const PayLogSettings *settings,
                GLogLevelFlags        level,
                const GLogField      *fields,
                gsize                 n_fields)
{
  gchar stamp[STAMP_BYTES];
  const gchar *domain = "payment", *message = "";
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(GString) text = NULL;

  format_stamp (stamp);
  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0)
        domain = fields[i].value;
      else if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
        message = fields[i].value;
    }

  if (!settings->json)
    {
      const gchar *name = level_name (level);
      gsize name_len = strlen (name);

      /* "STAMP LEVEL    DOMAIN: MESSAGE", the level padded to 8 columns. */
      text = g_string_sized_new (STAMP_BYTES + 10 + strlen (domain) + strlen (message) + 2);
      g_string_append_len (text, stamp, STAMP_BYTES - 1);
      g_string_append_c (text, ' ');
      g_string_append_len (text, name, (gssize) name_len);
      for (gsize i = name_len; i < 8; i++)
        g_string_append_c (text, ' ');
      g_string_append_c (text, ' ');
      g_string_append (text, domain);
      g_string_append (text, ": ");
      g_string_append (text, message);
      return g_string_free (g_steal_pointer (&text), FALSE);
    }

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "time");
  json_builder_add_string_value (builder, stamp);
  json_builder_set_member_name (builder, "level");
  json_builder_add_string_value (builder, level_name (level));
  json_builder_set_member_name (builder, "domain");
  json_builder_add_string_value (builder, domain);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message);
  for (gsize i = 0; i < n_fields; i++)
    {
      const gchar *key = fields[i].key;

      /* GLib's own bookkeeping fields and binary values stay out of the line. */
      if (fields[i].length != -1 || g_str_has_prefix (key, "GLIB_") ||
          g_strcmp0 (key, "MESSAGE") == 0 || g_strcmp0 (key, "PRIORITY") == 0 ||
          g_str_has_prefix (key, "CODE_"))
        continue;
      json_builder_set_member_name (builder, key);
      json_builder_add_string_value (builder, fields[i].value);
    }
  json_builder_end_object (builder);
  {
    g_autoptr(JsonGenerator) generator = json_generator_new ();
    g_autoptr(JsonNode) root = json_builder_get_root (builder);

    json_generator_set_root (generator, root);
    return json_generator_to_data (generator, NULL);
  }
}

#define PENDING_MAX_BYTES (64 * 1024)

static void
write_all (const gchar *data, gsize len)
{
  gsize done = 0;

  while (done < len)
    {
      gssize n = write (STDERR_FILENO, data + done, len - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      done += (gsize) n;
    }
}

/* Called with log->lock held. */
static void
flush_locked (PayLog *log)
{
  if (log->pending == NULL || log->pending->len == 0)
    return;
  write_all (log->pending->str, log->pending->len);
  g_string_truncate (log->pending, 0);
}

/* Either waits in log->pending, or goes out at once (after what waits), in one write(2)
 * per record: lines from different threads never interleave (up to PIPE_BUF bytes on a
 * pipe), and nothing sits in a stdio buffer. */
static void
emit (PayLog *log, GLogLevelFlags level, gchar *line)
{
  gsize len = strlen (line);
  gboolean buffer = log->pending != NULL
                    && (level & (G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG)) != 0
                    && (level & ~(G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG) & G_LOG_LEVEL_MASK) == 0
                    && g_main_context_is_owner (log->context);

  g_mutex_lock (&log->lock);
  if (buffer)
    {
      g_string_append_len (log->pending, line, (gssize) len);
      g_string_append_c (log->pending, '\n');
      if (log->pending->len >= PENDING_MAX_BYTES)
        flush_locked (log);
    }
  else
    {
      flush_locked (log);
      line[len] = '\n';   /* replaces the NUL; pay_log_format's strings have room for it */
      write_all (line, len + 1);
      line[len] = '\0';
    }
  g_mutex_unlock (&log->lock);
}

static GLogWriterOutput
writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  PayLog *log = user_data;
  g_autofree gchar *line = NULL;

  if (!wanted (&log->settings, level))
    return G_LOG_WRITER_HANDLED;
  line = pay_log_format (&log->settings, level, fields, n_fields);
  emit (log, level, line);
  return G_LOG_WRITER_HANDLED;
}

void
pay_log_install (PayLog *log, const PayLogSettings *settings)
{
  memset (log, 0, sizeof *log);
  log->settings = *settings;
  g_mutex_init (&log->lock);
  g_log_set_writer_func (writer, log, NULL);
}

/* A source that never dispatches: the loop calls its prepare() before every poll, which
 * is when the lines of the iteration go out. */
typedef struct {
  GSource source;
  PayLog *log;
} FlushSource;

static gboolean
flush_source_prepare (GSource *source, gint *timeout)
{
  PayLog *log = ((FlushSource *) source)->log;

  *timeout = -1;
  g_mutex_lock (&log->lock);
  flush_locked (log);
  g_mutex_unlock (&log->lock);
  return FALSE;
}

static GSourceFuncs flush_source_funcs = { .prepare = flush_source_prepare };

void
pay_log_attach (PayLog *log, GMainContext *context)
{
  g_return_if_fail (log->flush_source == NULL);

  log->flush_source = g_source_new (&flush_source_funcs, sizeof (FlushSource));
  ((FlushSource *) log->flush_source)->log = log;
  g_source_set_name (log->flush_source, "payment log flush");
  /* Prepared first: GLib stops preparing lower priorities once a source is ready. */
  g_source_set_priority (log->flush_source, G_PRIORITY_HIGH);
  g_mutex_lock (&log->lock);
  log->context = g_main_context_ref (context);
  log->pending = g_string_sized_new (PENDING_MAX_BYTES + 1024);
  g_mutex_unlock (&log->lock);
  g_source_attach (log->flush_source, context);
}

void
pay_log_detach (PayLog *log)
{
  if (log->flush_source == NULL)
    return;
  g_source_destroy (log->flush_source);
  g_clear_pointer (&log->flush_source, g_source_unref);
  g_mutex_lock (&log->lock);
  flush_locked (log);
  g_string_free (g_steal_pointer (&log->pending), TRUE);
  g_clear_pointer (&log->context, g_main_context_unref);
  g_mutex_unlock (&log->lock);
}
