/* pay-json-strict.c: a recursive-descent RFC 8259 parser with the service's refusals
 * (pay-json-strict.h), building json-glib nodes. Each byte is looked at a bounded number
 * of times, and the recursion is bounded by PAY_JSON_MAX_DEPTH. */
#define G_LOG_DOMAIN "payment-http"

#include "transport/http/pay-json-strict.h"

#include <string.h>

#include "core/pay-error.h"

/* Longest member name echoed back in an error message. */
#define MAX_NAME_IN_MESSAGE 64
/* Longest decimal int64 literal: "-9223372036854775808". */
#define MAX_INT64_CHARS 20
/* Decimal digits of PAY_JSON_MAX_EXACT_INTEGER: anything with more is above it. */
#define MAX_EXACT_INTEGER_DIGITS 16
/* An exponent is read up to this magnitude; past it, the value is 0 or huge anyway. */
#define MAX_EXPONENT 1000000000

typedef struct {
  const gchar *data;
  gsize        length;
  gsize        pos;
  GString     *scratch;   /* the string being unescaped; wiped after use (card numbers) */
  GError     **error;
} Parser;

static gboolean
fail (Parser *p, const gchar *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
fail (Parser *p, const gchar *format, ...)
{
  va_list args;
  g_autofree gchar *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (p->error, PAY_ERROR, PAY_ERROR_INVALID_REQUEST, message);
  return FALSE;
}

static gboolean
fail_malformed (Parser *p, const gchar *what)
{
  return fail (p, "malformed JSON: %s at offset %" G_GSIZE_FORMAT, what, p->pos);
}

static void
skip_whitespace (Parser *p)
{
  while (p->pos < p->length)
    {
      gchar c = p->data[p->pos];

      if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
        return;
      p->pos++;
    }
}

/* Consumes @c (after whitespace) or fails with @what. */
static gboolean
expect (Parser *p, gchar c, const gchar *what)
{
  skip_whitespace (p);
  if (p->pos >= p->length || p->data[p->pos] != c)
    return fail_malformed (p, what);
  p->pos++;
  return TRUE;
}

static JsonNode *parse_value (Parser *p, guint depth, const gchar *name);

/* ---------------------------------------------------------------------------------- */
/* Strings                                                                            */
/* ---------------------------------------------------------------------------------- */

/* Four hex digits at the current position. */
static gboolean
read_hex4 (Parser *p, gunichar *out)
{
  *out = 0;
  if (p->length - p->pos < 4)
    return fail_malformed (p, "short \\u escape");
  for (guint k = 0; k < 4; k++)
    {
      gint digit = g_ascii_xdigit_value (p->data[p->pos + k]);

      if (digit < 0)
        return fail_malformed (p, "bad \\u escape");
      *out = (*out << 4) | (gunichar) digit;
    }
  p->pos += 4;
  return TRUE;
}

/* A \u escape (the "\u" consumed): one code point, a surrogate pair joined. */
static gboolean
read_unicode_escape (Parser *p, gunichar *out)
{
  gunichar low;

  if (!read_hex4 (p, out))
    return FALSE;
  if (*out == 0)
    return fail (p, "a string holds a NUL (\\u0000) at offset %" G_GSIZE_FORMAT, p->pos);
  if (*out >= 0xdc00 && *out <= 0xdfff)
    return fail (p, "lone UTF-16 surrogate escape at offset %" G_GSIZE_FORMAT, p->pos);
  if (*out < 0xd800 || *out > 0xdbff)
    return TRUE;
  if (p->length - p->pos < 2 || p->data[p->pos] != '\\' || p->data[p->pos + 1] != 'u')
    return fail (p, "lone UTF-16 surrogate escape at offset %" G_GSIZE_FORMAT, p->pos);
  p->pos += 2;
  if (!read_hex4 (p, &low))
    return FALSE;
  if (low < 0xdc00 || low > 0xdfff)
    return fail (p, "lone UTF-16 surrogate escape at offset %" G_GSIZE_FORMAT, p->pos);
  *out = 0x10000 + ((*out - 0xd800) << 10) + (low - 0xdc00);
  return TRUE;
}

/* One escape sequence (the backslash consumed), appended to p->scratch. */
static gboolean
read_escape (Parser *p)
{
  static const gchar from[] = "\"\\/bfnrt";
  static const gchar to[] = "\"\\/\b\f\n\r\t";
  const gchar *found;
  gunichar c;

  if (p->pos >= p->length)
    return fail_malformed (p, "unterminated string");
  found = p->data[p->pos] != '\0' ? strchr (from, p->data[p->pos]) : NULL;
  if (found != NULL)
    {
      g_string_append_c (p->scratch, to[found - from]);
      p->pos++;
      return TRUE;
    }
  if (p->data[p->pos] != 'u')
    return fail_malformed (p, "bad escape");
  p->pos++;
  if (!read_unicode_escape (p, &c))
    return FALSE;
  g_string_append_unichar (p->scratch, c);
  return TRUE;
}

/* A string (at its opening quote), unescaped into p->scratch. */
static gboolean
read_string (Parser *p)
{
  g_string_truncate (p->scratch, 0);
  p->pos++;
  for (;;)
    {
      gsize run = p->pos;
      guchar c;

      while (p->pos < p->length && p->data[p->pos] != '"' && p->data[p->pos] != '\\' &&
             (guchar) p->data[p->pos] >= 0x20)
        p->pos++;
      g_string_append_len (p->scratch, p->data + run, (gssize) (p->pos - run));
      if (p->pos >= p->length)
        return fail_malformed (p, "unterminated string");
      c = (guchar) p->data[p->pos];
      if (c < 0x20)
        return fail_malformed (p, "control character in a string");
      p->pos++;
      if (c == '"')
        break;
      if (!read_escape (p))
        return FALSE;
    }
  /* Escapes only add valid UTF-8 without NUL, so this judges the raw bytes. */
  if (!g_utf8_validate_len (p->scratch->str, p->scratch->len, NULL))
    return fail_malformed (p, "a string that is not UTF-8");
  return TRUE;
}

static void
wipe_scratch (Parser *p)
{
  explicit_bzero (p->scratch->str, p->scratch->allocated_len);
  g_string_truncate (p->scratch, 0);
}

static JsonNode *
parse_string (Parser *p)
{
  JsonNode *node;

  if (!read_string (p))
    return NULL;
  node = json_node_init_string (json_node_alloc (), p->scratch->str);
  wipe_scratch (p);
  return node;
}

/* ---------------------------------------------------------------------------------- */
/* Numbers                                                                            */
/* ---------------------------------------------------------------------------------- */

/* The parts of a number literal. */
typedef struct {
  gsize  start, end;                 /* the whole literal */
  gsize  int_start, int_len;         /* digits before the point */
  gsize  frac_start, frac_len;       /* digits after it */
  gint64 exponent;                   /* saturated at ±MAX_EXPONENT */
  gboolean has_exponent;
  gboolean negative;
} NumberLiteral;

static gsize
skip_digits (Parser *p)
{
  gsize start = p->pos;

  while (p->pos < p->length && g_ascii_isdigit (p->data[p->pos]))
    p->pos++;
  return p->pos - start;
}

static gboolean
read_exponent (Parser *p, NumberLiteral *n)
{
  gboolean negative = FALSE;
  gsize digits;

  n->has_exponent = TRUE;
  p->pos++;
  if (p->pos < p->length && (p->data[p->pos] == '+' || p->data[p->pos] == '-'))
    negative = p->data[p->pos++] == '-';
  digits = p->pos;
  if (skip_digits (p) == 0)
    return fail_malformed (p, "bad number");
  for (; digits < p->pos; digits++)
    n->exponent = MIN (n->exponent * 10 + (p->data[digits] - '0'), MAX_EXPONENT);
  if (negative)
    n->exponent = -n->exponent;
  return TRUE;
}

/* Splits the literal at the current position (RFC 8259 section 6). */
static gboolean
read_number (Parser *p, NumberLiteral *n)
{
  memset (n, 0, sizeof *n);
  n->start = p->pos;
  if (p->data[p->pos] == '-')
    {
      n->negative = TRUE;
      p->pos++;
    }
  n->int_start = p->pos;
  n->int_len = skip_digits (p);
  if (n->int_len == 0 || (n->int_len > 1 && p->data[n->int_start] == '0'))
    return fail_malformed (p, "bad number");
  if (p->pos < p->length && p->data[p->pos] == '.')
    {
      p->pos++;
      n->frac_start = p->pos;
      if ((n->frac_len = skip_digits (p)) == 0)
        return fail_malformed (p, "bad number");
    }
  if (p->pos < p->length && (p->data[p->pos] == 'e' || p->data[p->pos] == 'E') &&
      !read_exponent (p, n))
    return FALSE;
  n->end = p->pos;
  return TRUE;
}

/* Digit @k of the literal's digits without the point. */
static gint
digit_at (const Parser *p, const NumberLiteral *n, gsize k)
{
  gsize at = k < n->int_len ? n->int_start + k : n->frac_start + (k - n->int_len);

  return p->data[at] - '0';
}

/* Whether the literal's decimal value is exactly an integer of magnitude at most
 * PAY_JSON_MAX_EXACT_INTEGER; if so, stores it. */
static gboolean
literal_exact_integer (const Parser *p, const NumberLiteral *n, gint64 *out)
{
  gsize count = n->int_len + n->frac_len;
  gint64 point = (gint64) n->int_len + n->exponent;   /* digits before the point */
  gsize first = 0, last = 0;
  gboolean any = FALSE;
  guint64 value = 0;

  for (gsize k = 0; k < count; k++)
    if (digit_at (p, n, k) != 0)
      {
        if (!any)
          first = k;
        last = k;
        any = TRUE;
      }
  if (!any)
    {
      *out = 0;
      return TRUE;
    }
  if ((gint64) last >= point || point - (gint64) first > MAX_EXACT_INTEGER_DIGITS)
    return FALSE;
  for (gint64 k = (gint64) first; k < point; k++)
    value = value * 10 + (guint64) (k < (gint64) count ? digit_at (p, n, (gsize) k) : 0);
  if (value > (guint64) PAY_JSON_MAX_EXACT_INTEGER)
    return FALSE;
  *out = n->negative ? -(gint64) value : (gint64) value;
  return TRUE;
}

/* @name cut to MAX_NAME_IN_MESSAGE characters, for an error message; "" for NULL. */
static gchar *
name_for_message (const gchar *name)
{
  if (name == NULL)
    return g_strdup ("");
  return g_utf8_substring (name, 0, MIN (g_utf8_strlen (name, -1), MAX_NAME_IN_MESSAGE));
}

/* An integer literal (no fraction, no exponent): int64 or refused. */
static JsonNode *
integer_node (Parser *p, const NumberLiteral *n, const gchar *name)
{
  gsize len = n->end - n->start;
  gchar text[MAX_INT64_CHARS + 1];
  g_autofree gchar *shown = NULL;
  gint64 value;

  if (len <= MAX_INT64_CHARS)
    {
      memcpy (text, p->data + n->start, len);
      text[len] = '\0';
      if (g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, &value, NULL))
        return json_node_init_int (json_node_alloc (), value);
    }
  shown = name_for_message (name);
  fail (p, "%s%sinteger out of the int64 range", shown, name != NULL ? ": " : "");
  return NULL;
}

