/* test-schema.c: keeps src/storage/schema.sql and the statements the service runs
 * (pay_schema_statements) identical, and checks the properties the repository relies on. */
#include <string.h>

#include <glib.h>

#include "storage/pay-schema.h"

/* schema.sql as the service would write it: a header of "--" comment lines, then every
 * statement followed by ";\n", statements separated by one empty line. */
static gchar *
expected_body (void)
{
  g_autoptr(GString) body = g_string_new (NULL);

  for (guint i = 0; pay_schema_statements[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append_c (body, '\n');
      g_string_append_printf (body, "%s;\n", pay_schema_statements[i]);
    }
  return g_string_free (g_steal_pointer (&body), FALSE);
}

/* Returns the part of @text after its leading comment and empty lines. */
static const gchar *
skip_header (const gchar *text)
{
  const gchar *p = text;

  while (g_str_has_prefix (p, "--") || *p == '\n')
    {
      const gchar *nl = strchr (p, '\n');
      if (nl == NULL)
        return p + strlen (p);
      p = nl + 1;
    }
  return p;
}

static void
test_schema_file_matches (void)
{
  g_autofree gchar *path = g_test_build_filename (G_TEST_DIST, "src", "storage", "schema.sql", NULL);
  g_autofree gchar *contents = NULL;
  g_autofree gchar *expected = expected_body ();
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (contents, "-- "));  /* the one-sentence file header */
  g_assert_cmpstr (skip_header (contents), ==, expected);
}

static void
test_schema_idempotent (void)
{
  g_assert_nonnull (pay_schema_statements[0]);
  for (guint i = 0; pay_schema_statements[i] != NULL; i++)
    {
      g_assert_true (g_str_has_prefix (pay_schema_statements[i], "CREATE TABLE IF NOT EXISTS "));
      /* Each element is sent as one statement, and schema.sql is split at ';'. */
      g_assert_null (strchr (pay_schema_statements[i], ';'));
    }
}

/* No trigger and no stored procedure (TiDB has neither): the service writes a charge's
 * event itself. payment_events allocates its ids in order on TiDB too (AUTO_ID_CACHE=1, in
 * a comment only TiDB executes): the relay takes id order as allocation order. */
static void
test_schema_no_trigger (void)
{
  gboolean events_table = FALSE;

  for (guint i = 0; pay_schema_statements[i] != NULL; i++)
    {
      g_assert_null (strstr (pay_schema_statements[i], "TRIGGER"));
      g_assert_null (strstr (pay_schema_statements[i], "PROCEDURE"));
      g_assert_null (strstr (pay_schema_statements[i], "FUNCTION"));
      if (g_str_has_prefix (pay_schema_statements[i], "CREATE TABLE IF NOT EXISTS "
                                                      PAY_SCHEMA_EVENTS_TABLE " "))
        {
          events_table = TRUE;
          g_assert_true (g_str_has_suffix (pay_schema_statements[i],
                                           " /*T![auto_id_cache] AUTO_ID_CACHE=1 */"));
        }
    }
  g_assert_true (events_table);
}

static void
test_schema_key_names (void)
{
  const gchar *payments = pay_schema_statements[0];
  const gchar *order_key = strstr (payments, "UNIQUE KEY " PAY_SCHEMA_KEY_PAYMENTS_ORDER " (order_id)");
  const gchar *tx_key = strstr (payments, "UNIQUE KEY " PAY_SCHEMA_KEY_PAYMENTS_TX " (transaction_id)");

  /* The repository maps ER_DUP_ENTRY by these names; the order key comes first so a row
   * violating both is reported as an order already paid. */
  g_assert_nonnull (order_key);
  g_assert_nonnull (tx_key);
  g_assert_true (order_key < tx_key);
  g_assert_nonnull (strstr (payments, "ENGINE=InnoDB"));
  g_assert_nonnull (strstr (payments, "CHARSET=utf8mb4"));
}

/* Every id column is VARBINARY (compared byte for byte), in the schema and in the
 * migrations that convert older databases; each migration is guarded by its check. */
static void
test_schema_binary_ids (void)
{
  static const gchar *const ids[] = { "transaction_id ", "refund_id ", "event_id ",
                                      "refund_request_id " };
  guint columns = 0;

  for (guint i = 0; pay_schema_statements[i] != NULL; i++)
    for (const gchar *line = pay_schema_statements[i]; line != NULL; line = strchr (line + 1, '\n'))
      {
        const gchar *p = line + strspn (line, "\n ");

        for (guint k = 0; k < G_N_ELEMENTS (ids); k++)
          if (g_str_has_prefix (p, ids[k]))
            {
              g_assert_true (g_str_has_prefix (p + strlen (ids[k]) + strspn (p + strlen (ids[k]), " "),
                                               "VARBINARY("));
              columns++;
            }
      }
  g_assert_cmpuint (columns, ==, 7);
  g_assert_nonnull (pay_schema_migrations[0].sql);
  for (guint i = 0; pay_schema_migrations[i].sql != NULL; i++)
    {
      if (strstr (pay_schema_migrations[i].sql, " ADD COLUMN ") != NULL)
        continue;   /* test_schema_caller */
      if (strstr (pay_schema_migrations[i].check_sql, "information_schema.TRIGGERS") != NULL)
        continue;   /* test_schema_trigger_dropped */
      g_assert_true (g_str_has_prefix (pay_schema_migrations[i].check_sql, "SELECT 1 FROM information_schema.COLUMNS"));
      g_assert_nonnull (strstr (pay_schema_migrations[i].check_sql, "DATA_TYPE <> 'varbinary'"));
      g_assert_true (g_str_has_prefix (pay_schema_migrations[i].sql, "ALTER TABLE "));
      g_assert_null (strstr (pay_schema_migrations[i].sql, "CHAR("));
    }
}

