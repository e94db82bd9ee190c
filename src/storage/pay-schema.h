/* pay-schema.h: the database schema as the statements the repository runs; the same text
 * is kept in src/storage/schema.sql, and tests/unit/test-schema.c fails when they differ. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Names the repository relies on to tell one duplicate key from another (ER_DUP_ENTRY
 * names the violated key in its message). */
#define PAY_SCHEMA_PAYMENTS_TABLE     "payments"
#define PAY_SCHEMA_KEY_PAYMENTS_ORDER "uk_payments_order"
#define PAY_SCHEMA_KEY_PAYMENTS_TX    "uk_payments_tx"
#define PAY_SCHEMA_REFUNDS_TABLE      "refunds"
#define PAY_SCHEMA_KEY_REFUNDS_REQUEST "uk_refunds_request"
#define PAY_SCHEMA_EVENTS_TABLE       "payment_events"
/* Who asked for a refund (PayRefundRequest.caller), in refunds and payment_events; as
 * wide as PAY_REFUND_CALLER_MAX_BYTES. */
#define PAY_SCHEMA_CALLER_COLUMN \
  "VARBINARY(96)  NULL COMMENT 'who asked: key:<key id>, http:<peer address> or rpc:<peer address>," \
  " NULL: charges, and refunds made before this column'"

/* The AFTER INSERT trigger on payments that wrote each charge's payment_events row before
 * the service wrote it itself: dropped where it still exists (pay_schema_migrations). */
#define PAY_SCHEMA_CHARGE_EVENT_TRIGGER "payments_charge_event"

/* The event relay's cursor, one row per stream (src/events/pay-event-outbox.c). */
#define PAY_SCHEMA_RELAY_TABLE        "payment_events_relay"

/* payment_events.event_type values. */
#define PAY_SCHEMA_EVENT_CHARGE "charge"
#define PAY_SCHEMA_EVENT_REFUND "refund"

/* The schema, one statement per element (no trailing ';', none inside either),
 * NULL-terminated: the tables; no trigger and no stored procedure (TiDB has neither).
 * Every statement is idempotent (CREATE ... IF NOT EXISTS), so running them all again on
 * an existing database changes nothing. Static strings. */
extern const gchar *const pay_schema_statements[];

/* A change to a database made by an older schema: @sql (then the statements of @then, on
 * the same connection) runs when @check_sql (a SELECT, no parameters) returns a row, so
 * running them all again changes nothing. */
typedef struct {
  const gchar *check_sql;
  const gchar *sql;
  const gchar *const *then;   /* NULL, or more statements run after @sql, NULL-terminated */
} PaySchemaMigration;

/* Run after pay_schema_statements, in order; ends with { NULL, NULL }. Static strings. */
extern const PaySchemaMigration pay_schema_migrations[];

G_END_DECLS
