/* pay-payment-json.c: encodes a PayPayment as the cache's JSON record and decodes it back,
 * checking every member, since the cache is outside the service's control.
 *
 * Both directions are hand-written and on every cached QueryPayment / every charge: the
 * encoder formats into a stack buffer and returns one g_malloc'd copy; the decoder is a
 * strict RFC 8259 reader of one flat object that allocates nothing (until it fails, when
 * it builds the GError). */
#define G_LOG_DOMAIN "payment-storage"

#include "storage/pay-payment-json.h"

#include <string.h>

#include "core/pay-error.h"

/* How deep an unknown member's value may nest ("[[[...", the record's own object being
 * level 1); deeper is an error, not a recursion: the skipper keeps a bit per level. */
#define MAX_DEPTH 32

/* ---- the members ---- */

typedef enum { KIND_STRING, KIND_INT } Kind;

typedef enum {
  F_TRANSACTION_ID, F_ORDER_ID, F_USER_ID, F_AMOUNT_CENTS, F_REFUNDED_CENTS, F_STATUS,
  F_PAYMENT_METHOD, F_CARD_BRAND, F_CARD_LAST4, F_CREATED_AT, F_UPDATED_AT, N_FIELDS
} Field;

/* The status member's text, decoded before pay_status_from_string() checks it. */
#define STATUS_TEXT_SIZE (sizeof "PARTIALLY_REFUNDED")

/* In encoding order. @offset: where the value goes in the PayPayment being decoded, or
 * (status) -1: into the decoder's status text buffer. */
static const struct {
  const gchar *name;
  guint8       name_len;
  Kind         kind;
  gssize       offset;
  gsize        size;      /* strings: the destination's size, NUL included */
} fields[N_FIELDS] = {
#define STR_FIELD(name, member) \
  { name, sizeof name - 1, KIND_STRING, G_STRUCT_OFFSET (PayPayment, member), \
    sizeof ((PayPayment *) 0)->member }
#define INT_FIELD(name, member) \
  { name, sizeof name - 1, KIND_INT, G_STRUCT_OFFSET (PayPayment, member), sizeof (gint64) }
  [F_TRANSACTION_ID] = STR_FIELD ("transaction_id", transaction_id),
  [F_ORDER_ID]       = INT_FIELD ("order_id", order_id),
  [F_USER_ID]        = INT_FIELD ("user_id", user_id),
  [F_AMOUNT_CENTS]   = INT_FIELD ("amount_cents", amount_cents),
  [F_REFUNDED_CENTS] = INT_FIELD ("refunded_cents", refunded_cents),
  [F_STATUS]         = { "status", sizeof "status" - 1, KIND_STRING, -1, STATUS_TEXT_SIZE },
  [F_PAYMENT_METHOD] = STR_FIELD ("payment_method", payment_method),
  [F_CARD_BRAND]     = STR_FIELD ("card_brand", card_brand),
  [F_CARD_LAST4]     = STR_FIELD ("card_last4", card_last4),
  [F_CREATED_AT]     = INT_FIELD ("created_at", created_at_ms),
  [F_UPDATED_AT]     = INT_FIELD ("updated_at", updated_at_ms),
#undef STR_FIELD
#undef INT_FIELD
};

/* Longer than every member name: a key of this many bytes or more is an unknown one. */
#define KEY_BUFFER_SIZE 16

/* ---- encoding ---- */

/* The most a string of @n bytes takes escaped and quoted: each byte may become \u00XX. */
#define ESCAPED_MAX(n) (6 * (n) + 2)
#define INT_MAX_CHARS  (sizeof "-9223372036854775808" - 1)
#define ENCODED_MAX                                                                 \
  (sizeof "{\"transaction_id\":,\"order_id\":,\"user_id\":,\"amount_cents\":,"     \
          "\"refunded_cents\":,\"status\":,\"payment_method\":,\"card_brand\":,"    \
          "\"card_last4\":,\"created_at\":,\"updated_at\":}"                        \
   + ESCAPED_MAX (PAY_UUID_STRLEN) + ESCAPED_MAX (PAY_PAYMENT_METHOD_MAX)           \
   + ESCAPED_MAX (PAY_CARD_BRAND_MAX) + ESCAPED_MAX (4)                             \
   + ESCAPED_MAX (STATUS_TEXT_SIZE - 1) + 6 * INT_MAX_CHARS)

static const gchar hex_digits[] = "0123456789abcdef";

