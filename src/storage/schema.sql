-- schema.sql: the payment service's MySQL/MariaDB schema, for operators and reviewers.
-- The service runs the same statements itself (src/storage/pay-schema.c, which must stay
-- identical to everything below this header; tests/unit/test-schema.c checks it).
-- Amounts are integer cents; the full card number and the CVV are never stored.
-- Ids are VARBINARY, compared byte for byte (no case folding, no space padding). A
-- database made with CHAR(36) ids is converted at start-up (pay_schema_migrations), and
-- one made before refunds recorded their caller gets the caller columns then.
-- Tables: payments (the truth), refunds (one row per refund, with the reply it got),
-- payment_events (audit trail and outbox: one row per charge and per refund),
-- payment_events_relay (the event relay's cursor per NATS stream, README "Events").
-- No trigger and no stored procedure (the same schema serves MariaDB/MySQL and TiDB): the
-- service writes a charge's payment_events row itself, in the charge's transaction (one
-- round trip: START TRANSACTION; INSERT INTO payments ...; INSERT INTO payment_events ...;
-- COMMIT, for one charge or a group that arrived together; BENCHMARKS.md, "Issue 18").
-- A database made when a trigger (payments_charge_event) wrote charge events has it
-- dropped at start-up (pay_schema_migrations; needs the TRIGGER privilege once), and the
-- events it made with UUID() (version 1) get v4 ids. Every event_id is a UUID v4.
-- The CHECK constraints document the rules; nothing depends on them (TiDB ignores them
-- unless tidb_enable_check_constraint is on): the service checks every value itself.

CREATE TABLE IF NOT EXISTS payments (
  id             BIGINT      NOT NULL AUTO_INCREMENT,
  transaction_id VARBINARY(36) NOT NULL,
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

CREATE TABLE IF NOT EXISTS refunds (
  id                   BIGINT         NOT NULL AUTO_INCREMENT,
  refund_id            VARBINARY(36)  NOT NULL,
  transaction_id       VARBINARY(36)  NOT NULL,
  refund_request_id    VARBINARY(256) NOT NULL COMMENT 'client key, 1-64 characters of UTF-8',
  requested_cents      BIGINT         NULL COMMENT 'NULL: the request named no amount',
  reason               VARCHAR(256)   NULL,
  amount_cents         BIGINT         NOT NULL,
  total_refunded_cents BIGINT         NOT NULL COMMENT 'payment total right after this refund',
  status               TINYINT        NOT NULL COMMENT 'payment status right after this refund',
  created_at_ms        BIGINT         NOT NULL COMMENT 'Unix time, milliseconds',
  caller               VARBINARY(96)  NULL COMMENT 'who asked: key:<key id>, http:<peer address> or rpc:<peer address>, NULL: charges, and refunds made before this column',
  PRIMARY KEY (id),
  UNIQUE KEY uk_refunds_request (transaction_id, refund_request_id),
  UNIQUE KEY uk_refunds_refund (refund_id),
  CONSTRAINT ck_refunds_amount CHECK (amount_cents > 0),
  CONSTRAINT ck_refunds_status CHECK (status IN (2, 3))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS payment_events (
  id             BIGINT      NOT NULL AUTO_INCREMENT,
  event_id       VARBINARY(36) NOT NULL,
  event_type     VARCHAR(16) NOT NULL COMMENT 'charge or refund',
  transaction_id VARBINARY(36) NOT NULL,
  order_id       BIGINT      NOT NULL,
  refund_id      VARBINARY(36) NULL COMMENT 'the refund, for refund events',
  amount_cents   BIGINT      NOT NULL COMMENT 'charged or refunded by this event',
  status         TINYINT     NOT NULL COMMENT 'payment status after the event',
  created_at_ms  BIGINT      NOT NULL COMMENT 'Unix time, milliseconds',
  caller         VARBINARY(96)  NULL COMMENT 'who asked: key:<key id>, http:<peer address> or rpc:<peer address>, NULL: charges, and refunds made before this column',
  PRIMARY KEY (id),
  UNIQUE KEY uk_events_event (event_id),
  KEY ix_events_tx (transaction_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 /*T![auto_id_cache] AUTO_ID_CACHE=1 */;

CREATE TABLE IF NOT EXISTS payment_events_relay (
  name           VARCHAR(64) NOT NULL COMMENT 'the stream name',
  last_id        BIGINT      NOT NULL COMMENT 'every event with id <= last_id was acked',
  updated_at_ms  BIGINT      NOT NULL COMMENT 'Unix time, milliseconds',
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
