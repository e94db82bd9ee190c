/* pay-schema.c: the schema statements run by pay_repository_ensure_schema(); schema.sql
 * holds the same text for operators, and tests/unit/test-schema.c keeps the two equal. */
#define G_LOG_DOMAIN "payment-storage"

#include "storage/pay-schema.h"

/* Databases made when the schema had a trigger writing each charge's event (the service
 * writes it now, in the charge's transaction): the trigger is dropped, or every charge
 * would get two events. Its charge events that still carry a UUID() (version 1: host and
 * time) id get a UUID v4 each: no relay has published them yet (random per row: every
 * RANDOM_BYTES() call is evaluated per row, unlike a subquery a server may cache). */
static const gchar *const charge_event_trigger_drop[] = {
  "UPDATE " PAY_SCHEMA_EVENTS_TABLE " SET event_id = LOWER(CONCAT("
  "HEX(RANDOM_BYTES(4)), '-', HEX(RANDOM_BYTES(2)), '-4', SUBSTR(HEX(RANDOM_BYTES(2)), 2), "
  "'-', HEX(8 | (ASCII(RANDOM_BYTES(1)) & 3)), SUBSTR(HEX(RANDOM_BYTES(2)), 2), '-', "
  "HEX(RANDOM_BYTES(6))))"
  " WHERE event_type = '" PAY_SCHEMA_EVENT_CHARGE "' AND SUBSTR(event_id, 15, 1) = '1'",
  NULL,
};

/* Ids (transaction_id, refund_id, event_id, refund_request_id) are VARBINARY: compared
 * byte for byte, as the code compares them. A text collation folds case and ignores
 * trailing spaces, and even a _bin one pads spaces (PAD SPACE), so "<id> " and an
 * upper-case "<ID>" found the payment of "<id>". The service lower-cases transaction ids
 * where they come in (UUIDs are case-insensitive on input, RFC 9562).
 *
 * order_id is UNIQUE: the database, not the service, is the one guard against charging an
 * order twice. uk_payments_order is declared before uk_payments_tx so that a row violating
 * both reports the order (the key clients can act on). */
const gchar *const pay_schema_statements[] = {
  "CREATE TABLE IF NOT EXISTS " PAY_SCHEMA_PAYMENTS_TABLE " (\n"
  "  id             BIGINT      NOT NULL AUTO_INCREMENT,\n"
  "  transaction_id VARBINARY(36) NOT NULL,\n"
  "  order_id       BIGINT      NOT NULL,\n"
  "  user_id        BIGINT      NOT NULL,\n"
  "  amount_cents   BIGINT      NOT NULL,\n"
  "  refunded_cents BIGINT      NOT NULL DEFAULT 0,\n"
  "  status         TINYINT     NOT NULL COMMENT '1 PAID, 2 PARTIALLY_REFUNDED, 3 REFUNDED',\n"
  "  payment_method VARCHAR(32) NULL,\n"
  "  card_brand     VARCHAR(16) NULL,\n"
  "  card_last4     CHAR(4)     NULL,\n"
  "  created_at_ms  BIGINT      NULL COMMENT 'Unix time, milliseconds',\n"
  "  updated_at_ms  BIGINT      NULL COMMENT 'Unix time, milliseconds',\n"
  "  PRIMARY KEY (id),\n"
  "  UNIQUE KEY " PAY_SCHEMA_KEY_PAYMENTS_ORDER " (order_id),\n"
  "  UNIQUE KEY " PAY_SCHEMA_KEY_PAYMENTS_TX " (transaction_id),\n"
  "  CONSTRAINT ck_payments_amount CHECK (amount_cents > 0),\n"
  "  CONSTRAINT ck_payments_refunded CHECK (refunded_cents >= 0 AND refunded_cents <= amount_cents),\n"
  "  CONSTRAINT ck_payments_status CHECK (status IN (1, 2, 3))\n"
  ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",

  /* One row per refund, holding the request (requested_cents NULL = "the rest") and the
   * reply it got, so a replay returns that reply unchanged. refund_request_id is
   * VARBINARY: compared byte for byte, without the case folding or trailing-space padding
   * of a text collation. */
  "CREATE TABLE IF NOT EXISTS " PAY_SCHEMA_REFUNDS_TABLE " (\n"
  "  id                   BIGINT         NOT NULL AUTO_INCREMENT,\n"
  "  refund_id            VARBINARY(36)  NOT NULL,\n"
  "  transaction_id       VARBINARY(36)  NOT NULL,\n"
  "  refund_request_id    VARBINARY(256) NOT NULL COMMENT 'client key, 1-64 characters of UTF-8',\n"
  "  requested_cents      BIGINT         NULL COMMENT 'NULL: the request named no amount',\n"
  "  reason               VARCHAR(256)   NULL,\n"
  "  amount_cents         BIGINT         NOT NULL,\n"
  "  total_refunded_cents BIGINT         NOT NULL COMMENT 'payment total right after this refund',\n"
  "  status               TINYINT        NOT NULL COMMENT 'payment status right after this refund',\n"
  "  created_at_ms        BIGINT         NOT NULL COMMENT 'Unix time, milliseconds',\n"
  "  caller               " PAY_SCHEMA_CALLER_COLUMN ",\n"
  "  PRIMARY KEY (id),\n"
  "  UNIQUE KEY " PAY_SCHEMA_KEY_REFUNDS_REQUEST " (transaction_id, refund_request_id),\n"
  "  UNIQUE KEY uk_refunds_refund (refund_id),\n"
  "  CONSTRAINT ck_refunds_amount CHECK (amount_cents > 0),\n"
  "  CONSTRAINT ck_refunds_status CHECK (status IN (2, 3))\n"
  ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",

  /* The audit trail and outbox: one row per charge and per refund, written by the service
   * in the same transaction as the change; id gives consumers the commit order per
   * payment. The relay takes id order as allocation order: TiDB allocates AUTO_INCREMENT
   * values in batches per TiDB server unless AUTO_ID_CACHE=1 (then centrally, in order),
   * a table option in a comment TiDB executes and MariaDB/MySQL ignore. */
  "CREATE TABLE IF NOT EXISTS " PAY_SCHEMA_EVENTS_TABLE " (\n"
  "  id             BIGINT      NOT NULL AUTO_INCREMENT,\n"
  "  event_id       VARBINARY(36) NOT NULL,\n"
  "  event_type     VARCHAR(16) NOT NULL COMMENT 'charge or refund',\n"
  "  transaction_id VARBINARY(36) NOT NULL,\n"
  "  order_id       BIGINT      NOT NULL,\n"
  "  refund_id      VARBINARY(36) NULL COMMENT 'the refund, for refund events',\n"
  "  amount_cents   BIGINT      NOT NULL COMMENT 'charged or refunded by this event',\n"
  "  status         TINYINT     NOT NULL COMMENT 'payment status after the event',\n"
  "  created_at_ms  BIGINT      NOT NULL COMMENT 'Unix time, milliseconds',\n"
  "  caller         " PAY_SCHEMA_CALLER_COLUMN ",\n"
  "  PRIMARY KEY (id),\n"
  "  UNIQUE KEY uk_events_event (event_id),\n"
  "  KEY ix_events_tx (transaction_id)\n"
  ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 /*T![auto_id_cache] AUTO_ID_CACHE=1 */",

  /* The event relay's progress (src/events/): every event with id <= last_id has reached
   * the stream `name`. */
  "CREATE TABLE IF NOT EXISTS " PAY_SCHEMA_RELAY_TABLE " (\n"
  "  name           VARCHAR(64) NOT NULL COMMENT 'the stream name',\n"
  "  last_id        BIGINT      NOT NULL COMMENT 'every event with id <= last_id was acked',\n"
  "  updated_at_ms  BIGINT      NOT NULL COMMENT 'Unix time, milliseconds',\n"
  "  PRIMARY KEY (name)\n"
  ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
  NULL,
};

