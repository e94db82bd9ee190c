/* pay-auth.h: HTTP API keys (README "Security"): the keys file, parsed into a table that
 * keeps only each key's SHA-256 and scopes, and the check of an Authorization header
 * against it, compared in constant time. Plain data, no global state: the HTTP server
 * holds one table and swaps it whole on a reload. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PAY_AUTH_ERROR (pay_auth_error_quark ())
GQuark pay_auth_error_quark (void);

typedef enum {
  PAY_AUTH_ERROR_FILE,   /* the keys file cannot be read */
  PAY_AUTH_ERROR_SYNTAX, /* a line is malformed; the message names the line */
} PayAuthError;

#define PAY_AUTH_KEY_ID_MAX     64   /* key ids are 1-64 characters of [A-Za-z0-9_-] */
#define PAY_AUTH_DIGEST_BYTES   32   /* SHA-256 */

/* What a key may do; a route needs one of these (or none: /health). */
typedef enum {
  PAY_AUTH_SCOPE_NONE    = 0,
  PAY_AUTH_SCOPE_CHARGE  = 1 << 0,
  PAY_AUTH_SCOPE_QUERY   = 1 << 1,
  PAY_AUTH_SCOPE_REFUND  = 1 << 2,
  PAY_AUTH_SCOPE_METRICS = 1 << 3,
} PayAuthScope;

/* The outcome of checking a request's Authorization header. */
typedef enum {
  PAY_AUTH_OK,                /* a known key with the right secret and the scope */
  PAY_AUTH_UNAUTHENTICATED,   /* missing, malformed, unknown key or wrong secret: 401 */
  PAY_AUTH_FORBIDDEN,         /* a valid key without the scope: 403 */
} PayAuthVerdict;

/* An immutable table of keys. */
typedef struct _PayAuthKeys PayAuthKeys;

/* Parses the keys file's text: one key per line, "<key_id> <scopes> <sha256-hex>"
 * separated by spaces or tabs; scopes comma-separated from charge, query, refund,
 * metrics; "#" starts a comment to the end of the line; blank lines are skipped. A key
 * id given twice, an unknown scope, a digest that is not 64 hex digits or a line with
 * more or fewer fields fails with PAY_AUTH_ERROR_SYNTAX naming the line (never its
 * text beyond the key id). No key at all is a valid table that lets nobody in. */
PayAuthKeys *pay_auth_keys_parse (const gchar *text, gsize length, GError **error);

/* Reads and parses @path (a small local file: read synchronously). */
PayAuthKeys *pay_auth_keys_load (const gchar *path, GError **error);

void pay_auth_keys_free (PayAuthKeys *keys);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PayAuthKeys, pay_auth_keys_free)

guint pay_auth_keys_count (const PayAuthKeys *keys);

/* The key ids, in file order (borrowed; NULL-terminated). */
const gchar *const *pay_auth_keys_ids (const PayAuthKeys *keys);

/* Checks @authorization (the header's value; NULL: absent) for @scope: "Bearer
 * <key_id>.<secret>", the scheme in any case. On PAY_AUTH_OK and PAY_AUTH_FORBIDDEN,
 * *@key_id is the key's id (borrowed from @keys); otherwise NULL. An unknown key costs
 * the same hash and comparison as a known one. */
PayAuthVerdict pay_auth_keys_check (const PayAuthKeys *keys,
                                    const gchar       *authorization,
                                    PayAuthScope       scope,
                                    const gchar      **key_id);

/* Reads byte @index of @bytes: the comparison's only access to its inputs, so a test
 * can count what it reads. */
typedef guint8 (*PayAuthReadByte) (const guint8 *bytes, gsize index, gpointer user_data);

/* Whether @a and @b (@length bytes each) are equal, in time independent of where they
 * differ: every byte of both is read (through @read; NULL reads them directly) and the
 * differences are OR-ed together, without an early exit. */
gboolean pay_auth_equal (const guint8    *a,
                         const guint8    *b,
                         gsize            length,
                         PayAuthReadByte  read,
                         gpointer         user_data);

G_END_DECLS
