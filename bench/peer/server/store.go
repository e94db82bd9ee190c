package main

// MySQL through database/sql and go-sql-driver/mysql, statements prepared once; the
// query cache through go-redis (cache-aside: GET, else MySQL then SET with a TTL; a
// refund deletes the payment's keys after it commits).

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"
)

// The service's schema (src/storage/schema.sql, copied here by build.sh). The peer
// creates its tables and leaves out the trigger: it writes each charge's payment_events
// row itself, in the charge's transaction.
//
//go:embed schema.sql
var schemaSQL string

// schemaTables: the CREATE TABLE statements of schemaSQL.
func schemaTables() []string {
	var out []string
	for _, stmt := range strings.Split(schemaSQL, ";\n") {
		if i := strings.Index(stmt, "CREATE TABLE"); i >= 0 {
			out = append(out, stmt[i:])
		}
	}
	return out
}

const (
	erDupEntry     = 1062
	erLockDeadlock = 1213
	// A refund that meets a deadlock is run again, this many times in all.
	deadlockAttempts = 3
)

const paymentColumns = "transaction_id, order_id, user_id, amount_cents, refunded_cents, status," +
	" payment_method, card_brand, card_last4, created_at_ms, updated_at_ms"

// paymentRow is a payments row, and the record cached in Redis (as JSON).
type paymentRow struct {
	TransactionID string `json:"transaction_id"`
	OrderID       int64  `json:"order_id"`
	UserID        int64  `json:"user_id"`
	AmountCents   int64  `json:"amount_cents"`
	RefundedCents int64  `json:"refunded_cents"`
	Status        int8   `json:"status"`
	PaymentMethod string `json:"payment_method"`
	CardBrand     string `json:"card_brand"`
	CardLast4     string `json:"card_last4"`
	CreatedAtMs   int64  `json:"created_at_ms"`
	UpdatedAtMs   int64  `json:"updated_at_ms"`
}

func (p *paymentRow) scanFrom(row interface{ Scan(...any) error }) error {
	return row.Scan(&p.TransactionID, &p.OrderID, &p.UserID, &p.AmountCents, &p.RefundedCents,
		&p.Status, &p.PaymentMethod, &p.CardBrand, &p.CardLast4, &p.CreatedAtMs, &p.UpdatedAtMs)
}

// refundRow is a refunds row: the request as first made and the reply it got.
type refundRow struct {
	RefundID       string
	RequestedCents sql.NullInt64
	Reason         sql.NullString
	AmountCents    int64
	TotalRefunded  int64
	Status         int8
}

type store struct {
	db    *sql.DB
	rdb   *redis.Client
	ttl   time.Duration
	kTx   string // Redis key prefixes
	kOrd  string
	stmts struct {
		insertPayment, insertEvent               *sql.Stmt
		paymentByTx, paymentByOrder, lockPayment *sql.Stmt
		refundByRequest, updateRefunded          *sql.Stmt
		insertRefund                             *sql.Stmt
	}
}

