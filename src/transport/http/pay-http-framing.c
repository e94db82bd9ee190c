/* pay-http-framing.c: the strict HTTP/1.x request framing of pay-http-framing.h, one
 * state per part of a request, updated per byte (a body is skipped by its length). */
#include "transport/http/pay-http-framing.h"

#include <string.h>

enum {
  S_REQUEST,        /* before a request line (one empty line may come first) */
  S_METHOD,         /* in the method: ->word holds the methods still matched */
  S_TARGET_START,   /* after the method's SP */
  S_TARGET,         /* in the request target */
  S_VERSION,        /* in "HTTP/1.x" */
  S_VERSION_END,    /* after it: only the line's end */
  S_LINE,           /* at a field line's first byte, or the head's empty last line */
  S_NAME,           /* in a field name: ->word holds the names still matched */
  S_VALUE,          /* in a field value */
  S_BODY,           /* in a Content-Length body: ->remaining bytes left */
  S_CHUNK_SIZE,     /* in a chunk size line's hex digits */
  S_CHUNK_EXT,      /* in its extension, up to the line's end */
  S_CHUNK_DATA,     /* in a chunk's data: ->remaining bytes left */
  S_CHUNK_END,      /* the line end after a chunk's data */
  S_LAST_END,       /* the empty line after the last chunk (no trailer fields) */
};

/* Field values checked. */
enum {
  FIELD_OTHER,
  FIELD_CODING,
  FIELD_LENGTH,
};

enum {
  VALUE_LEADING,    /* white space before the value */
  VALUE_WORD,       /* in the value: the coding's letters, or the length's digits */
  VALUE_TRAILING,   /* white space after it: only more may follow */
};

/* RFC 9110's, PATCH and QUERY (the safe method with content that HTTP is adding): a fixed
 * set, answered 405 by the routes when not theirs. Any other is refused here. */
static const gchar *const methods[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT",
                                        "OPTIONS", "TRACE", "PATCH", "QUERY" };
static const gchar *const names[] = { "transfer-encoding", "content-length" };
static const gchar *const codings[] = { "chunked", "identity" };
#define CODING_CHUNKED 1u   /* bit of codings[0] */
#define VERSION_PREFIX "HTTP/1."
/* Significant digits a length may have: 19 can overflow the gint64 libsoup 3.2.3 stores it
 * in (it then builds the message with a GObject warning and a length of its own), and no
 * body we take comes near 10^18 bytes. */
#define MAX_LENGTH_DIGITS 18
/* Hex digits of a chunk size: no overflow of 64 bits (libsoup reads it with strtoul). */
#define MAX_CHUNK_DIGITS 16
/* Bytes of a chunk size line past its digits: libsoup reads the line into 128 bytes. */
#define MAX_CHUNK_EXT 64

/* One more (lower-cased, for names and codings) byte of a token against the words still
 * matched (bits of @words, ->at bytes of each matched so far); returns those still
 * matched. */
static guint16
match (const gchar *const *words, guint n_words, guint16 matched, guint8 at, gchar c)
{
  for (guint i = 0; i < n_words; i++)
    if ((matched & (1u << i)) && (at >= strlen (words[i]) || words[i][at] != c))
      matched &= (guint16) ~(1u << i);
  return matched;
}

/* Whether one of the words matched is whole at ->at bytes. */
static gboolean
whole (const gchar *const *words, guint n_words, guint16 matched, guint8 at)
{
  for (guint i = 0; i < n_words; i++)
    if ((matched & (1u << i)) && strlen (words[i]) == at)
      return TRUE;
  return FALSE;
}

static guint16
all_bits (guint n)
{
  return (guint16) ((1u << n) - 1);
}

