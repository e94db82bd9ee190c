/* pay-auth.c: the keys file and the Bearer check. A key's secret is never kept: only its
 * SHA-256, which the presented secret's hash is compared with in constant time. */
#include "core/pay-auth.h"

#include <string.h>

G_DEFINE_QUARK (pay-auth-error-quark, pay_auth_error)

#define PAY_AUTH_SCHEME "Bearer"

typedef struct {
  gchar  id[PAY_AUTH_KEY_ID_MAX + 1];
  guint  scopes;
  guint8 digest[PAY_AUTH_DIGEST_BYTES];
} PayAuthKey;

struct _PayAuthKeys
{
  GArray     *keys;   /* PayAuthKey, in file order */
  GHashTable *by_id;  /* id (borrowed from keys) -> index + 1 */
  GPtrArray  *ids;    /* borrowed ids, NULL-terminated */
};

static const struct {
  const gchar *name;
  PayAuthScope scope;
} scope_names[] = {
  { "charge",  PAY_AUTH_SCOPE_CHARGE },
  { "query",   PAY_AUTH_SCOPE_QUERY },
  { "refund",  PAY_AUTH_SCOPE_REFUND },
  { "metrics", PAY_AUTH_SCOPE_METRICS },
};

/* What an unknown key's secret is compared with: no SHA-256 output is known to be all
 * zeros, so this never matches. */
static const guint8 no_digest[PAY_AUTH_DIGEST_BYTES] = { 0 };

/* ---- comparison ------------------------------------------------------------------ */

gboolean
pay_auth_equal (const guint8 *a, const guint8 *b, gsize length,
                PayAuthReadByte read, gpointer user_data)
{
  guint8 difference = 0;

  for (gsize i = 0; i < length; i++)
    {
      guint8 x = read != NULL ? read (a, i, user_data) : a[i];
      guint8 y = read != NULL ? read (b, i, user_data) : b[i];

      difference |= (guint8) (x ^ y);
    }
  return difference == 0;
}

static void
sha256 (const gchar *data, gsize length, guint8 digest[PAY_AUTH_DIGEST_BYTES])
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  gsize size = PAY_AUTH_DIGEST_BYTES;

  g_checksum_update (checksum, (const guchar *) data, (gssize) length);
  g_checksum_get_digest (checksum, digest, &size);
}

/* ---- the keys file --------------------------------------------------------------- */

static gboolean
valid_key_id (const gchar *id, gsize length)
{
  if (length == 0 || length > PAY_AUTH_KEY_ID_MAX)
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isalnum (id[i]) && id[i] != '_' && id[i] != '-')
      return FALSE;
  return TRUE;
}

static gboolean
parse_scopes (const gchar *text, guint *scopes)
{
  g_auto(GStrv) names = g_strsplit (text, ",", -1);

  *scopes = 0;
  for (gchar **name = names; *name != NULL; name++)
    {
      gsize i;

      for (i = 0; i < G_N_ELEMENTS (scope_names); i++)
        if (strcmp (*name, scope_names[i].name) == 0)
          break;
      if (i == G_N_ELEMENTS (scope_names))
        return FALSE;
      *scopes |= scope_names[i].scope;
    }
  return *scopes != 0;
}

static gboolean
parse_digest (const gchar *hex, guint8 digest[PAY_AUTH_DIGEST_BYTES])
{
  if (strlen (hex) != PAY_AUTH_DIGEST_BYTES * 2)
    return FALSE;
  for (gsize i = 0; i < PAY_AUTH_DIGEST_BYTES; i++)
    {
      gint hi = g_ascii_xdigit_value (hex[2 * i]);
      gint lo = g_ascii_xdigit_value (hex[2 * i + 1]);

      if (hi < 0 || lo < 0)
        return FALSE;
      digest[i] = (guint8) (hi << 4 | lo);
    }
  return TRUE;
}

/* Parses one line without its comment into @key. FALSE with @problem set (static text). */
static gboolean
parse_line (gchar **fields, PayAuthKey *key, const gchar **problem)
{
  if (g_strv_length (fields) != 3)
    *problem = "expected <key_id> <scopes> <sha256-hex>";
  else if (!valid_key_id (fields[0], strlen (fields[0])))
    *problem = "key id must be 1-64 characters of A-Z a-z 0-9 _ -";
  else if (!parse_scopes (fields[1], &key->scopes))
    *problem = "scopes must be a comma-separated list of charge, query, refund, metrics";
  else if (!parse_digest (fields[2], key->digest))
    *problem = "the digest must be 64 hex digits (SHA-256 of the secret)";
  else
    {
      g_strlcpy (key->id, fields[0], sizeof key->id);
      return TRUE;
    }
  return FALSE;
}

/* The whitespace-separated fields of @line up to any "#". */
static GStrv
line_fields (const gchar *line)
{
  g_autofree gchar *text = g_strndup (line, strcspn (line, "#"));
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) parts = g_strsplit_set (g_strstrip (text), " \t\r", -1);

  for (gchar **part = parts; *part != NULL; part++)
    if (**part != '\0')
      g_strv_builder_add (builder, *part);
  return g_strv_builder_end (builder);
}

static PayAuthKeys *
keys_new (void)
{
  PayAuthKeys *keys = g_new0 (PayAuthKeys, 1);

  keys->keys = g_array_new (FALSE, TRUE, sizeof (PayAuthKey));
  keys->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  keys->ids = g_ptr_array_new ();
  return keys;
}

