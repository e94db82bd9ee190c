/* pay-schema.c: the schema statements run by pay_repository_ensure_schema(); schema.sql
 * holds the same text for operators, and tests/unit/test-schema.c keeps the two equal. */
#define G_LOG_DOMAIN "payment-storage"

#include "storage/pay-schema.h"

/* order_id is UNIQUE: the database, not the service, is the one guard against charging an
 * order twice. uk_payments_order is declared before uk_payments_tx so that a row violating
 * both reports the order (the key clients can act on). */
const gchar *const pay_schema_statements[] = {
  "CREATE TABLE IF NOT EXISTS " PAY_SCHEMA_PAYMENTS_TABLE " (\n"
  "  id             BIGINT      NOT NULL AUTO_INCREMENT,\n"
  "  transaction_id CHAR(36)    NOT NULL,\n"
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
  NULL,
};