/* refunds and payment_events name each refund's caller; a database made before has the
 * columns added, each by a migration that runs only while the column is missing. */
static void
test_schema_caller (void)
{
  static const gchar *const tables[] = { PAY_SCHEMA_REFUNDS_TABLE, PAY_SCHEMA_EVENTS_TABLE };

  for (gsize t = 0; t < G_N_ELEMENTS (tables); t++)
    {
      g_autofree gchar *create = g_strdup_printf ("CREATE TABLE IF NOT EXISTS %s (", tables[t]);
      g_autofree gchar *alter = g_strdup_printf ("ALTER TABLE %s ADD COLUMN caller ", tables[t]);
      g_autofree gchar *guard = g_strdup_printf ("TABLE_NAME = '%s' AND COLUMN_NAME = 'caller'",
                                                 tables[t]);
      gboolean in_schema = FALSE, migrated = FALSE;

      for (guint i = 0; pay_schema_statements[i] != NULL; i++)
        if (g_str_has_prefix (pay_schema_statements[i], create))
          in_schema = strstr (pay_schema_statements[i], "\n  caller ") != NULL;
      for (guint i = 0; pay_schema_migrations[i].sql != NULL; i++)
        if (g_str_has_prefix (pay_schema_migrations[i].sql, alter))
          {
            g_assert_nonnull (strstr (pay_schema_migrations[i].check_sql, "WHERE NOT EXISTS"));
            g_assert_nonnull (strstr (pay_schema_migrations[i].check_sql, guard));
            migrated = TRUE;
          }
      g_assert_true (in_schema);
      g_assert_true (migrated);
    }
}

/* A database made when a trigger wrote charge events has it dropped by a migration that
 * runs while the trigger exists; the charge events it made with UUID() (version 1) get v4
 * ids (RANDOM_BYTES, version and variant nibbles set). */
static void
test_schema_trigger_dropped (void)
{
  const PaySchemaMigration *migration = NULL;

  for (guint i = 0; pay_schema_migrations[i].sql != NULL; i++)
    if (strstr (pay_schema_migrations[i].check_sql, "information_schema.TRIGGERS") != NULL)
      migration = &pay_schema_migrations[i];
  g_assert_nonnull (migration);
  g_assert_nonnull (strstr (migration->check_sql, "TRIGGER_NAME = '" PAY_SCHEMA_CHARGE_EVENT_TRIGGER "'"));
  g_assert_null (strstr (migration->check_sql, "LIKE"));   /* any body */
  g_assert_cmpstr (migration->sql, ==, "DROP TRIGGER IF EXISTS " PAY_SCHEMA_CHARGE_EVENT_TRIGGER);
  g_assert_nonnull (migration->then);
  g_assert_true (g_str_has_prefix (migration->then[0], "UPDATE " PAY_SCHEMA_EVENTS_TABLE " SET event_id"));
  g_assert_nonnull (strstr (migration->then[0], "SUBSTR(event_id, 15, 1) = '1'"));
  g_assert_nonnull (strstr (migration->then[0], "'-4'"));
  g_assert_null (migration->then[1]);
}

/* The relay's cursor table: one row per stream name. */
static void
test_schema_relay_table (void)
{
  gboolean found = FALSE;

  for (guint i = 0; pay_schema_statements[i] != NULL; i++)
    if (g_str_has_prefix (pay_schema_statements[i], "CREATE TABLE IF NOT EXISTS " PAY_SCHEMA_RELAY_TABLE " ("))
      {
        found = TRUE;
        g_assert_nonnull (strstr (pay_schema_statements[i], "  name           VARCHAR(64) NOT NULL"));
        g_assert_nonnull (strstr (pay_schema_statements[i], "  last_id        BIGINT      NOT NULL"));
        g_assert_nonnull (strstr (pay_schema_statements[i], "PRIMARY KEY (name)"));
        g_assert_nonnull (strstr (pay_schema_statements[i], "ENGINE=InnoDB"));
      }
  g_assert_true (found);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/payment/schema/file-matches", test_schema_file_matches);
  g_test_add_func ("/payment/schema/idempotent", test_schema_idempotent);
  g_test_add_func ("/payment/schema/key-names", test_schema_key_names);
  g_test_add_func ("/payment/schema/no-trigger", test_schema_no_trigger);
  g_test_add_func ("/payment/schema/binary-ids", test_schema_binary_ids);
  g_test_add_func ("/payment/schema/caller", test_schema_caller);
  g_test_add_func ("/payment/schema/trigger-dropped", test_schema_trigger_dropped);
  g_test_add_func ("/payment/schema/relay-table", test_schema_relay_table);

  return g_test_run ();
}
