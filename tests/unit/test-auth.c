/* test-auth.c: the keys file parser, the Bearer check and the constant-time comparison
 * (pay-auth.h). */
#include <string.h>

#include "core/pay-auth.h"

/* Hex SHA-256 of @secret, for building files. */
static gchar *
hex_digest (const gchar *secret)
{
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, secret, -1);
}

/* ---- the keys file ---------------------------------------------------------------- */

typedef struct {
  const gchar *name;
  const gchar *text;      /* "%s" stands for a valid digest */
  gint         keys;      /* -1: must fail */
  const gchar *problem;   /* expected in the message when failing */
} FileCase;

static const FileCase file_cases[] = {
  { "empty",          "",                                         0, NULL },
  { "comments",       "# only a comment\n\n   # another\n",       0, NULL },
  { "one",            "web charge,query %s\n",                    1, NULL },
  { "trailing-comment", "web charge %s # the shop\n",             1, NULL },
  { "tabs-crlf",      "web\tcharge\t%s\r\n",                      1, NULL },
  { "all-scopes",     "ops charge,query,refund,metrics %s",       1, NULL },
  { "id-64",          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa refund %s\n", 1, NULL },
  { "id-65",          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa refund %s\n", -1, "line 1: key id" },
  { "id-dot",         "web.1 charge %s\n",                       -1, "line 1: key id" },
  { "unknown-scope",  "\nweb charge,admin %s\n",                 -1, "line 2: scopes" },
  { "empty-scope",    "web charge,,query %s\n",                  -1, "line 1: scopes" },
  { "short-digest",   "web charge abcdef\n",                     -1, "line 1: the digest" },
  { "bad-hex",        "web charge g000000000000000000000000000000000000000000000000000000000000000\n",                       -1, "line 1: the digest" },
  { "two-fields",     "web charge\n",                            -1, "line 1: expected" },
  { "four-fields",    "web charge %s extra\n",                   -1, "line 1: expected" },
  { "duplicate",      "web charge %s\nweb query %s\n",           -1, "line 2: key id listed twice" },
};

static void
test_file (gconstpointer data)
{
  const FileCase *tc = data;
  g_autofree gchar *digest = hex_digest ("s3cret");
  g_auto(GStrv) parts = g_strsplit (tc->text, "%s", -1);
  g_autofree gchar *text = g_strjoinv (digest, parts);
  g_autoptr(GError) error = NULL;
  g_autoptr(PayAuthKeys) keys = NULL;

  keys = pay_auth_keys_parse (text, strlen (text), &error);
  if (tc->keys < 0)
    {
      g_assert_null (keys);
      g_assert_error (error, PAY_AUTH_ERROR, PAY_AUTH_ERROR_SYNTAX);
      g_assert_nonnull (strstr (error->message, tc->problem));
      g_assert_null (strstr (error->message, digest));
      return;
    }
  g_assert_no_error (error);
  g_assert_cmpuint (pay_auth_keys_count (keys), ==, (guint) tc->keys);
}

static void
test_load_missing (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PayAuthKeys) keys = pay_auth_keys_load ("/nonexistent/keys", &error);

  g_assert_null (keys);
  g_assert_error (error, PAY_AUTH_ERROR, PAY_AUTH_ERROR_FILE);
}

/* ---- the check -------------------------------------------------------------------- */

typedef struct {
  const gchar    *name;
  const gchar    *header;   /* NULL: no header */
  PayAuthScope    scope;
  PayAuthVerdict  verdict;
  const gchar    *key_id;
} CheckCase;

static const CheckCase check_cases[] = {
  { "missing",        NULL,                           PAY_AUTH_SCOPE_CHARGE, PAY_AUTH_UNAUTHENTICATED, NULL },
  { "empty",          "",                             PAY_AUTH_SCOPE_CHARGE, PAY_AUTH_UNAUTHENTICATED, NULL },
  { "basic",          "Basic d2ViOnMzY3JldA==",       PAY_AUTH_SCOPE_CHARGE, PAY_AUTH_UNAUTHENTICATED, NULL },
  { "no-token",       "Bearer ",                      PAY_AUTH_SCOPE_CHARGE, PAY_AUTH_UNAUTHENTICATED, NULL },
  { "no-space",       "Bearerweb.s3cret",             PAY_AUTH_SCOPE_CHARGE, PAY_AUTH_UNAUTHENTICATED, NULL },
  { "no-dot",         "Bearer webs3cret",             PAY_AUTH_SCOPE_CHARGE, PAY_AUTH_UNAUTHENTICATED, NULL },
  { "no-secret",      "Bearer web.",                  PAY_AUTH_SCOPE_CHARGE, PAY_AUTH_UNAUTHENTICATED, NULL },
  { "no-id",          "Bearer .s3cret",               PAY_AUTH_SCOPE_CHARGE, PAY_AUTH_UNAUTHENTICATED, NULL },
  { "two-tokens",     "Bearer web.s3cret, Bearer x.y", PAY_AUTH_SCOPE_CHARGE, PAY_AUTH_UNAUTHENTICATED, NULL },
  { "unknown-key",    "Bearer nobody.s3cret",         PAY_AUTH_SCOPE_CHARGE, PAY_AUTH_UNAUTHENTICATED, NULL },
  { "wrong-secret",   "Bearer web.s3creT",            PAY_AUTH_SCOPE_CHARGE, PAY_AUTH_UNAUTHENTICATED, NULL },
  { "secret-prefix",  "Bearer web.s3cre",             PAY_AUTH_SCOPE_CHARGE, PAY_AUTH_UNAUTHENTICATED, NULL },
  { "lacks-scope",    "Bearer web.s3cret",            PAY_AUTH_SCOPE_REFUND, PAY_AUTH_FORBIDDEN,       "web" },
  { "right",          "Bearer web.s3cret",            PAY_AUTH_SCOPE_CHARGE, PAY_AUTH_OK,              "web" },
  { "scheme-case",    "bEARER web.s3cret",            PAY_AUTH_SCOPE_QUERY,  PAY_AUTH_OK,              "web" },
  { "two-spaces",     "Bearer  web.s3cret",           PAY_AUTH_SCOPE_QUERY,  PAY_AUTH_OK,              "web" },
  { "dot-in-secret",  "Bearer ops.a.b=",              PAY_AUTH_SCOPE_METRICS, PAY_AUTH_OK,             "ops" },
  { "no-scope",       "Bearer ops.a.b=",              PAY_AUTH_SCOPE_NONE,   PAY_AUTH_OK,              "ops" },
};

static void
test_check (gconstpointer data)
{
  const CheckCase *tc = data;
  g_autofree gchar *web = hex_digest ("s3cret");
  g_autofree gchar *ops = hex_digest ("a.b=");
  g_autofree gchar *text = g_strdup_printf ("web charge,query %s\nops metrics,refund %s\n",
                                            web, ops);
  g_autoptr(PayAuthKeys) keys = pay_auth_keys_parse (text, strlen (text), NULL);
  const gchar *key_id = "unset";

  g_assert_nonnull (keys);
  g_assert_cmpint (pay_auth_keys_check (keys, tc->header, tc->scope, &key_id), ==, tc->verdict);
  g_assert_cmpstr (key_id, ==, tc->key_id);
}

static void
test_ids (void)
{
  g_autofree gchar *digest = hex_digest ("x");
  g_autofree gchar *text = g_strdup_printf ("b charge %s\na query %s\n", digest, digest);
  g_autoptr(PayAuthKeys) keys = pay_auth_keys_parse (text, strlen (text), NULL);
  const gchar *const *ids = pay_auth_keys_ids (keys);

  g_assert_cmpstr (ids[0], ==, "b");
  g_assert_cmpstr (ids[1], ==, "a");
  g_assert_null (ids[2]);
}

/* ---- the comparison reads every byte ---------------------------------------------- */

typedef struct {
  const guint8 *a;
  const guint8 *b;
  guint         reads_a[PAY_AUTH_DIGEST_BYTES];
  guint         reads_b[PAY_AUTH_DIGEST_BYTES];
} ReadLog;

static guint8
counting_read (const guint8 *bytes, gsize index, gpointer user_data)
{
  ReadLog *log = user_data;

  g_assert_cmpuint (index, <, PAY_AUTH_DIGEST_BYTES);
  if (bytes == log->a)
    log->reads_a[index]++;
  else if (bytes == log->b)
    log->reads_b[index]++;
  else
    g_assert_not_reached ();
  return bytes[index];
}

/* Whatever the first differing byte (or none), every byte of both inputs is read once:
 * the work done does not depend on where they differ. */
static void
test_equal_reads_every_byte (void)
{
  guint8 a[PAY_AUTH_DIGEST_BYTES], b[PAY_AUTH_DIGEST_BYTES];

  for (gint differ = -1; differ < PAY_AUTH_DIGEST_BYTES; differ++)
    {
      ReadLog log = { a, b, { 0 }, { 0 } };

      for (gsize i = 0; i < sizeof a; i++)
        a[i] = b[i] = (guint8) (i * 7 + 1);
      if (differ >= 0)
        b[differ] ^= 0x80;
      g_assert_true (pay_auth_equal (a, b, sizeof a, counting_read, &log) == (differ < 0));
      for (gsize i = 0; i < sizeof a; i++)
        {
          g_assert_cmpuint (log.reads_a[i], ==, 1);
          g_assert_cmpuint (log.reads_b[i], ==, 1);
        }
    }
}

/* Every bit of every byte counts. */
static void
test_equal_every_bit (void)
{
  guint8 a[PAY_AUTH_DIGEST_BYTES] = { 0 }, b[PAY_AUTH_DIGEST_BYTES] = { 0 };

  g_assert_true (pay_auth_equal (a, b, sizeof a, NULL, NULL));
  for (gsize i = 0; i < sizeof a; i++)
    for (guint bit = 0; bit < 8; bit++)
      {
        b[i] = (guint8) (1u << bit);
        g_assert_false (pay_auth_equal (a, b, sizeof a, NULL, NULL));
        b[i] = 0;
      }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (file_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/auth/file/%s", file_cases[i].name);
      g_test_add_data_func (path, &file_cases[i], test_file);
    }
  g_test_add_func ("/payment/auth/file/missing", test_load_missing);
  for (gsize i = 0; i < G_N_ELEMENTS (check_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/auth/check/%s", check_cases[i].name);
      g_test_add_data_func (path, &check_cases[i], test_check);
    }
  g_test_add_func ("/payment/auth/ids", test_ids);
  g_test_add_func ("/payment/auth/equal/reads-every-byte", test_equal_reads_every_byte);
  g_test_add_func ("/payment/auth/equal/every-bit", test_equal_every_bit);

  return g_test_run ();
}
