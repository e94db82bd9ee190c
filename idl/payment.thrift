// The wire contract of the payment service (docs/CONTRACT.md section 2).
// Field ids and types are what clients depend on: never renumber or retype a field.

namespace go payment
namespace c_glib payment

struct CreditCardInfo {
  1: string credit_card_number,
  2: i32 credit_card_cvv,
  3: i32 credit_card_expiration_year,
  4: i32 credit_card_expiration_month,
}

struct ChargeReq {
  1: double amount,
  2: CreditCardInfo credit_card,
  3: i64 order_id,
  4: i64 user_id,
  5: optional string payment_method,
}

struct ChargeResp {
  1: string transaction_id,
}

exception PaymentError {
  1: i32 code,
  2: string message,
}

enum PaymentStatus {
  PAID = 1,
  PARTIALLY_REFUNDED = 2,
  REFUNDED = 3,
}

struct PaymentInfo {
  1: string transaction_id,
  2: i64 order_id,
  3: i64 user_id,
  4: double amount,
  5: double refunded_amount,
  6: PaymentStatus status,
  7: string payment_method,
  8: string card_brand,
  9: string card_last4,
  10: i64 created_at,
  11: i64 updated_at,
}

struct QueryPaymentReq {
  1: optional string transaction_id,
  2: optional i64 order_id,
}

struct QueryPaymentResp {
  1: PaymentInfo payment,
}

struct RefundReq {
  1: string transaction_id,
  2: optional double amount,
  3: string refund_request_id,
  4: optional string reason,
}

struct RefundResp {
  1: string refund_id,
  2: string transaction_id,
  3: double amount,
  4: double total_refunded,
  5: PaymentStatus status,
}

service PaymentService {
  ChargeResp Charge(1: ChargeReq req) throws (1: PaymentError err),
  QueryPaymentResp QueryPayment(1: QueryPaymentReq req) throws (1: PaymentError err),
  RefundResp Refund(1: RefundReq req) throws (1: PaymentError err),
}
