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
#define STAMP_SECOND_BYTES sizeof "2026-01-01T00:00:00."

/* The date and time of @second (Unix time, UTC) to the second, RFC 3339, with the dot
 * before the fraction: "2026-01-01T00:00:00.". */
static void
format_second (gint64 second, gchar out[STAMP_SECOND_BYTES])
{
  time_t secs = (time_t) second;
  struct tm tm;
  PayText text = pay_text_init (out, STAMP_SECOND_BYTES);

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
}

/* RFC 3339 UTC time with microseconds. One log line per request makes this hot:
 * GDateTime's formatter costs several times more than gmtime_r, and snprintf more than
 * putting the digits down; with @log (its lock held), the date and time to the second
 * are formatted once per second. */
static void
format_stamp (PayLog *log, gchar out[STAMP_BYTES])
{
  gint64 now = g_get_real_time ();
  gint64 second = now / G_USEC_PER_SEC;
  PayText text = pay_text_init (out, STAMP_BYTES);

  G_STATIC_ASSERT (sizeof log->stamp_text >= STAMP_SECOND_BYTES);
  if (log == NULL)
    {
      gchar prefix[STAMP_SECOND_BYTES];

      format_second (second, prefix);
      pay_text_put_len (&text, prefix, STAMP_SECOND_BYTES - 1);
    }
  else
    {
      if (log->stamp_second != second)
        {
          format_second (second, log->stamp_text);
          log->stamp_second = second;
        }
      pay_text_put_len (&text, log->stamp_text, STAMP_SECOND_BYTES - 1);
    }
  pay_text_put_uint (&text, (guint64) (now % G_USEC_PER_SEC), 6);
  pay_text_put (&text, "Z");
}

/* Appends one record as the writer prints it (no trailing newline) to @out; @log (its
 * lock held) or NULL, for the stamp. */
static void
append_line (PayLog               *log,
             const PayLogSettings *settings,
             GLogLevelFlags        level,
             const GLogField      *fields,
             gsize                 n_fields,
             GString              *out)
{
  gchar stamp[STAMP_BYTES];
  const gchar *domain = "payment", *message = "";
  g_autoptr(JsonBuilder) builder = NULL;

  format_stamp (log, stamp);
  /* The keys are compared without g_strcmp0(): this runs for every field of every line. */
  for (gsize i = 0; i < n_fields; i++)
    {
      const gchar *key = fields[i].key;

      if (key[0] == 'G' && strcmp (key, "GLIB_DOMAIN") == 0)
        domain = fields[i].value;
      else if (key[0] == 'M' && strcmp (key, "MESSAGE") == 0)
        message = fields[i].value;
    }

  if (!settings->json)
    {
      const gchar *name = level_name (level);
      gsize name_len = strlen (name);
      gsize pad = name_len < 8 ? 9 - name_len : 1;
      gsize domain_len = strlen (domain);
      gsize message_len = strlen (message);
      gsize at = out->len;
      gchar *p;

      /* "STAMP LEVEL    DOMAIN: MESSAGE", the level padded to 8 columns; the room for
       * the whole line made once, the pieces copied into it. */
      g_string_set_size (out, at + (STAMP_BYTES - 1) + 1 + name_len + pad + domain_len + 2
                              + message_len);
      p = out->str + at;
      memcpy (p, stamp, STAMP_BYTES - 1);
      p += STAMP_BYTES - 1;
      *p++ = ' ';
      memcpy (p, name, name_len);
      p += name_len;
      memset (p, ' ', pad);
      p += pad;
      memcpy (p, domain, domain_len);
      p += domain_len;
      *p++ = ':';
      *p++ = ' ';
      memcpy (p, message, message_len);
      return;
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
    g_autofree gchar *json = NULL;

    json_generator_set_root (generator, root);
    json = json_generator_to_data (generator, NULL);
    g_string_append (out, json);
  }
}

gchar *
pay_log_format (const PayLogSettings *settings,
                GLogLevelFlags        level,
                const GLogField      *fields,
                gsize                 n_fields)
{
  GString *out = g_string_sized_new (128);

  append_line (NULL, settings, level, fields, n_fields, out);
  return g_string_free (out, FALSE);
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

/* Writes one record: it waits in log->pending, or goes out at once with what waits
 * before it, in one write(2): lines from different threads never interleave (up to
 * PIPE_BUF bytes on a pipe), and nothing sits in a stdio buffer. The line is formatted
 * straight into log->pending, under the lock (which also guards the stamp's cache). */
static GLogWriterOutput
writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  PayLog *log = user_data;

  if (!wanted (&log->settings, level))
    return G_LOG_WRITER_HANDLED;
  g_mutex_lock (&log->lock);
  if (log->pending != NULL)
    {
      gboolean buffer = (level & (G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG)) != 0
                        && (level & ~(G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG) & G_LOG_LEVEL_MASK) == 0
                        && g_main_context_is_owner (log->context);

      append_line (log, &log->settings, level, fields, n_fields, log->pending);
      g_string_append_c (log->pending, '\n');
      if (!buffer || log->pending->len >= PENDING_MAX_BYTES)
        flush_locked (log);
    }
  else
    {
      g_autoptr(GString) line = g_string_sized_new (128);

      append_line (log, &log->settings, level, fields, n_fields, line);
      g_string_append_c (line, '\n');
      write_all (line->str, line->len);
    }
  g_mutex_unlock (&log->lock);
  return G_LOG_WRITER_HANDLED;
}

void
pay_log_install (PayLog *log, const PayLogSettings *settings)
{
  memset (log, 0, sizeof *log);
  log->settings = *settings;
  log->stamp_second = -1;
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
