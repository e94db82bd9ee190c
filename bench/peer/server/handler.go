package main

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/google/uuid"

	"paymentpeer/kitex_gen/payment"
)

// handler implements payment.PaymentService (the interface kitex generated).
type handler struct {
	store    *store
	maxCents int64
}

func storageUnavailable(err error) *payment.PaymentError {
	log.Printf("storage: %v", err)
	return payErr(codeStorageUnavailable, "storage unavailable")
}

// newIDs: two random (version 4) UUIDs, an operation's id and its event's.
func newIDs() (string, string, *payment.PaymentError) {
	a, err := uuid.NewRandom()
	if err != nil {
		return "", "", payErr(codeIDGeneration, "id generation failed")
	}
	b, err := uuid.NewRandom()
	if err != nil {
		return "", "", payErr(codeIDGeneration, "id generation failed")
	}
	return a.String(), b.String(), nil
}

func (h *handler) Charge(ctx context.Context, req *payment.ChargeReq) (*payment.ChargeResp, error) {
	now := time.Now()
	in, perr := validateCharge(req, h.maxCents, now)
	if perr != nil {
		return nil, perr
	}
	txID, eventID, perr := newIDs()
	if perr != nil {
		return nil, perr
	}
	ms := now.UnixMilli()
	p := &paymentRow{
		TransactionID: txID, OrderID: in.orderID, UserID: in.userID, AmountCents: in.amountCents,
		Status: int8(payment.PaymentStatus_PAID), PaymentMethod: in.method, CardBrand: in.brand,
		CardLast4: in.last4, CreatedAtMs: ms, UpdatedAtMs: ms,
	}
	if err := h.store.insertCharge(ctx, p, eventID); err != nil {
		if errors.Is(err, errOrderPaid) {
			return nil, payErr(codeOrderAlreadyPaid, "order already paid")
		}
		return nil, storageUnavailable(err)
	}
	return &payment.ChargeResp{TransactionId: txID}, nil
}

func (h *handler) QueryPayment(ctx context.Context, req *payment.QueryPaymentReq) (*payment.QueryPaymentResp, error) {
	if perr := validateQuery(req); perr != nil {
		return nil, perr
	}
	var p *paymentRow
	var err error
	if req.TransactionId != nil {
		p, err = h.store.getPayment(ctx, *req.TransactionId, 0)
	} else {
		p, err = h.store.getPayment(ctx, "", *req.OrderId)
	}
	if err != nil {
		return nil, storageUnavailable(err)
	}
	if p == nil {
		return nil, payErr(codeNotFound, "payment not found")
	}
	return &payment.QueryPaymentResp{Payment: &payment.PaymentInfo{
		TransactionId: p.TransactionID, OrderId: p.OrderID, UserId: p.UserID,
		Amount: fromCents(p.AmountCents), RefundedAmount: fromCents(p.RefundedCents),
		Status: payment.PaymentStatus(p.Status), PaymentMethod: p.PaymentMethod,
		CardBrand: p.CardBrand, CardLast4: p.CardLast4, CreatedAt: p.CreatedAtMs, UpdatedAt: p.UpdatedAtMs,
	}}, nil
}

func (h *handler) Refund(ctx context.Context, req *payment.RefundReq) (*payment.RefundResp, error) {
	in, perr := validateRefund(req, h.maxCents)
	if perr != nil {
		return nil, perr
	}
	refundID, eventID, perr := newIDs()
	if perr != nil {
		return nil, perr
	}
	res, err := h.store.refund(ctx, in, refundID, eventID, time.Now().UnixMilli())
	switch {
	case errors.Is(err, errNotFound):
		return nil, payErr(codeNotFound, "payment not found")
	case errors.Is(err, errRefundExceeds):
		return nil, payErr(codeRefundExceeds, "%s", err.Error())
	case err != nil:
		return nil, storageUnavailable(err)
	}
	if res.replayed {
		r := res.stored
		same := r.RequestedCents.Valid == in.hasRequested &&
			(!in.hasRequested || r.RequestedCents.Int64 == in.requestedCents) &&
			r.Reason.Valid == (in.reason != nil) &&
			(in.reason == nil || r.Reason.String == *in.reason)
		if !same {
			return nil, payErr(codeRefundConflict,
				"refund_request_id already used with a different amount or reason")
		}
		return &payment.RefundResp{
			RefundId: r.RefundID, TransactionId: in.transactionID, Amount: fromCents(r.AmountCents),
			TotalRefunded: fromCents(r.TotalRefunded), Status: payment.PaymentStatus(r.Status),
		}, nil
	}
	return &payment.RefundResp{
		RefundId: res.refundID, TransactionId: in.transactionID, Amount: fromCents(res.amountCents),
		TotalRefunded: fromCents(res.totalRefunded), Status: payment.PaymentStatus(res.status),
	}, nil
}