/* A number value; @name (NULL in an array) is the member it is for, for the message. */
static JsonNode *
parse_number (Parser *p, const gchar *name)
{
  NumberLiteral n;
  g_autofree gchar *literal = NULL;
  gint64 integer;

  if (!read_number (p, &n))
    return NULL;
  if (n.frac_len == 0 && !n.has_exponent)
    return integer_node (p, &n, name);
  if (literal_exact_integer (p, &n, &integer))
    return json_node_init_int (json_node_alloc (), integer);
  literal = g_strndup (p->data + n.start, n.end - n.start);
  return json_node_init_double (json_node_alloc (), g_ascii_strtod (literal, NULL));
}

/* ---------------------------------------------------------------------------------- */
/* Literals, arrays, objects                                                          */
/* ---------------------------------------------------------------------------------- */

static JsonNode *
parse_word (Parser *p)
{
  static const gchar *const words[] = { "true", "false", "null" };

  for (guint k = 0; k < G_N_ELEMENTS (words); k++)
    {
      gsize n = strlen (words[k]);

      if (p->length - p->pos >= n && memcmp (p->data + p->pos, words[k], n) == 0)
        {
          p->pos += n;
          if (k == 2)
            return json_node_init_null (json_node_alloc ());
          return json_node_init_boolean (json_node_alloc (), k == 0);
        }
    }
  fail_malformed (p, "unexpected character");
  return NULL;
}

