package main

// The request rules of docs/CONTRACT.md section 3, in the service's order: the
// request's shape (4004003), then the amount (4004002), then the card (4004001).

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"paymentpeer/kitex_gen/payment"
)

const (
	codeInvalidCard        = 4004001
	codeInvalidAmount      = 4004002
	codeInvalidRequest     = 4004003
	codeNotFound           = 4004004
	codeRefundExceeds      = 4004005
	codeRefundConflict     = 4004006
	codeIDGeneration       = 4005001
	codeOrderAlreadyPaid   = 4005002
	codeStorageUnavailable = 4005005

	defaultPaymentMethod = "credit_card"
	centsTolerance       = 1e-6
	minCardDigits        = 12
	maxCardDigits        = 19
	maxYearsAhead        = 20
	refundRequestIDMax   = 64
	refundReasonMax      = 256
	uuidLen              = 36
)

func payErr(code int32, format string, args ...any) *payment.PaymentError {
	return &payment.PaymentError{Code: code, Message: fmt.Sprintf(format, args...)}
}

func invalidRequest(why string) *payment.PaymentError {
	return payErr(codeInvalidRequest, "invalid request: %s", why)
}

// toCents accepts an amount when amount*100 is within 1e-6 of a whole number of cents,
// greater than zero and at most maxCents.
func toCents(amount float64, maxCents int64) (int64, *payment.PaymentError) {
	if math.IsNaN(amount) || math.IsInf(amount, 0) {
		return 0, payErr(codeInvalidAmount, "invalid amount: not a finite number")
	}
	if amount <= 0 {
		return 0, payErr(codeInvalidAmount, "invalid amount: must be greater than zero")
	}
	scaled := amount * 100
	aboveMax := payErr(codeInvalidAmount, "invalid amount: above the maximum of %d.%02d",
		maxCents/100, maxCents%100)
	if scaled >= 9223372036854775808.0 {
		return 0, aboveMax
	}
	whole := math.Round(scaled)
	if math.Abs(scaled-whole) > centsTolerance {
		return 0, payErr(codeInvalidAmount, "invalid amount: more than two decimals")
	}
	cents := int64(whole)
	if cents <= 0 {
		return 0, payErr(codeInvalidAmount, "invalid amount: less than one cent")
	}
	if cents > maxCents {
		return 0, aboveMax
	}
	return cents, nil
}

func fromCents(cents int64) float64 { return float64(cents) / 100 }

// cardRange: numbers whose first prefixDigits digits fall within [first, last] belong
// to brand when their digit count is in lengths (a bit per count).
type cardRange struct {
	brand        string
	prefixDigits int
	first, last  int
	lengths      uint32
	cvvMax       int32
	luhn         bool
}

func lengthsOne(n uint) uint32        { return 1 << n }
func lengthsRange(lo, hi uint) uint32 { return (1 << (hi + 1)) - (1 << lo) }

var cardRanges = []cardRange{
	{"visa", 1, 4, 4, lengthsOne(13) | lengthsOne(16) | lengthsOne(19), 999, true},
	{"mastercard", 2, 51, 55, lengthsOne(16), 999, true},
	{"mastercard", 4, 2221, 2720, lengthsOne(16), 999, true},
	{"amex", 2, 34, 34, lengthsOne(15), 9999, true},
	{"amex", 2, 37, 37, lengthsOne(15), 9999, true},
	{"discover", 4, 6011, 6011, lengthsRange(16, 19), 999, true},
	{"discover", 3, 644, 649, lengthsRange(16, 19), 999, true},
	{"discover", 2, 65, 65, lengthsRange(16, 19), 999, true},
	{"jcb", 4, 3528, 3589, lengthsRange(16, 19), 999, true},
	{"unionpay", 2, 62, 62, lengthsRange(16, 19), 999, false},
	{"diners", 3, 300, 305, lengthsRange(14, 19), 999, true},
	{"diners", 2, 36, 36, lengthsRange(14, 19), 999, true},
	{"diners", 2, 38, 39, lengthsRange(14, 19), 999, true},
}

func luhnOK(digits []byte) bool {
	if len(digits) == 0 {
		return false
	}
	sum, dbl := 0, false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if dbl {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		dbl = !dbl
	}
	return sum%10 == 0
}