// openStore creates the database and its tables when missing, opens a pool of poolSize
// connections and prepares the statements.
func openStore(ctx context.Context, cfg *mysql.Config, poolSize int, rdb *redis.Client,
	prefix string, ttl time.Duration) (*store, error) {
	dbName := cfg.DBName
	boot := cfg.Clone()
	boot.DBName = ""
	bootDB, err := sql.Open("mysql", boot.FormatDSN())
	if err != nil {
		return nil, err
	}
	_, err = bootDB.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+dbName+"` DEFAULT CHARSET utf8mb4")
	bootDB.Close()
	if err != nil {
		return nil, fmt.Errorf("create database %s: %w", dbName, err)
	}

	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(poolSize)
	db.SetMaxIdleConns(poolSize)
	db.SetConnMaxIdleTime(5 * time.Minute)
	for _, stmt := range schemaTables() {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			db.Close()
			return nil, fmt.Errorf("schema: %w", err)
		}
	}
	s := &store{db: db, rdb: rdb, ttl: ttl, kTx: prefix + "tx:", kOrd: prefix + "order:"}
	prepare := []struct {
		dst   **sql.Stmt
		query string
	}{
		{&s.stmts.insertPayment, "INSERT INTO payments (" + paymentColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
		{&s.stmts.insertEvent, "INSERT INTO payment_events (event_id, event_type, transaction_id, order_id," +
			" refund_id, amount_cents, status, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"},
		{&s.stmts.paymentByTx, "SELECT " + paymentColumns + " FROM payments WHERE transaction_id = ?"},
		{&s.stmts.paymentByOrder, "SELECT " + paymentColumns + " FROM payments WHERE order_id = ?"},
		{&s.stmts.lockPayment, "SELECT " + paymentColumns + " FROM payments WHERE transaction_id = ? FOR UPDATE"},
		{&s.stmts.refundByRequest, "SELECT refund_id, requested_cents, reason, amount_cents, total_refunded_cents," +
			" status FROM refunds WHERE transaction_id = ? AND refund_request_id = ?"},
		{&s.stmts.updateRefunded, "UPDATE payments SET refunded_cents = ?, status = ?, updated_at_ms = ?" +
			" WHERE transaction_id = ?"},
		{&s.stmts.insertRefund, "INSERT INTO refunds (refund_id, transaction_id, refund_request_id," +
			" requested_cents, reason, amount_cents, total_refunded_cents, status, created_at_ms)" +
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"},
	}
	for _, p := range prepare {
		if *p.dst, err = db.PrepareContext(ctx, p.query); err != nil {
			db.Close()
			return nil, fmt.Errorf("prepare %q: %w", p.query, err)
		}
	}
	return s, nil
}

func mysqlErrno(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

var errOrderPaid = errors.New("order already paid")

// insertCharge writes the payment row and its charge event in one transaction.
func (s *store) insertCharge(ctx context.Context, p *paymentRow, eventID string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.StmtContext(ctx, s.stmts.insertPayment).ExecContext(ctx, p.TransactionID, p.OrderID,
		p.UserID, p.AmountCents, p.RefundedCents, p.Status, p.PaymentMethod, p.CardBrand, p.CardLast4,
		p.CreatedAtMs, p.UpdatedAtMs); err != nil {
		if mysqlErrno(err) == erDupEntry {
			return errOrderPaid
		}
		return err
	}
	if _, err := tx.StmtContext(ctx, s.stmts.insertEvent).ExecContext(ctx, eventID, "charge",
		p.TransactionID, p.OrderID, nil, p.AmountCents, p.Status, p.CreatedAtMs); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *store) cacheKey(txID string, orderID int64) string {
	if txID != "" {
		return s.kTx + txID
	}
	return s.kOrd + strconv.FormatInt(orderID, 10)
}

// getPayment: Redis first, then MySQL, then Redis is filled. A Redis failure is logged
// and the query goes on to MySQL. (nil, nil) when there is no such payment.
func (s *store) getPayment(ctx context.Context, txID string, orderID int64) (*paymentRow, error) {
	key := s.cacheKey(txID, orderID)
	data, err := s.rdb.Get(ctx, key).Bytes()
	if err == nil {
		var p paymentRow
		if err := json.Unmarshal(data, &p); err == nil {
			return &p, nil
		}
		log.Printf("cache: bad record under %s", key)
	} else if err != redis.Nil {
		log.Printf("cache read failed, reading MySQL: %v", err)
	}

	var p paymentRow
	var row *sql.Row
	if txID != "" {
		row = s.stmts.paymentByTx.QueryRowContext(ctx, txID)
	} else {
		row = s.stmts.paymentByOrder.QueryRowContext(ctx, orderID)
	}
	if err := p.scanFrom(row); err != nil {
		if err == sql.ErrNoRows {
			return nil, nil
		}
		return nil, err
	}
	if data, err := json.Marshal(&p); err == nil {
		if err := s.rdb.Set(ctx, key, data, s.ttl).Err(); err != nil {
			log.Printf("cache write failed: %v", err)
		}
	}
	return &p, nil
}

// refundResult is what a refund answers: a new refund, or the stored one of a replay.
type refundResult struct {
	refundID      string
	amountCents   int64
	totalRefunded int64
	status        int8
	replayed      bool
	stored        *refundRow // the earlier refund of a replay
	payment       paymentRow
}

var (
	errNotFound      = errors.New("payment not found")
	errRefundExceeds = errors.New("refund exceeds the refundable balance")
)

// refund locks the payment row, checks for a replay and the balance, then updates the
// payment and inserts the refund and its event, in one transaction; deadlocks are
// retried. After the commit the payment's cached records are deleted.
func (s *store) refund(ctx context.Context, in *refundInput, refundID, eventID string, nowMs int64) (*refundResult, error) {
	var res *refundResult
	var err error
	for attempt := 1; ; attempt++ {
		res, err = s.refundTxn(ctx, in, refundID, eventID, nowMs)
		if err == nil || mysqlErrno(err) != erLockDeadlock || attempt == deadlockAttempts {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	if !res.replayed {
		if err := s.rdb.Del(ctx, s.kTx+res.payment.TransactionID,
			s.kOrd+strconv.FormatInt(res.payment.OrderID, 10)).Err(); err != nil {
			log.Printf("cache invalidation failed: %v", err)
		}
	}
	return res, nil
}

func (s *store) refundTxn(ctx context.Context, in *refundInput, refundID, eventID string, nowMs int64) (*refundResult, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	res := &refundResult{}
	p := &res.payment
	// The contract's order: existence, replay, balance.
	if err := p.scanFrom(tx.StmtContext(ctx, s.stmts.lockPayment).QueryRowContext(ctx, in.transactionID)); err != nil {
		if err == sql.ErrNoRows {
			return nil, errNotFound
		}
		return nil, err
	}
	var r refundRow
	err = tx.StmtContext(ctx, s.stmts.refundByRequest).QueryRowContext(ctx, in.transactionID, in.requestID).
		Scan(&r.RefundID, &r.RequestedCents, &r.Reason, &r.AmountCents, &r.TotalRefunded, &r.Status)
	switch {
	case err == nil:
		res.replayed, res.stored = true, &r
		return res, tx.Commit()
	case err != sql.ErrNoRows:
		return nil, err
	}

	balance := p.AmountCents - p.RefundedCents
	if balance <= 0 {
		return nil, errRefundExceeds
	}
	amount := balance
	if in.hasRequested {
		amount = in.requestedCents
	}
	if amount > balance {
		return nil, fmt.Errorf("%w of %d.%02d", errRefundExceeds, balance/100, balance%100)
	}
	total := p.RefundedCents + amount
	status := int8(statusFor(p.AmountCents, total))
	updated := max(nowMs, p.UpdatedAtMs)

	var requested, reason any
	if in.hasRequested {
		requested = in.requestedCents
	}
	if in.reason != nil {
		reason = *in.reason
	}
	if _, err := tx.StmtContext(ctx, s.stmts.updateRefunded).ExecContext(ctx, total, status, updated,
		p.TransactionID); err != nil {
		return nil, err
	}
	if _, err := tx.StmtContext(ctx, s.stmts.insertRefund).ExecContext(ctx, refundID, p.TransactionID,
		in.requestID, requested, reason, amount, total, status, nowMs); err != nil {
		return nil, err
	}
	if _, err := tx.StmtContext(ctx, s.stmts.insertEvent).ExecContext(ctx, eventID, "refund",
		p.TransactionID, p.OrderID, refundID, amount, status, nowMs); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	p.RefundedCents, p.Status, p.UpdatedAtMs = total, status, updated
	res.refundID, res.amountCents, res.totalRefunded, res.status = refundID, amount, total, status
	return res, nil
}