/* After an element: TRUE with *@more set at ',', TRUE with it clear at @close. */
static gboolean
next_element (Parser *p, gchar close, gboolean *more)
{
  skip_whitespace (p);
  if (p->pos < p->length && p->data[p->pos] == ',')
    {
      p->pos++;
      *more = TRUE;
      return TRUE;
    }
  *more = FALSE;
  return expect (p, close, close == ']' ? "expected ',' or ']'" : "expected ',' or '}'");
}

/* At '[' or '{': *@more says whether elements follow; an empty container is consumed
 * whole. */
static gboolean
open_container (Parser *p, guint depth, gchar close, gboolean *more)
{
  *more = FALSE;
  if (depth >= PAY_JSON_MAX_DEPTH)
    return fail (p, "JSON nested deeper than %d levels", PAY_JSON_MAX_DEPTH);
  p->pos++;
  skip_whitespace (p);
  *more = p->pos >= p->length || p->data[p->pos] != close;
  if (!*more)
    p->pos++;
  return TRUE;
}

static JsonNode *
parse_array (Parser *p, guint depth)
{
  g_autoptr(JsonArray) array = json_array_new ();
  gboolean more;

  if (!open_container (p, depth, ']', &more))
    return NULL;
  while (more)
    {
      JsonNode *element = parse_value (p, depth + 1, NULL);

      if (element == NULL)
        return NULL;
      json_array_add_element (array, element);
      if (!next_element (p, ']', &more))
        return NULL;
    }
  return json_node_init_array (json_node_alloc (), array);
}