/* RFC 9110 tchar. */
static gboolean
is_tchar (guchar c)
{
  return g_ascii_isalnum (c) || (c != 0 && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

/* A field value's byte: VCHAR, SP, HT or obs-text. */
static gboolean
is_field_byte (guchar c)
{
  return c == ' ' || c == '\t' || (c >= 0x21 && c != 0x7F);
}

/* The head is whole: the body's framing decides what comes next. */
static void
head_done (PayHttpFraming *self)
{
  if (self->chunked)
    self->state = S_CHUNK_SIZE;
  else if (self->has_length && self->length > 0)
    {
      self->state = S_BODY;
      self->remaining = self->length;
    }
  else
    self->state = S_REQUEST;
  self->at = 0;
  self->chunked = self->coded = self->has_length = self->blank = FALSE;
  self->length = 0;
  self->number = 0;
}

/* The checked field's value is whole (its line ended); FALSE: refused. */
static gboolean
value_done (PayHttpFraming *self)
{
  if (self->field == FIELD_OTHER)
    return TRUE;
  if (self->value == VALUE_LEADING)
    return FALSE;   /* empty */
  if (self->field == FIELD_CODING)
    {
      if (!whole (codings, G_N_ELEMENTS (codings), self->word, self->at) || self->coded)
        return FALSE;
      self->coded = TRUE;
      self->chunked = (self->word & CODING_CHUNKED) && self->at == strlen (codings[0]);
    }
  else
    {
      if (self->has_length && self->length != self->number)
        return FALSE;
      self->has_length = TRUE;
      self->length = self->number;
    }
  /* A length and chunked: which one frames the body is where smuggling starts. */
  return !(self->chunked && self->has_length);
}

/* One more byte of a checked field's value (not CR or LF); FALSE: refused. */
static gboolean
value_byte (PayHttpFraming *self, guchar c)
{
  gboolean blank = c == ' ' || c == '\t';

  if (self->value == VALUE_LEADING && blank)
    return TRUE;
  if (self->value == VALUE_TRAILING)
    return blank;
  if (self->value == VALUE_WORD && blank)
    {
      self->value = VALUE_TRAILING;
      return TRUE;
    }
  self->value = VALUE_WORD;
  if (self->field == FIELD_LENGTH)
    {
      if (!g_ascii_isdigit (c))
        return FALSE;
      self->number = self->number * 10 + (guint64) (c - '0');
      if (self->number > 0)   /* ->at: significant digits; leading zeros are not */
        self->at++;
      return self->at <= MAX_LENGTH_DIGITS;
    }
  self->word = match (codings, G_N_ELEMENTS (codings), self->word, self->at++,
                      g_ascii_tolower ((gchar) c));
  return self->word != 0;
}

/* A line ended (LF, after an optional CR) in the current state; FALSE: refused. */
static gboolean
line_end (PayHttpFraming *self)
{
  switch (self->state)
    {
    case S_REQUEST:
      if (self->blank)
        return FALSE;   /* one empty line before a request, not more */
      self->blank = TRUE;
      return TRUE;
    case S_VERSION_END:
      self->state = S_LINE;
      return TRUE;
    case S_LINE:
      head_done (self);
      return TRUE;
    case S_VALUE:
      if (!value_done (self))
        return FALSE;
      self->state = S_LINE;
      return TRUE;
    case S_CHUNK_SIZE:
      if (self->at == 0)
        return FALSE;
      /* fall through */
    case S_CHUNK_EXT:
      self->state = self->number > 0 ? S_CHUNK_DATA : S_LAST_END;
      self->remaining = self->number;
      return TRUE;
    case S_CHUNK_END:
      self->state = S_CHUNK_SIZE;
      self->at = 0;
      self->number = 0;
      return TRUE;
    case S_LAST_END:
      self->state = S_REQUEST;
      return TRUE;
    default:
      return FALSE;
    }
}

/* One byte of a request line. */
static gboolean
request_line_byte (PayHttpFraming *self, guchar c)
{
  switch (self->state)
    {
    case S_REQUEST:
      self->state = S_METHOD;
      self->at = 0;
      self->word = all_bits (G_N_ELEMENTS (methods));
      /* fall through */
    case S_METHOD:
      if (c == ' ' && self->at > 0)
        {
          if (!whole (methods, G_N_ELEMENTS (methods), self->word, self->at))
            return FALSE;
          self->state = S_TARGET_START;
          return TRUE;
        }
      self->word = match (methods, G_N_ELEMENTS (methods), self->word, self->at++, (gchar) c);
      return self->word != 0;
    case S_TARGET_START:
    case S_TARGET:
      if (c == ' ' && self->state == S_TARGET)
        {
          self->state = S_VERSION;
          self->at = 0;
          return TRUE;
        }
      self->state = S_TARGET;
      return c >= 0x21 && c <= 0x7E;
    case S_VERSION:
      if (self->at < strlen (VERSION_PREFIX))
        return c == (guchar) VERSION_PREFIX[self->at++];
      self->state = S_VERSION_END;
      return c == '0' || c == '1';
    default:   /* S_VERSION_END: only the line's end */
      return FALSE;
    }
}

/* One byte of a field line. */
static gboolean
field_byte (PayHttpFraming *self, guchar c)
{
  switch (self->state)
    {
    case S_LINE:
      if (c == ' ' || c == '\t')
        return FALSE;   /* obsolete line folding */
      self->state = S_NAME;
      self->at = 0;
      self->word = all_bits (G_N_ELEMENTS (names));
      /* fall through */
    case S_NAME:
      if (c == ':' && self->at > 0)
        {
          self->field = FIELD_OTHER;
          if (whole (names, G_N_ELEMENTS (names), self->word, self->at))
            self->field = (self->word & 1u) ? FIELD_CODING : FIELD_LENGTH;
          self->state = S_VALUE;
          self->value = VALUE_LEADING;
          self->at = 0;
          self->number = 0;
          self->word = all_bits (G_N_ELEMENTS (codings));
          return TRUE;
        }
      if (!is_tchar (c))
        return FALSE;
      if (self->at < G_MAXUINT8)
        self->word = match (names, G_N_ELEMENTS (names), self->word, self->at++,
                            g_ascii_tolower ((gchar) c));
      else
        self->word = 0;
      return TRUE;
    default:   /* S_VALUE */
      if (!is_field_byte (c))
        return FALSE;
      return self->field == FIELD_OTHER || value_byte (self, c);
    }
}

/* One byte of a chunked body's framing (not its data). */
static gboolean
chunk_byte (PayHttpFraming *self, guchar c)
{
  switch (self->state)
    {
    case S_CHUNK_SIZE:
      if (c == ';' && self->at > 0)
        {
          self->state = S_CHUNK_EXT;
          self->at = 0;
          return TRUE;
        }
      if (!g_ascii_isxdigit (c) || self->at >= MAX_CHUNK_DIGITS)
        return FALSE;
      self->at++;
      self->number = self->number * 16 + (guint64) g_ascii_xdigit_value ((gchar) c);
      return TRUE;
    case S_CHUNK_EXT:
      return is_field_byte (c) && ++self->at <= MAX_CHUNK_EXT;
    default:   /* S_CHUNK_END, S_LAST_END: only the line's end */
      return FALSE;
    }
}

/* One byte outside a body's data; FALSE: refused. */
static gboolean
scan_byte (PayHttpFraming *self, guchar c)
{
  if (self->cr)
    {
      self->cr = FALSE;
      return c == '\n' && line_end (self);
    }
  if (c == '\n')
    return line_end (self);
  if (c == '\r')
    {
      /* A CR may end any line but the request line's before its version, and a name's. */
      self->cr = self->state != S_METHOD && self->state != S_TARGET_START &&
                 self->state != S_TARGET && self->state != S_VERSION &&
                 self->state != S_NAME;
      return self->cr;
    }
  switch (self->state)
    {
    case S_REQUEST:
    case S_METHOD:
    case S_TARGET_START:
    case S_TARGET:
    case S_VERSION:
    case S_VERSION_END:
      return request_line_byte (self, c);
    case S_LINE:
    case S_NAME:
    case S_VALUE:
      return field_byte (self, c);
    default:
      return chunk_byte (self, c);
    }
}

gsize
pay_http_framing_scan (PayHttpFraming *self, const guint8 *data, gsize length)
{
  gsize i = 0;

  while (i < length)
    {
      if (self->state == S_BODY || self->state == S_CHUNK_DATA)
        {
          gsize take = (gsize) MIN ((guint64) (length - i), self->remaining);

          i += take;
          self->remaining -= take;
          if (self->remaining == 0)
            self->state = self->state == S_BODY ? S_REQUEST : S_CHUNK_END;
          continue;
        }
      if (!scan_byte (self, data[i]))
        return i;
      i++;
    }
  return length;
}