/* Indexes the keys once all are in (the array no longer moves). */
static void
keys_index (PayAuthKeys *keys)
{
  for (guint i = 0; i < keys->keys->len; i++)
    {
      PayAuthKey *key = &g_array_index (keys->keys, PayAuthKey, i);

      g_hash_table_insert (keys->by_id, key->id, GUINT_TO_POINTER (i + 1));
      g_ptr_array_add (keys->ids, key->id);
    }
  g_ptr_array_add (keys->ids, NULL);
}

static gboolean
seen_before (PayAuthKeys *keys, const gchar *id)
{
  for (guint i = 0; i < keys->keys->len; i++)
    if (strcmp (g_array_index (keys->keys, PayAuthKey, i).id, id) == 0)
      return TRUE;
  return FALSE;
}

PayAuthKeys *
pay_auth_keys_parse (const gchar *text, gsize length, GError **error)
{
  g_autoptr(PayAuthKeys) keys = keys_new ();
  g_autofree gchar *copy = g_strndup (text, length);
  g_auto(GStrv) lines = g_strsplit (copy, "\n", -1);

  for (guint n = 0; lines[n] != NULL; n++)
    {
      g_auto(GStrv) fields = line_fields (lines[n]);
      PayAuthKey key = { 0 };
      const gchar *problem = NULL;

      if (fields[0] == NULL)
        continue;
      if (parse_line (fields, &key, &problem) && seen_before (keys, key.id))
        problem = "key id listed twice";
      if (problem != NULL)
        {
          g_set_error (error, PAY_AUTH_ERROR, PAY_AUTH_ERROR_SYNTAX, "line %u: %s", n + 1, problem);
          return NULL;
        }
      g_array_append_val (keys->keys, key);
    }
  keys_index (keys);
  return g_steal_pointer (&keys);
}

PayAuthKeys *
pay_auth_keys_load (const gchar *path, GError **error)
{
  g_autofree gchar *text = NULL;
  gsize length = 0;
  g_autoptr(GError) local = NULL;
  PayAuthKeys *keys;

  if (!g_file_get_contents (path, &text, &length, &local))
    {
      g_set_error (error, PAY_AUTH_ERROR, PAY_AUTH_ERROR_FILE, "%s", local->message);
      return NULL;
    }
  keys = pay_auth_keys_parse (text, length, &local);
  if (keys == NULL)
    g_set_error (error, PAY_AUTH_ERROR, PAY_AUTH_ERROR_SYNTAX, "%s: %s", path, local->message);
  return keys;
}

void
pay_auth_keys_free (PayAuthKeys *keys)
{
  if (keys == NULL)
    return;
  g_hash_table_unref (keys->by_id);
  g_ptr_array_unref (keys->ids);
  g_array_unref (keys->keys);
  g_free (keys);
}

guint
pay_auth_keys_count (const PayAuthKeys *keys)
{
  return keys->keys->len;
}

const gchar *const *
pay_auth_keys_ids (const PayAuthKeys *keys)
{
  return (const gchar *const *) keys->ids->pdata;
}

/* ---- the check ------------------------------------------------------------------- */

/* A b64token character (RFC 6750 section 2.1), '=' included. */
static gboolean
token_char (gchar c)
{
  return g_ascii_isalnum (c) || strchr ("-._~+/=", c) != NULL;
}

/* Splits "Bearer <id>.<secret>" into @id (copied) and *@secret (borrowed). */
static gboolean
parse_bearer (const gchar *value, gchar id[PAY_AUTH_KEY_ID_MAX + 1], const gchar **secret)
{
  const gchar *token, *dot;
  gsize scheme = strlen (PAY_AUTH_SCHEME);

  if (value == NULL || g_ascii_strncasecmp (value, PAY_AUTH_SCHEME, scheme) != 0 ||
      value[scheme] != ' ')
    return FALSE;
  for (token = value + scheme; *token == ' '; token++)
    ;
  for (const gchar *p = token; *p != '\0'; p++)
    if (!token_char (*p))
      return FALSE;
  dot = strchr (token, '.');
  if (dot == NULL || dot[1] == '\0' || !valid_key_id (token, (gsize) (dot - token)))
    return FALSE;
  memcpy (id, token, (gsize) (dot - token));
  id[dot - token] = '\0';
  *secret = dot + 1;
  return TRUE;
}

PayAuthVerdict
pay_auth_keys_check (const PayAuthKeys *keys, const gchar *authorization,
                     PayAuthScope scope, const gchar **key_id)
{
  gchar id[PAY_AUTH_KEY_ID_MAX + 1];
  const gchar *secret;
  const PayAuthKey *key = NULL;
  guint8 digest[PAY_AUTH_DIGEST_BYTES];
  guint index;
  gboolean equal;

  *key_id = NULL;
  if (!parse_bearer (authorization, id, &secret))
    return PAY_AUTH_UNAUTHENTICATED;
  index = GPOINTER_TO_UINT (g_hash_table_lookup (keys->by_id, id));
  if (index > 0)
    key = &g_array_index (keys->keys, PayAuthKey, index - 1);
  sha256 (secret, strlen (secret), digest);
  equal = pay_auth_equal (digest, key != NULL ? key->digest : no_digest,
                          PAY_AUTH_DIGEST_BYTES, NULL, NULL);
  if (key == NULL || !equal)
    return PAY_AUTH_UNAUTHENTICATED;
  *key_id = key->id;
  return (key->scopes & scope) == (guint) scope ? PAY_AUTH_OK : PAY_AUTH_FORBIDDEN;
}