/* One "name": value member of @object. */
static gboolean
parse_member (Parser *p, JsonObject *object, guint depth)
{
  g_autofree gchar *name = NULL;
  JsonNode *value;

  skip_whitespace (p);
  if (p->pos >= p->length || p->data[p->pos] != '"')
    return fail_malformed (p, "expected a member name");
  if (!read_string (p))
    return FALSE;
  name = g_strndup (p->scratch->str, p->scratch->len);
  wipe_scratch (p);
  if (json_object_has_member (object, name))
    {
      g_autofree gchar *shown = name_for_message (name);

      return fail (p, "duplicate member \"%s\" at offset %" G_GSIZE_FORMAT, shown, p->pos);
    }
  if (!expect (p, ':', "expected ':'"))
    return FALSE;
  if ((value = parse_value (p, depth + 1, name)) == NULL)
    return FALSE;
  json_object_set_member (object, name, value);
  return TRUE;
}

static JsonNode *
parse_object (Parser *p, guint depth)
{
  g_autoptr(JsonObject) object = json_object_new ();
  gboolean more;

  if (!open_container (p, depth, '}', &more))
    return NULL;
  while (more)
    {
      if (!parse_member (p, object, depth) || !next_element (p, '}', &more))
        return NULL;
    }
  return json_node_init_object (json_node_alloc (), object);
}

/* Any value at the current position (after whitespace); @depth counts the containers
 * around it. */
static JsonNode *
parse_value (Parser *p, guint depth, const gchar *name)
{
  gchar c;

  skip_whitespace (p);
  if (p->pos >= p->length)
    {
      fail_malformed (p, "unexpected end of data");
      return NULL;
    }
  c = p->data[p->pos];
  if (c == '{')
    return parse_object (p, depth);
  if (c == '[')
    return parse_array (p, depth);
  if (c == '"')
    return parse_string (p);
  if (c == '-' || g_ascii_isdigit (c))
    return parse_number (p, name);
  return parse_word (p);
}

JsonNode *
pay_json_strict_parse (const gchar *data, gsize length, GError **error)
{
  g_autoptr(GString) scratch = g_string_new (NULL);
  Parser p = { .data = data, .length = length, .scratch = scratch, .error = error };
  g_autoptr(JsonNode) root = NULL;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (data == NULL)
    p.data = "";
  root = parse_value (&p, 0, NULL);
  wipe_scratch (&p);
  if (root == NULL)
    return NULL;
  skip_whitespace (&p);
  if (p.pos < p.length)
    {
      fail_malformed (&p, "data after the value");
      return NULL;
    }
  return g_steal_pointer (&root);
}
