/* pay-http-framing.c: the Transfer-Encoding / Content-Length screen libsoup 3.2.3 needs
 * (see the header). One state per line, updated per byte. */
#include "transport/http/pay-http-framing.h"

#include <string.h>

enum {
  LINE_START,   /* at the first byte of a line */
  LINE_NAME,    /* maybe one of the two names: ->name holds the candidates */
  LINE_OTHER,   /* any other line: skipped to its end */
  LINE_CODING,  /* "Transfer-Encoding:" matched, in its value */
  LINE_LENGTH,  /* "Content-Length:" matched, in its value */
};

enum {
  VALUE_LEADING,    /* white space before the value */
  VALUE_WORD,       /* in the value: the coding's letters, or the length's digits */
  VALUE_TRAILING,   /* white space after it: only more may follow */
};

#define NAME_CODING  "transfer-encoding:"
#define NAME_LENGTH  "content-length:"
#define BIT_CODING   1u
#define BIT_LENGTH   2u
#define WORD_CHUNKED "chunked"
#define WORD_IDENTITY "identity"
/* Significant digits a length may have: 19 can overflow the gint64 libsoup 3.2.3 stores it
 * in (it then builds the message with a GObject warning and a length of its own), and no
 * body we take comes near 10^18 bytes. */
#define MAX_LENGTH_DIGITS 18
#define BIT_CHUNKED  1u
#define BIT_IDENTITY 2u

/* One more byte of "chunked"/"identity"; ->at counts the letters matched. */
static guint8
match_word (guint8 candidates, guint8 at, gchar c)
{
  if ((candidates & BIT_CHUNKED) && (at >= strlen (WORD_CHUNKED) || WORD_CHUNKED[at] != c))
    candidates &= ~BIT_CHUNKED;
  if ((candidates & BIT_IDENTITY) && (at >= strlen (WORD_IDENTITY) || WORD_IDENTITY[at] != c))
    candidates &= ~BIT_IDENTITY;
  return candidates;
}

/* Whether the coding's value, as far as read, is a whole "chunked" or "identity". */
static gboolean
word_whole (const PayHttpFraming *self)
{
  return ((self->word & BIT_CHUNKED) && self->at == strlen (WORD_CHUNKED)) ||
         ((self->word & BIT_IDENTITY) && self->at == strlen (WORD_IDENTITY));
}

/* Whether the matched header's value may end here. */
static gboolean
value_whole (const PayHttpFraming *self)
{
  if (self->value == VALUE_TRAILING)
    return TRUE;
  if (self->value != VALUE_WORD)
    return FALSE;   /* empty */
  return self->name == LINE_LENGTH || word_whole (self);
}

/* One more byte of the matched header's value (not LF); FALSE: refused. */
static gboolean
value_byte (PayHttpFraming *self, gchar c)
{
  gboolean blank = c == ' ' || c == '\t' || c == '\r';

  if (self->value == VALUE_LEADING && blank)
    return TRUE;
  if (self->value == VALUE_TRAILING)
    return blank;
  if (self->value == VALUE_WORD && blank)
    {
      if (!value_whole (self))
        return FALSE;
      self->value = VALUE_TRAILING;
      return TRUE;
    }
  self->value = VALUE_WORD;
  if (self->name == LINE_LENGTH)
    {
      if (!g_ascii_isdigit (c))
        return FALSE;
      if (c != '0' || self->at > 0)   /* ->at: significant digits; leading zeros are not */
        self->at++;
      return self->at <= MAX_LENGTH_DIGITS;
    }
  self->word = match_word (self->word, self->at++, g_ascii_tolower (c));
  return self->word != 0;
}

/* One more byte of a line that may be one of the two names. */
static void
name_byte (PayHttpFraming *self, gchar c)
{
  gchar lower = g_ascii_tolower (c);
  guint8 at = self->at++;

  if ((self->word & BIT_CODING) && NAME_CODING[at] != lower)
    self->word &= ~BIT_CODING;
  if ((self->word & BIT_LENGTH) && NAME_LENGTH[at] != lower)
    self->word &= ~BIT_LENGTH;
  if ((self->word & BIT_CODING) && self->at == strlen (NAME_CODING))
    self->name = LINE_CODING;
  else if ((self->word & BIT_LENGTH) && self->at == strlen (NAME_LENGTH))
    self->name = LINE_LENGTH;
  else if (self->word == 0)
    self->name = LINE_OTHER;
  else
    return;
  self->at = 0;
  self->value = VALUE_LEADING;
  self->word = BIT_CHUNKED | BIT_IDENTITY;
}

/* One byte (not NUL); FALSE: refused. */
static gboolean
scan_byte (PayHttpFraming *self, gchar c)
{
  gboolean matched = self->name == LINE_CODING || self->name == LINE_LENGTH;

  if (c == '\n')
    {
      gboolean whole = !matched || value_whole (self);

      self->fold = matched;
      self->name = LINE_START;
      return whole;
    }
  switch (self->name)
    {
    case LINE_START:
      if (self->fold && (c == ' ' || c == '\t'))
        return FALSE;   /* a continuation of a matched header */
      self->fold = FALSE;
      self->name = LINE_NAME;
      self->at = 0;
      self->word = BIT_CODING | BIT_LENGTH;
      name_byte (self, c);
      return TRUE;
    case LINE_NAME:
      name_byte (self, c);
      return TRUE;
    case LINE_OTHER:
      return TRUE;
    default:
      return value_byte (self, c);
    }
}

gsize
pay_http_framing_scan (PayHttpFraming *self, const guint8 *data, gsize length)
{
  for (gsize i = 0; i < length; i++)
    if (data[i] != '\0' && !scan_byte (self, (gchar) data[i]))
      return i;
  return length;
}
