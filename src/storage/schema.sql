-- schema.sql: the payment service's MySQL/MariaDB schema, for operators and reviewers.
-- The service runs the same statements itself (src/storage/pay-schema.c, which must stay
-- identical to everything below this header; tests/unit/test-schema.c checks it).
-- Amounts are integer cents; the full card number and the CVV are never stored.

CREATE TABLE IF NOT EXISTS payments (
  id             BIGINT      NOT NULL AUTO_INCREMENT,
  transaction_id CHAR(36)    NOT NULL,
  order_id       BIGINT      NOT NULL,
  user_id        BIGINT      NOT NULL,
  amount_cents   BIGINT      NOT NULL,
  refunded_cents BIGINT      NOT NULL DEFAULT 0,
  status         TINYINT     NOT NULL COMMENT '1 PAID, 2 PARTIALLY_REFUNDED, 3 REFUNDED',
  payment_method VARCHAR(32) NULL,
  card_brand     VARCHAR(16) NULL,
  card_last4     CHAR(4)     NULL,
  created_at_ms  BIGINT      NULL COMMENT 'Unix time, milliseconds',
  updated_at_ms  BIGINT      NULL COMMENT 'Unix time, milliseconds',
  PRIMARY KEY (id),
  UNIQUE KEY uk_payments_order (order_id),
  UNIQUE KEY uk_payments_tx (transaction_id),
  CONSTRAINT ck_payments_amount CHECK (amount_cents > 0),
  CONSTRAINT ck_payments_refunded CHECK (refunded_cents >= 0 AND refunded_cents <= amount_cents),
  CONSTRAINT ck_payments_status CHECK (status IN (1, 2, 3))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