// validateCard checks, in order: characters, digit count, brand, brand length, Luhn,
// CVV, expiry. It returns the brand and the last four digits; the number is not kept.
func validateCard(c *payment.CreditCardInfo, now time.Time) (brand, last4 string, perr *payment.PaymentError) {
	var buf [maxCardDigits]byte
	n := 0
	for i := 0; i < len(c.CreditCardNumber); i++ {
		ch := c.CreditCardNumber[i]
		if ch == ' ' || ch == '-' {
			continue
		}
		if ch < '0' || ch > '9' {
			return "", "", payErr(codeInvalidCard, "invalid credit card: number may hold only digits, spaces and dashes")
		}
		if n < maxCardDigits {
			buf[n] = ch
		}
		n++
	}
	if n < minCardDigits || n > maxCardDigits {
		return "", "", payErr(codeInvalidCard, "invalid credit card: number must have %d to %d digits",
			minCardDigits, maxCardDigits)
	}
	digits := buf[:n]
	var r *cardRange
	for i := range cardRanges {
		prefix := 0
		for d := 0; d < cardRanges[i].prefixDigits; d++ {
			prefix = prefix*10 + int(digits[d]-'0')
		}
		if prefix >= cardRanges[i].first && prefix <= cardRanges[i].last {
			r = &cardRanges[i]
			break
		}
	}
	if r == nil {
		return "", "", payErr(codeInvalidCard, "invalid credit card: unknown brand")
	}
	if r.lengths&lengthsOne(uint(n)) == 0 {
		return "", "", payErr(codeInvalidCard, "invalid credit card: %s does not issue %d-digit numbers", r.brand, n)
	}
	if r.luhn && !luhnOK(digits) {
		return "", "", payErr(codeInvalidCard, "invalid credit card: fails Luhn check")
	}
	if c.CreditCardCvv < 0 || c.CreditCardCvv > r.cvvMax {
		return "", "", payErr(codeInvalidCard, "invalid credit card: CVV out of range for %s", r.brand)
	}
	month, year := c.CreditCardExpirationMonth, c.CreditCardExpirationYear
	if month < 1 || month > 12 {
		return "", "", payErr(codeInvalidCard, "invalid credit card: expiry month must be 1 to 12")
	}
	switch {
	case year >= 0 && year <= 99:
		year += 2000
	case year >= 1000 && year <= 9999:
	default:
		return "", "", payErr(codeInvalidCard, "invalid credit card: expiry year must have 2 or 4 digits")
	}
	now = now.UTC()
	nowYear, nowMonth := int32(now.Year()), int32(now.Month())
	if year < nowYear || (year == nowYear && month < nowMonth) {
		return "", "", payErr(codeInvalidCard, "invalid credit card: expired")
	}
	if year-nowYear > maxYearsAhead {
		return "", "", payErr(codeInvalidCard, "invalid credit card: expiry year more than %d years ahead", maxYearsAhead)
	}
	return r.brand, string(digits[n-4:]), nil
}

// chargeInput is a validated Charge.
type chargeInput struct {
	orderID, userID int64
	amountCents     int64
	method          string
	brand, last4    string
}

func validateCharge(req *payment.ChargeReq, maxCents int64, now time.Time) (*chargeInput, *payment.PaymentError) {
	method := defaultPaymentMethod
	if req.PaymentMethod != nil {
		method = *req.PaymentMethod
	}
	if req.OrderId <= 0 {
		return nil, invalidRequest("order_id must be positive")
	}
	if req.UserId <= 0 {
		return nil, invalidRequest("user_id must be positive")
	}
	if req.CreditCard == nil {
		return nil, invalidRequest("credit_card is required")
	}
	if method != defaultPaymentMethod {
		return nil, invalidRequest(`unsupported payment_method (only "credit_card" is accepted)`)
	}
	cents, perr := toCents(req.Amount, maxCents)
	if perr != nil {
		return nil, perr
	}
	brand, last4, perr := validateCard(req.CreditCard, now)
	if perr != nil {
		return nil, perr
	}
	return &chargeInput{req.OrderId, req.UserId, cents, method, brand, last4}, nil
}

func validateQuery(req *payment.QueryPaymentReq) *payment.PaymentError {
	if (req.TransactionId != nil) == (req.OrderId != nil) {
		return invalidRequest("give exactly one of transaction_id and order_id")
	}
	if req.TransactionId != nil && *req.TransactionId == "" {
		return invalidRequest("transaction_id must not be empty")
	}
	if req.OrderId != nil && *req.OrderId <= 0 {
		return invalidRequest("order_id must be positive")
	}
	return nil
}

// refundInput is a validated Refund.
type refundInput struct {
	transactionID  string
	requestID      string
	hasRequested   bool
	requestedCents int64
	reason         *string
}

// validateRefund: the shape (4004003), the amount (4004002), then a transaction id no
// payment can have (4004004).
func validateRefund(req *payment.RefundReq, maxCents int64) (*refundInput, *payment.PaymentError) {
	if req.TransactionId == "" {
		return nil, invalidRequest("transaction_id is required")
	}
	if req.RefundRequestId == "" {
		return nil, invalidRequest("refund_request_id is required")
	}
	if !utf8.ValidString(req.RefundRequestId) || utf8.RuneCountInString(req.RefundRequestId) > refundRequestIDMax {
		return nil, invalidRequest("refund_request_id must be 1 to 64 characters of UTF-8")
	}
	if req.Reason != nil && (!utf8.ValidString(*req.Reason) || utf8.RuneCountInString(*req.Reason) > refundReasonMax) {
		return nil, invalidRequest("reason must be at most 256 characters of UTF-8")
	}
	in := &refundInput{transactionID: req.TransactionId, requestID: req.RefundRequestId, reason: req.Reason}
	if req.Amount != nil {
		cents, perr := toCents(*req.Amount, maxCents)
		if perr != nil {
			return nil, perr
		}
		in.hasRequested, in.requestedCents = true, cents
	}
	if len(req.TransactionId) != uuidLen {
		return nil, payErr(codeNotFound, "payment not found")
	}
	return in, nil
}

// statusFor is the payment's status once refundedCents of amountCents are refunded.
func statusFor(amountCents, refundedCents int64) payment.PaymentStatus {
	switch {
	case refundedCents <= 0:
		return payment.PaymentStatus_PAID
	case refundedCents >= amountCents:
		return payment.PaymentStatus_REFUNDED
	default:
		return payment.PaymentStatus_PARTIALLY_REFUNDED
	}
}