static gchar *
put_raw (gchar *p, const gchar *text, gsize len)
{
  memcpy (p, text, len);
  return p + len;
}

/* @text (@len bytes) as a JSON string. As json-glib's generator did: '"' and '\\' and the
 * control characters escaped (\b \t \n \f \r, the others and DEL as \u00XX; json-glib
 * left 0x1f raw, invalid JSON), '/' and bytes >= 0x80 as they are. Bytes that are not
 * UTF-8 are copied too: such a record fails to decode, and a cache record that fails to
 * decode is a miss. */
static gchar *
put_string (gchar *p, const gchar *text, gsize len)
{
  *p++ = '"';
  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar) text[i];

      if (G_LIKELY (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f))
        {
          *p++ = (gchar) c;
          continue;
        }
      *p++ = '\\';
      switch (c)
        {
        case '"':  *p++ = '"'; break;
        case '\\': *p++ = '\\'; break;
        case '\b': *p++ = 'b'; break;
        case '\f': *p++ = 'f'; break;
        case '\n': *p++ = 'n'; break;
        case '\r': *p++ = 'r'; break;
        case '\t': *p++ = 't'; break;
        default:
          p = put_raw (p, "u00", 3);
          *p++ = hex_digits[c >> 4];
          *p++ = hex_digits[c & 0xf];
          break;
        }
    }
  *p++ = '"';
  return p;
}

static gchar *
put_int (gchar *p, gint64 value)
{
  gchar digits[INT_MAX_CHARS];
  gsize n = 0;
  /* the magnitude as unsigned, so G_MININT64 has one too */
  guint64 magnitude = value < 0 ? 0 - (guint64) value : (guint64) value;

  if (value < 0)
    *p++ = '-';
  do
    {
      digits[n++] = (gchar) ('0' + magnitude % 10);
      magnitude /= 10;
    }
  while (magnitude != 0);
  while (n > 0)
    *p++ = digits[--n];
  return p;
}

gchar *
pay_payment_json_encode (const PayPayment *payment, gsize *length)
{
  gchar buffer[ENCODED_MAX];
  gchar *p = buffer;
  gsize len;
  gchar *json;

  g_return_val_if_fail (payment != NULL, NULL);

  for (Field f = 0; f < N_FIELDS; f++)
    {
      *p++ = f == 0 ? '{' : ',';
      *p++ = '"';
      p = put_raw (p, fields[f].name, fields[f].name_len);
      *p++ = '"';
      *p++ = ':';
      if (f == F_STATUS)
        {
          const gchar *status = pay_status_to_string (payment->status);

          /* no such status: null, as json-glib wrote it (and the decoder refuses) */
          p = status != NULL ? put_string (p, status, strlen (status)) : put_raw (p, "null", 4);
        }
      else if (fields[f].kind == KIND_INT)
        p = put_int (p, G_STRUCT_MEMBER (gint64, payment, fields[f].offset));
      else
        {
          /* a char array, NUL-terminated, never read past its end */
          const gchar *text = G_STRUCT_MEMBER_P (payment, fields[f].offset);

          p = put_string (p, text, strnlen (text, fields[f].size));
        }
    }
  *p++ = '}';

  len = (gsize) (p - buffer);
  g_assert (len < sizeof buffer);
  json = g_malloc (len + 1);
  memcpy (json, buffer, len);
  json[len] = '\0';
  if (length != NULL)
    *length = len;
  return json;
}

/* ---- decoding ---- */

/* Where the decoder is, and why it stopped: @why (a static string) for malformed JSON,
 * @member_why and @field for a known member's value. @saw_nul: a \u0000 was decoded. */
typedef struct {
  const guchar *start;
  const guchar *p;
  const guchar *end;
  const gchar  *why;
  const gchar  *member_why;
  Field         field;
  gboolean      saw_nul;
} Reader;

static gboolean
malformed (Reader *r, const gchar *why)
{
  r->why = why;
  return FALSE;
}

static gboolean
bad_member (Reader *r, Field field, const gchar *why)
{
  r->field = field;
  r->member_why = why;
  return FALSE;
}

static inline void
skip_ws (Reader *r)
{
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
    r->p++;
}

/* The next byte after whitespace, or -1 at the end, not consumed. */
static inline gint
peek (Reader *r)
{
  skip_ws (r);
  return r->p < r->end ? *r->p : -1;
}