/* Databases made before the id columns were VARBINARY: each table's id columns are
 * converted by one ALTER (one table copy), only while a column is of another type, so a
 * start on a converted database reads information_schema and changes nothing. */
const PaySchemaMigration pay_schema_migrations[] = {
  { "SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
    " AND TABLE_NAME = '" PAY_SCHEMA_PAYMENTS_TABLE "' AND DATA_TYPE <> 'varbinary'"
    " AND COLUMN_NAME = 'transaction_id' LIMIT 1",
    "ALTER TABLE " PAY_SCHEMA_PAYMENTS_TABLE " MODIFY transaction_id VARBINARY(36) NOT NULL" },
  { "SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
    " AND TABLE_NAME = '" PAY_SCHEMA_REFUNDS_TABLE "' AND DATA_TYPE <> 'varbinary'"
    " AND COLUMN_NAME IN ('refund_id', 'transaction_id', 'refund_request_id') LIMIT 1",
    "ALTER TABLE " PAY_SCHEMA_REFUNDS_TABLE " MODIFY refund_id VARBINARY(36) NOT NULL,"
    " MODIFY transaction_id VARBINARY(36) NOT NULL,"
    " MODIFY refund_request_id VARBINARY(256) NOT NULL"
    " COMMENT 'client key, 1-64 characters of UTF-8'" },
  { "SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
    " AND TABLE_NAME = '" PAY_SCHEMA_EVENTS_TABLE "' AND DATA_TYPE <> 'varbinary'"
    " AND COLUMN_NAME IN ('event_id', 'transaction_id', 'refund_id') LIMIT 1",
    "ALTER TABLE " PAY_SCHEMA_EVENTS_TABLE " MODIFY event_id VARBINARY(36) NOT NULL,"
    " MODIFY transaction_id VARBINARY(36) NOT NULL,"
    " MODIFY refund_id VARBINARY(36) NULL COMMENT 'the refund, for refund events'" },
  /* Databases made before refunds recorded their caller: the column is added once (a
   * table copy), while information_schema does not list it. */
  { "SELECT 1 FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM information_schema.COLUMNS"
    " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '" PAY_SCHEMA_REFUNDS_TABLE "'"
    " AND COLUMN_NAME = 'caller')",
    "ALTER TABLE " PAY_SCHEMA_REFUNDS_TABLE " ADD COLUMN caller " PAY_SCHEMA_CALLER_COLUMN
    " AFTER created_at_ms" },
  { "SELECT 1 FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM information_schema.COLUMNS"
    " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '" PAY_SCHEMA_EVENTS_TABLE "'"
    " AND COLUMN_NAME = 'caller')",
    "ALTER TABLE " PAY_SCHEMA_EVENTS_TABLE " ADD COLUMN caller " PAY_SCHEMA_CALLER_COLUMN
    " AFTER created_at_ms" },
  /* A charge's event was written by a trigger before: it is dropped once, while it
   * exists (never on TiDB, which has no triggers). */
  { "SELECT 1 FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()"
    " AND TRIGGER_NAME = '" PAY_SCHEMA_CHARGE_EVENT_TRIGGER "'",
    "DROP TRIGGER IF EXISTS " PAY_SCHEMA_CHARGE_EVENT_TRIGGER,
    charge_event_trigger_drop },
  { NULL, NULL, NULL },
};
