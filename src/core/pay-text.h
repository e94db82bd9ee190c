/* pay-text.h: appending text and decimal numbers to a bounded buffer without printf.
 * The log line written for every request is built with these: printf's format parsing
 * was most of its cost. Output that does not fit is cut off; the buffer stays a string. */
#pragma once

#include <string.h>

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  gchar *pos;   /* where the next byte goes; always < end */
  gchar *end;   /* the buffer's last byte, kept for the NUL */
} PayText;

static inline PayText
pay_text_init (gchar *buf, gsize size)
{
  g_assert (size > 0);
  buf[0] = '\0';
  return (PayText) { buf, buf + size - 1 };
}

static inline void
pay_text_put_len (PayText *text, const gchar *s, gsize len)
{
  gsize room = (gsize) (text->end - text->pos);

  if (len > room)
    len = room;
  memcpy (text->pos, s, len);
  text->pos += len;
  *text->pos = '\0';
}

static inline void
pay_text_put (PayText *text, const gchar *s)
{
  pay_text_put_len (text, s, strlen (s));
}

/* @value in decimal, at least @width digits (zero-padded). */
static inline void
pay_text_put_uint (PayText *text, guint64 value, guint width)
{
  gchar digits[20];
  guint n = 0;

  do
    {
      digits[sizeof digits - 1 - n++] = (gchar) ('0' + value % 10);
      value /= 10;
    }
  while (value != 0 && n < sizeof digits);
  while (n < width && n < sizeof digits)
    digits[sizeof digits - 1 - n++] = '0';
  pay_text_put_len (text, digits + sizeof digits - n, n);
}

static inline void
pay_text_put_int (PayText *text, gint64 value)
{
  if (value < 0)
    {
      pay_text_put_len (text, "-", 1);
      pay_text_put_uint (text, (guint64) 0 - (guint64) value, 1);
      return;
    }
  pay_text_put_uint (text, (guint64) value, 1);
}

G_END_DECLS