/* Consumes @c (after whitespace), or fails with @why. */
static inline gboolean
expect (Reader *r, guchar c, const gchar *why)
{
  if (peek (r) != c)
    return malformed (r, why);
  r->p++;
  return TRUE;
}

static gint
hex_value (guchar c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  c |= 0x20;
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* The four hex digits after "\u". */
static gboolean
read_hex4 (Reader *r, guint32 *value)
{
  *value = 0;
  if (r->end - r->p < 4)
    return malformed (r, "truncated \\u escape");
  for (gint i = 0; i < 4; i++)
    {
      gint digit = hex_value (*r->p++);

      if (digit < 0)
        return malformed (r, "bad \\u escape");
      *value = *value << 4 | (guint32) digit;
    }
  return TRUE;
}

/* The code point of one UTF-8 sequence starting at r->p (its lead byte >= 0x80), which
 * must be well-formed: no overlong form, no surrogate, nothing above U+10FFFF. */
static gboolean
read_utf8 (Reader *r, gsize *seq_len)
{
  const guchar *s = r->p;
  gsize avail = (gsize) (r->end - s);
  guint32 cp;
  gsize n;

  if (s[0] >= 0xc2 && s[0] <= 0xdf)
    n = 2, cp = s[0] & 0x1f;
  else if (s[0] >= 0xe0 && s[0] <= 0xef)
    n = 3, cp = s[0] & 0x0f;
  else if (s[0] >= 0xf0 && s[0] <= 0xf4)
    n = 4, cp = s[0] & 0x07;
  else
    return malformed (r, "invalid UTF-8");
  if (avail < n)
    return malformed (r, "invalid UTF-8");
  for (gsize i = 1; i < n; i++)
    {
      if ((s[i] & 0xc0) != 0x80)
        return malformed (r, "invalid UTF-8");
      cp = cp << 6 | (s[i] & 0x3f);
    }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
      (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    return malformed (r, "invalid UTF-8");
  *seq_len = n;
  return TRUE;
}

/* Appends @len bytes to the string being decoded into @dest (@cap bytes, NUL included;
 * NULL: only validating), or notes that it does not fit. */
static inline void
put_decoded (gchar *dest, gsize cap, gsize *len, gboolean *overflow,
             const void *bytes, gsize n)
{
  if (dest == NULL || *overflow)
    return;
  if (*len + n >= cap)
    {
      *overflow = TRUE;
      return;
    }
  memcpy (dest + *len, bytes, n);
  *len += n;
}

/* A \u escape (r->p after the "\u"), a surrogate pair's second half included, as UTF-8
 * in @utf8; its length in *@n. Lone surrogates fail. */
static gboolean
read_unicode_escape (Reader *r, guchar utf8[4], gsize *n)
{
  guint32 cp, low;

  if (!read_hex4 (r, &cp))
    return FALSE;
  if (cp >= 0xdc00 && cp <= 0xdfff)
    return malformed (r, "lone low surrogate");
  if (cp >= 0xd800 && cp <= 0xdbff)
    {
      if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
        return malformed (r, "lone high surrogate");
      r->p += 2;
      if (!read_hex4 (r, &low))
        return FALSE;
      if (low < 0xdc00 || low > 0xdfff)
        return malformed (r, "lone high surrogate");
      cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
    }
  if (cp < 0x80)
    {
      if (cp == 0)
        r->saw_nul = TRUE;
      utf8[0] = (guchar) cp;
      *n = 1;
    }
  else if (cp < 0x800)
    {
      utf8[0] = (guchar) (0xc0 | cp >> 6);
      utf8[1] = (guchar) (0x80 | (cp & 0x3f));
      *n = 2;
    }
  else if (cp < 0x10000)
    {
      utf8[0] = (guchar) (0xe0 | cp >> 12);
      utf8[1] = (guchar) (0x80 | ((cp >> 6) & 0x3f));
      utf8[2] = (guchar) (0x80 | (cp & 0x3f));
      *n = 3;
    }
  else
    {
      utf8[0] = (guchar) (0xf0 | cp >> 18);
      utf8[1] = (guchar) (0x80 | ((cp >> 12) & 0x3f));
      utf8[2] = (guchar) (0x80 | ((cp >> 6) & 0x3f));
      utf8[3] = (guchar) (0x80 | (cp & 0x3f));
      *n = 4;
    }
  return TRUE;
}

/* A JSON string (r->p on its opening quote), decoded into @dest (@cap bytes, NUL
 * included; NULL: validate only), NUL-terminated, its length in *@len. A string longer
 * than @dest is still read to its end and validated, with *@overflow set. */
static gboolean
read_string (Reader *r, gchar *dest, gsize cap, gsize *len, gboolean *overflow)
{
  *len = 0;
  *overflow = FALSE;
  r->p++;  /* the opening quote */
  for (;;)
    {
      const guchar *run = r->p;
      guchar c;

      /* the plain bytes up to the next quote, backslash, control or non-ASCII byte */
      while (r->p < r->end && *r->p >= 0x20 && *r->p < 0x80 && *r->p != '"' && *r->p != '\\')
        r->p++;
      put_decoded (dest, cap, len, overflow, run, (gsize) (r->p - run));
      if (r->p >= r->end)
        return malformed (r, "unterminated string");
      c = *r->p;
      if (c == '"')
        {
          r->p++;
          if (dest != NULL)
            dest[*len] = '\0';
          return TRUE;
        }
      if (c < 0x20)
        return malformed (r, "control character in string");
      if (c >= 0x80)
        {
          gsize n;

          if (!read_utf8 (r, &n))
            return FALSE;
          put_decoded (dest, cap, len, overflow, r->p, n);
          r->p += n;
          continue;
        }
      /* a backslash */
      if (r->end - r->p < 2)
        return malformed (r, "unterminated string");
      r->p += 2;
      switch (r->p[-1])
        {
        case '"': case '\\': case '/':
          put_decoded (dest, cap, len, overflow, &r->p[-1], 1);
          break;
        case 'b': put_decoded (dest, cap, len, overflow, "\b", 1); break;
        case 'f': put_decoded (dest, cap, len, overflow, "\f", 1); break;
        case 'n': put_decoded (dest, cap, len, overflow, "\n", 1); break;
        case 'r': put_decoded (dest, cap, len, overflow, "\r", 1); break;
        case 't': put_decoded (dest, cap, len, overflow, "\t", 1); break;
        case 'u':
          {
            guchar utf8[4];
            gsize n;

            if (!read_unicode_escape (r, utf8, &n))
              return FALSE;
            put_decoded (dest, cap, len, overflow, utf8, n);
            break;
          }
        default:
          return malformed (r, "bad escape");
        }
    }
}

/* Whether *@p (< @end) is a decimal digit. */
#define IS_DIGIT_AT(p, end) ((p) < (end) && *(p) >= '0' && *(p) <= '9')

/* A JSON number (r->p on its '-' or first digit). *@is_int: it has no fraction or
 * exponent; then, unless *@overflow, its value in *@value. */
static gboolean
read_number (Reader *r, gint64 *value, gboolean *is_int, gboolean *overflow)
{
  gboolean negative = FALSE;
  guint64 magnitude = 0;
  /* 2^63 for a negative number, 2^63 - 1 for a positive one */
  guint64 limit;

  *is_int = TRUE;
  *overflow = FALSE;
  if (*r->p == '-')
    {
      negative = TRUE;
      r->p++;
    }
  limit = negative ? (guint64) G_MAXINT64 + 1 : (guint64) G_MAXINT64;
  if (!IS_DIGIT_AT (r->p, r->end))
    return malformed (r, "bad number");
  if (*r->p == '0')
    {
      r->p++;
      if (IS_DIGIT_AT (r->p, r->end))
        return malformed (r, "leading zero in number");
    }
  else
    while (IS_DIGIT_AT (r->p, r->end))
      {
        guint digit = (guint) (*r->p++ - '0');

        if (magnitude > (limit - digit) / 10)
          *overflow = TRUE;
        else
          magnitude = magnitude * 10 + digit;
      }
  if (r->p < r->end && *r->p == '.')
    {
      *is_int = FALSE;
      r->p++;
      if (!IS_DIGIT_AT (r->p, r->end))
        return malformed (r, "bad number");
      while (IS_DIGIT_AT (r->p, r->end))
        r->p++;
    }
  if (r->p < r->end && (*r->p == 'e' || *r->p == 'E'))
    {
      *is_int = FALSE;
      r->p++;
      if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
        r->p++;
      if (!IS_DIGIT_AT (r->p, r->end))
        return malformed (r, "bad number");
      while (IS_DIGIT_AT (r->p, r->end))
        r->p++;
    }
  /* -2^63 is the one magnitude that does not fit in a positive gint64 */
  *value = negative ? (gint64) (0 - magnitude) : (gint64) magnitude;
  return TRUE;
}

/* true, false or null (r->p on its first letter) */
static gboolean
read_literal (Reader *r)
{
  const gchar *word = *r->p == 't' ? "true" : *r->p == 'f' ? "false" : "null";
  gsize len = strlen (word);

  if ((gsize) (r->end - r->p) < len || memcmp (r->p, word, len) != 0)
    return malformed (r, "unexpected character");
  r->p += len;
  return TRUE;
}

/* A member name with its colon (after whitespace), decoded into @key (KEY_BUFFER_SIZE
 * bytes; NULL: only read); *@len is its length, or KEY_BUFFER_SIZE when it did not fit
 * (no member has such a name). */
static gboolean
read_key (Reader *r, gchar *key, gsize *len)
{
  gboolean overflow;

  if (peek (r) != '"')
    return malformed (r, "expected a member name");
  if (!read_string (r, key, key != NULL ? KEY_BUFFER_SIZE : 0, len, &overflow))
    return FALSE;
  if (overflow)
    *len = KEY_BUFFER_SIZE;
  return expect (r, ':', "expected ':'");
}

/* Any JSON value (after whitespace), read and thrown away. @depth containers are open
 * around it already; with its own, at most MAX_DEPTH. No recursion: the kind of each
 * open container is a bit of @objects. */
static gboolean
skip_value (Reader *r, guint depth)
{
  guint64 objects = 0;  /* bit i: level i (0: the outermost container here) is an object */
  guint level = 0;      /* containers open */
  gsize len;
  gboolean overflow, is_int;
  gint64 number;
  gint c;

  G_STATIC_ASSERT (MAX_DEPTH <= 64);
  for (;;)
    {
      /* a value */
      c = peek (r);
      switch (c)
        {
        case '{':
        case '[':
          if (depth + level >= MAX_DEPTH)
            return malformed (r, "nesting too deep");
          r->p++;
          if (c == '{')
            objects |= G_GUINT64_CONSTANT (1) << level;
          else
            objects &= ~(G_GUINT64_CONSTANT (1) << level);
          level++;
          if (peek (r) == (c == '{' ? '}' : ']'))
            {
              r->p++;
              level--;
              break;
            }
          if (c == '{' && !read_key (r, NULL, &len))
            return FALSE;
          continue;  /* to the first value inside */
        case '"':
          if (!read_string (r, NULL, 0, &len, &overflow))
            return FALSE;
          break;
        case 't':
        case 'f':
        case 'n':
          if (!read_literal (r))
            return FALSE;
          break;
        case -1:
          return malformed (r, "expected a value");
        default:
          if (c != '-' && !(c >= '0' && c <= '9'))
            return malformed (r, "expected a value");
          if (!read_number (r, &number, &is_int, &overflow))
            return FALSE;
          break;
        }

      /* after a value: close containers, or go on to the next element */
      for (;;)
        {
          gboolean in_object;

          if (level == 0)
            return TRUE;
          in_object = (objects >> (level - 1)) & 1;
          c = peek (r);
          if (c == (in_object ? '}' : ']'))
            {
              r->p++;
              level--;
              continue;
            }
          if (c != ',')
            return malformed (r, in_object ? "expected ',' or '}'" : "expected ',' or ']'");
          r->p++;
          if (in_object && !read_key (r, NULL, &len))
            return FALSE;
          break;
        }
    }
}

/* The value of the known member @field (r->p after the colon) into @payment, or
 * @status_text for the status. */
static gboolean
read_member (Reader *r, Field field, PayPayment *payment, gchar *status_text)
{
  gint c = peek (r);

  if (fields[field].kind == KIND_STRING)
    {
      gchar *dest = fields[field].offset < 0 ? status_text
                  : G_STRUCT_MEMBER_P (payment, fields[field].offset);
      gsize len;
      gboolean overflow;

      if (c != '"')
        return c == -1 ? malformed (r, "expected a value")
                       : bad_member (r, field, "is not a string");
      r->saw_nul = FALSE;
      if (!read_string (r, dest, fields[field].size, &len, &overflow))
        return FALSE;
      if (overflow)
        return bad_member (r, field, "is too long");
      if (r->saw_nul)  /* fine in JSON, not in a C string */
        return bad_member (r, field, "contains a NUL character");
    }
  else
    {
      gboolean is_int, overflow;

      if (c != '-' && !(c >= '0' && c <= '9'))
        return c == -1 ? malformed (r, "expected a value")
                       : bad_member (r, field, "is not an integer");
      if (!read_number (r, G_STRUCT_MEMBER_P (payment, fields[field].offset), &is_int,
                        &overflow))
        return FALSE;
      if (!is_int)
        return bad_member (r, field, "is not an integer");
      if (overflow)
        return bad_member (r, field, "is out of range");
    }
  return TRUE;
}

/* The field named @key (@len bytes), N_FIELDS for an unknown one; @hint is the one
 * expected next, tried first since records come in encoding order. */
static Field
find_field (const gchar *key, gsize len, Field hint)
{
  if (hint < N_FIELDS && fields[hint].name_len == len && memcmp (fields[hint].name, key, len) == 0)
    return hint;
  for (Field f = 0; f < N_FIELDS; f++)
    if (fields[f].name_len == len && memcmp (fields[f].name, key, len) == 0)
      return f;
  return N_FIELDS;
}

/* The whole record: one object, nothing but whitespace after it. */
static gboolean
read_record (Reader *r, PayPayment *payment, gchar *status_text, guint *seen)
{
  Field next = F_TRANSACTION_ID;
  gint c = peek (r);

  if (c == -1)
    return malformed (r, "empty");
  if (c != '{')
    return malformed (r, "not a JSON object");
  r->p++;
  if (peek (r) == '}')
    r->p++;
  else
    for (;;)
      {
        gchar key[KEY_BUFFER_SIZE];
        gsize key_len;
        Field field;

        if (!read_key (r, key, &key_len))
          return FALSE;
        field = find_field (key, key_len, next);
        if (field == N_FIELDS)
          {
            if (!skip_value (r, 1))
              return FALSE;
          }
        else
          {
            if (*seen & (1u << field))
              return bad_member (r, field, "appears twice");
            *seen |= 1u << field;
            if (!read_member (r, field, payment, status_text))
              return FALSE;
            next = field + 1;
          }
        c = peek (r);
        if (c != ',' && c != '}')
          return malformed (r, "expected ',' or '}'");
        r->p++;
        if (c == '}')
          break;
      }
  if (peek (r) != -1)
    return malformed (r, "data after the object");
  return TRUE;
}

static gboolean
invalid (GError **error, const gchar *what)
{
  g_set_error (error, PAY_ERROR, PAY_ERROR_CACHE_READ, "cached payment: %s", what);
  return FALSE;
}

gboolean
pay_payment_json_decode (const gchar *json,
                         gsize        length,
                         PayPayment  *out,
                         GError     **error)
{
  gchar status_text[STATUS_TEXT_SIZE];
  PayPayment payment = { 0 };
  guint seen = 0;
  Reader r;

  g_return_val_if_fail (json != NULL || length == 0, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (length > PAY_PAYMENT_JSON_MAX_BYTES)
    return invalid (error, "record too large");

  r = (Reader) { .start = (const guchar *) json, .p = (const guchar *) json,
                 .end = (const guchar *) json + length };
  if (!read_record (&r, &payment, status_text, &seen))
    {
      if (r.member_why != NULL)
        g_set_error (error, PAY_ERROR, PAY_ERROR_CACHE_READ, "cached payment: member \"%s\" %s",
                     fields[r.field].name, r.member_why);
      else
        g_set_error (error, PAY_ERROR, PAY_ERROR_CACHE_READ,
                     "cached payment: malformed JSON at byte %" G_GSIZE_FORMAT ": %s",
                     (gsize) (r.p - r.start), r.why);
      return FALSE;
    }
  for (Field f = 0; f < N_FIELDS; f++)
    if (!(seen & (1u << f)))
      {
        g_set_error (error, PAY_ERROR, PAY_ERROR_CACHE_READ,
                     "cached payment: missing member \"%s\"", fields[f].name);
        return FALSE;
      }

  if (strlen (payment.transaction_id) != PAY_UUID_STRLEN)
    return invalid (error, "bad transaction_id");
  if (!pay_status_from_string (status_text, &payment.status))
    return invalid (error, "unknown status");
  if (payment.order_id <= 0 || payment.user_id <= 0)
    return invalid (error, "ids must be positive");
  if (payment.amount_cents <= 0 ||
      payment.refunded_cents < 0 || payment.refunded_cents > payment.amount_cents)
    return invalid (error, "amounts out of range");

  *out = payment;
  return TRUE;
}
