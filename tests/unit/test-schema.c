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
      g_assert_true (g_str_has_prefix (pay_schema_statements[i], "CREATE TABLE IF NOT EXISTS ") ||
                     g_str_has_prefix (pay_schema_statements[i], "CREATE TRIGGER IF NOT EXISTS "));
      /* Each element is sent as one statement, and schema.sql is split at ';'. */
      g_assert_null (strchr (pay_schema_statements[i], ';'));
    }
}

/* The charge's event comes from the trigger (the repository inserts only the payment): it
 * must exist, fire after an insert into payments, write a charge event, and come after the
 * two tables it names. */
static void
test_schema_charge_event_trigger (void)
{
  const gchar *trigger = NULL;
  guint n = 0, events_table = 0, trigger_index = 0;

  for (; pay_schema_statements[n] != NULL; n++)
    {
      if (g_str_has_prefix (pay_schema_statements[n], "CREATE TRIGGER IF NOT EXISTS "
                                                      PAY_SCHEMA_CHARGE_EVENT_TRIGGER))
        {
          trigger = pay_schema_statements[n];
          trigger_index = n;
        }
      if (g_str_has_prefix (pay_schema_statements[n], "CREATE TABLE IF NOT EXISTS "
                                                      PAY_SCHEMA_EVENTS_TABLE " "))
        events_table = n;
    }
  g_assert_nonnull (trigger);
  g_assert_cmpuint (trigger_index, >, events_table);
  g_assert_nonnull (strstr (trigger, "AFTER INSERT ON " PAY_SCHEMA_PAYMENTS_TABLE " FOR EACH ROW"));
  g_assert_nonnull (strstr (trigger, "INSERT INTO " PAY_SCHEMA_EVENTS_TABLE));
  g_assert_nonnull (strstr (trigger, "'" PAY_SCHEMA_EVENT_CHARGE "'"));
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
        continue;   /* test_schema_event_id_v4 */
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

/* Charge events get UUID v4 ids (RANDOM_BYTES, version and variant nibbles set), never
 * UUID() (version 1); a database with the old trigger has it replaced by a migration that
 * runs only while the trigger still calls UUID(), under a write lock on both tables, and
 * creates the same trigger as the schema. */
static void
test_schema_event_id_v4 (void)
{
  const gchar *trigger = NULL;
  const PaySchemaMigration *migration = NULL;

  for (guint i = 0; pay_schema_statements[i] != NULL; i++)
    if (g_str_has_prefix (pay_schema_statements[i], "CREATE TRIGGER IF NOT EXISTS "))
      trigger = pay_schema_statements[i];
  g_assert_nonnull (trigger);
  g_assert_null (strstr (trigger, "UUID()"));
  g_assert_nonnull (strstr (trigger, "RANDOM_BYTES(16)"));
  g_assert_nonnull (strstr (trigger, "'-4'"));
  g_assert_nonnull (strstr (trigger, "HEX(8 | (CONV(SUBSTR(h, 17, 1), 16, 10) & 3))"));

  for (guint i = 0; pay_schema_migrations[i].sql != NULL; i++)
    if (strstr (pay_schema_migrations[i].check_sql, "information_schema.TRIGGERS") != NULL)
      migration = &pay_schema_migrations[i];
  g_assert_nonnull (migration);
  g_assert_nonnull (strstr (migration->check_sql, "TRIGGER_NAME = '" PAY_SCHEMA_CHARGE_EVENT_TRIGGER "'"));
  g_assert_nonnull (strstr (migration->check_sql, "LIKE '%UUID()%'"));
  g_assert_true (g_str_has_prefix (migration->sql, "LOCK TABLES " PAY_SCHEMA_PAYMENTS_TABLE " WRITE, "
                                   PAY_SCHEMA_EVENTS_TABLE " WRITE"));
  g_assert_nonnull (migration->then);
  g_assert_cmpstr (migration->then[0], ==, "DROP TRIGGER IF EXISTS " PAY_SCHEMA_CHARGE_EVENT_TRIGGER);
  g_assert_cmpstr (migration->then[1], ==, trigger);
  /* the events the old trigger made get v4 ids, in the same lock */
  g_assert_true (g_str_has_prefix (migration->then[2], "UPDATE " PAY_SCHEMA_EVENTS_TABLE " SET event_id"));
  g_assert_nonnull (strstr (migration->then[2], "SUBSTR(event_id, 15, 1) = '1'"));
  g_assert_cmpstr (migration->then[3], ==, "UNLOCK TABLES");
  g_assert_null (migration->then[4]);
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
  g_test_add_func ("/payment/schema/charge-event-trigger", test_schema_charge_event_trigger);
  g_test_add_func ("/payment/schema/binary-ids", test_schema_binary_ids);
  g_test_add_func ("/payment/schema/caller", test_schema_caller);
  g_test_add_func ("/payment/schema/event-id-v4", test_schema_event_id_v4);
  g_test_add_func ("/payment/schema/relay-table", test_schema_relay_table);

  return g_test_run ();
}
