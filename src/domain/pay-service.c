/* pay-service.c: PaymentService: validation, money, ids, and the order of store and
 * cache work for each operation, through the domain's PayPaymentStore and
 * PayPaymentCache interfaces. Both transports call these functions. */
#define G_LOG_DOMAIN "payment-service"

#include "domain/pay-service.h"

#include <string.h>
#include <sys/random.h>
#include <uuid/uuid.h>

#include "core/pay-error.h"
#include "domain/pay-card.h"
#include "domain/pay-money.h"
#include "domain/pay-refund.h"

#define PAY_DEFAULT_PAYMENT_METHOD "credit_card"

struct _PayService
{
  GObject parent_instance;

  PayPaymentStore    *store;
  PayPaymentCache    *cache;
  PayServiceSettings  settings;
  gint                storage_ok;     /* atomic: last observed store state */
  gint                probing;        /* atomic: a probe is running */

  /* Cache repairs (pay_service_get_pending_repairs()); the loop's thread only, but for
   * n_repairs. */
  GHashTable         *repairs;        /* transaction id -> Repair*, owned */
  GHashTable         *repair_orders;  /* &Repair.order_id -> Repair* */
  GSource            *repair_timer;   /* while repairs are pending */
  struct _RepairOp   *repair_op;      /* the repair in flight, or NULL */
  gint64              bypass_until_us; /* monotonic: every query reads the store until */
  gint                n_repairs;      /* atomic copy of the size of repairs */
};

typedef struct _RepairOp RepairOp;
static void pay_service_drop_repair_op (PayService *self);

/* A cached record known to be stale: its key, and how many writes of it failed (a repair
 * that read the store before the last failure must not clear it). */
typedef struct {
  gchar   tx[PAY_UUID_STRLEN + 1];
  gint64  order_id;
  guint   failures;
} Repair;

G_DEFINE_FINAL_TYPE (PayService, pay_service, G_TYPE_OBJECT)

static void
pay_service_init (PayService *self)
{
  self->storage_ok = TRUE;
  self->repairs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  self->repair_orders = g_hash_table_new (g_int64_hash, g_int64_equal);
}

static void
pay_service_dispose (GObject *object)
{
  PayService *self = PAY_SERVICE (object);

  if (self->repair_timer != NULL)
    {
      g_source_destroy (self->repair_timer);
      g_clear_pointer (&self->repair_timer, g_source_unref);
    }
  pay_service_drop_repair_op (self);
  g_clear_object (&self->store);
  g_clear_object (&self->cache);
  G_OBJECT_CLASS (pay_service_parent_class)->dispose (object);
}

static void
pay_service_finalize (GObject *object)
{
  PayService *self = PAY_SERVICE (object);

  g_hash_table_unref (self->repair_orders);
  g_hash_table_unref (self->repairs);
  G_OBJECT_CLASS (pay_service_parent_class)->finalize (object);
}

static void
pay_service_class_init (PayServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pay_service_dispose;
  G_OBJECT_CLASS (klass)->finalize = pay_service_finalize;
}

PayService *
pay_service_new (PayPaymentStore *store, PayPaymentCache *cache, const PayServiceSettings *settings)
{
  PayService *self;

  g_return_val_if_fail (PAY_IS_PAYMENT_STORE (store), NULL);
  g_return_val_if_fail (PAY_IS_PAYMENT_CACHE (cache), NULL);

  self = g_object_new (PAY_TYPE_SERVICE, NULL);
  self->store = g_object_ref (store);
  self->cache = g_object_ref (cache);
  self->settings = *settings;
  if (self->settings.max_pending_repairs == 0)
    self->settings.max_pending_repairs = PAY_SERVICE_MAX_PENDING_REPAIRS;
  if (self->settings.repair_interval_ms == 0)
    self->settings.repair_interval_ms = PAY_SERVICE_REPAIR_INTERVAL_MS;
  return self;
}

/* Records what a store call told us about the store's health. */
static void
note_storage_result (PayService *self, const GError *error)
{
  gboolean ok = error == NULL || !g_error_matches (error, PAY_ERROR, PAY_ERROR_STORAGE_UNAVAILABLE);

  g_atomic_int_set (&self->storage_ok, ok);
}

static gboolean
invalid_request (GError **error, const gchar *why)
{
  g_set_error (error, PAY_ERROR, PAY_ERROR_INVALID_REQUEST, "invalid request: %s", why);
  return FALSE;
}

/* ---- Charge ------------------------------------------------------------------------ */

/* The request's shape and values, in the contract's order: 4004003, 4004002, 4004001. */
static gboolean
validate_charge (PayService             *self,
                 const PayChargeRequest *request,
                 PayPayment             *payment,
                 GError                **error)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  PayCardSummary card;
  const gchar *method = request->payment_method != NULL ? request->payment_method
                                                        : PAY_DEFAULT_PAYMENT_METHOD;

  if (request->order_id <= 0)
    return invalid_request (error, "order_id must be positive");
  if (request->user_id <= 0)
    return invalid_request (error, "user_id must be positive");
  if (!request->has_card)
    return invalid_request (error, "credit_card is required");
  if (strcmp (method, PAY_DEFAULT_PAYMENT_METHOD) != 0)
    return invalid_request (error, "unsupported payment_method (only \"credit_card\" is accepted)");
  if (!pay_money_to_cents (request->amount, self->settings.max_amount_cents,
                           &payment->amount_cents, error))
    return FALSE;
  if (!pay_card_validate (request->card_number, request->card_cvv, request->card_exp_year,
                          request->card_exp_month, now, &card, error))
    return FALSE;

  payment->order_id = request->order_id;
  payment->user_id = request->user_id;
  g_strlcpy (payment->payment_method, method, sizeof payment->payment_method);
  g_strlcpy (payment->card_brand, card.brand, sizeof payment->card_brand);
  g_strlcpy (payment->card_last4, card.last4, sizeof payment->card_last4);
  return TRUE;
}

/* A random (version 4) UUID in lowercase canonical form: transaction, refund and event
 * ids. The 122 random bits come from getrandom(2) in one call (libuuid's generator makes
 * six system calls per id). */
static gboolean
new_uuid (gchar out[PAY_UUID_STRLEN + 1], GError **error)
{
  uuid_t uuid;

  if (getrandom (uuid, sizeof uuid, 0) != (ssize_t) sizeof uuid)
    {
      g_set_error_literal (error, PAY_ERROR, PAY_ERROR_ID_GENERATION,
                           "id generation failed");
      return FALSE;
    }
  uuid[6] = (uuid[6] & 0x0f) | 0x40;   /* version 4 */
  uuid[8] = (uuid[8] & 0x3f) | 0x80;   /* RFC 4122 variant */
  uuid_unparse_lower (uuid, out);
  return TRUE;
}

/* A transaction id as it came in, in the form ids are stored and compared in: UUIDs are
 * case-insensitive on input and lower-case on output (RFC 9562), and ours are made
 * lower-case (new_uuid()), so upper-case ASCII letters are lowered; nothing else
 * changes (the store compares ids byte for byte: "<id> " is another id). */
static void
canonical_transaction_id (gchar *id)
{
  for (; *id != '\0'; id++)
    *id = g_ascii_tolower (*id);
}

/* ---- operations: one GTask each -------------------------------------------------- */

/* Ends @task (taken) with @error (taken), or with success when it is NULL. */
static void
finish (GTask *task, GError *error)
{
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

/* Ends @task (taken) with G_IO_ERROR_CANCELLED when its cancellable was cancelled: called
 * before each step that sends work out, so a cancelled operation starts nothing more. */
static gboolean
finish_if_cancelled (GTask *task)
{
  if (!g_task_return_error_if_cancelled (task))
    return FALSE;
  g_object_unref (task);
  return TRUE;
}

/* The operation data of a finished @result, or NULL with @error set. */
static gpointer
finished_op (PayService *self, GAsyncResult *result, gpointer source_tag, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, NULL);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  return g_task_get_task_data (G_TASK (result));
}

/* A new operation task owning @op. Once a write is sent its outcome is the answer, even
 * if @cancellable is cancelled meanwhile (finish_if_cancelled() checks before). */
static GTask *
op_task_new (PayService          *self,
             gpointer             op,
             gpointer             source_tag,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_task_data (task, op, g_free);
  g_task_set_source_tag (task, source_tag);
  g_task_set_check_cancellable (task, FALSE);
  return task;
}

/* ---- cache repairs -------------------------------------------------------------------
 *
 * A refund committed but its cache write failed or timed out: the cached record may still
 * show the payment before the refund. Its key is kept here; queries for it read the
 * store, and a timer writes it again from the store until a write succeeds. The list is
 * bounded: a key that does not fit makes every query read the store until the record it
 * names has expired (cache_ttl_seconds; never, when records never expire). Nothing here
 * is needed for correctness across instances: another instance may serve the stale
 * record meanwhile, until this one repairs it or, if this one dies, until it expires. */

static gboolean repair_tick (gpointer data);

/* Queries by order id find @repair once its order is known (> 0). */
static void
repair_set_order (PayService *self, Repair *repair, gint64 order_id)
{
  if (repair->order_id != 0 || order_id <= 0)
    return;
  repair->order_id = order_id;
  g_hash_table_insert (self->repair_orders, &repair->order_id, repair);
}

static void
repair_forget (PayService *self, Repair *repair)
{
  if (repair->order_id != 0)
    g_hash_table_remove (self->repair_orders, &repair->order_id);
  g_hash_table_remove (self->repairs, repair->tx);   /* frees it */
  g_atomic_int_set (&self->n_repairs, (gint) g_hash_table_size (self->repairs));
}

/* The cached record of @tx (order @order_id; 0: not known yet) may be stale: keep its key
 * until a write succeeds. */
static void
repair_needed (PayService *self, const gchar *tx, gint64 order_id)
{
  Repair *repair = g_hash_table_lookup (self->repairs, tx);

  if (repair == NULL && g_hash_table_size (self->repairs) >= self->settings.max_pending_repairs)
    {
      guint ttl = self->settings.cache_ttl_seconds;

      if (g_get_monotonic_time () >= self->bypass_until_us)
        g_warning ("%u cache repairs pending, no room for more: every query reads MySQL "
                   "for %u s (0: until restart)", g_hash_table_size (self->repairs), ttl);
      self->bypass_until_us = ttl == 0 ? G_MAXINT64
                                       : g_get_monotonic_time () + ttl * G_TIME_SPAN_SECOND;
      return;
    }
  if (repair == NULL)
    {
      repair = g_new0 (Repair, 1);
      g_strlcpy (repair->tx, tx, sizeof repair->tx);
      g_hash_table_insert (self->repairs, repair->tx, repair);
      g_atomic_int_set (&self->n_repairs, (gint) g_hash_table_size (self->repairs));
    }
  repair_set_order (self, repair, order_id);
  repair->failures++;
  if (self->repair_timer == NULL)
    {
      self->repair_timer = g_timeout_source_new (self->settings.repair_interval_ms);
      g_source_set_callback (self->repair_timer, repair_tick, self, NULL);
      g_source_attach (self->repair_timer, g_main_context_get_thread_default ());
    }
}

/* TRUE when @key's answer must come from the store: its record awaits repair, or the
 * list overflowed. */
static gboolean
repair_bypasses_cache (PayService *self, const PayQueryRequest *key)
{
  if (g_get_monotonic_time () < self->bypass_until_us)
    return TRUE;
  if (g_hash_table_size (self->repairs) == 0)
    return FALSE;
  return key->transaction_id != NULL ? g_hash_table_contains (self->repairs, key->transaction_id)
                                     : g_hash_table_contains (self->repair_orders, &key->order_id);
}

/* One repair: the key's record read from the store, then written to the cache. It does
 * not keep the service alive: a service disposed meanwhile clears @self, and the op just
 * ends when its store or cache call comes back. */
struct _RepairOp {
  PayService      *self;      /* NULL once the service has gone */
  gchar            tx[PAY_UUID_STRLEN + 1];
  PayQueryRequest  key;       /* transaction_id points into tx */
  guint            failures;  /* the Repair's when the store was read */
  PayPayment       payment;
};

static void repair_next (PayService *self);

static void
repair_done (RepairOp *op, gboolean written)
{
  PayService *self = op->self;
  Repair *repair = self != NULL ? g_hash_table_lookup (self->repairs, op->tx) : NULL;

  if (self != NULL)
    self->repair_op = NULL;
  if (written && repair != NULL && repair->failures == op->failures)
    repair_forget (self, repair);
  g_free (op);
  /* The cache takes writes again: drain the rest now, not one per tick. */
  if (written && self != NULL)
    repair_next (self);
}

static void
repair_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  repair_done (user_data, pay_payment_cache_store_finish (PAY_PAYMENT_CACHE (source), result, NULL));
}

static void
repair_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RepairOp *op = user_data;
  g_autoptr(GError) error = NULL;

  if (!pay_payment_store_query_finish (PAY_PAYMENT_STORE (source), result, &op->payment, &error))
    /* Not found: the store has no such payment, so there is nothing to write. */
    repair_done (op, g_error_matches (error, PAY_ERROR, PAY_ERROR_NOT_FOUND));
  else if (op->self == NULL)
    repair_done (op, FALSE);
  else
    {
      Repair *repair = g_hash_table_lookup (op->self->repairs, op->tx);

      if (repair != NULL)
        repair_set_order (op->self, repair, op->payment.order_id);
      pay_payment_cache_store_async (op->self->cache, &op->payment, FALSE, repair_written, op);
    }
}

/* Starts repairing one pending key, unless one is in flight. */
static void
repair_next (PayService *self)
{
  GHashTableIter iter;
  Repair *repair;
  RepairOp *op;

  if (self->repair_op != NULL)
    return;
  g_hash_table_iter_init (&iter, self->repairs);
  if (!g_hash_table_iter_next (&iter, NULL, (gpointer *) &repair))
    return;
  op = g_new0 (RepairOp, 1);
  op->self = self;
  g_strlcpy (op->tx, repair->tx, sizeof op->tx);
  op->key.transaction_id = op->tx;
  op->failures = repair->failures;
  self->repair_op = op;
  pay_payment_store_query_async (self->store, &op->key, repair_read, op);
}

/* Detaches the repair in flight, if any, from the service (dispose). */
static void
pay_service_drop_repair_op (PayService *self)
{
  if (self->repair_op != NULL)
    self->repair_op->self = NULL;
  self->repair_op = NULL;
}

static gboolean
repair_tick (gpointer data)
{
  PayService *self = data;

  if (g_hash_table_size (self->repairs) == 0)
    {
      g_clear_pointer (&self->repair_timer, g_source_unref);
      return G_SOURCE_REMOVE;
    }
  /* Unreachable: no write could succeed, so no read of the store for one. */
  if (pay_payment_cache_is_available (self->cache))
    repair_next (self);
  return G_SOURCE_CONTINUE;
}

guint
pay_service_get_pending_repairs (PayService *self)
{
  g_return_val_if_fail (PAY_IS_SERVICE (self), 0);
  return (guint) g_atomic_int_get (&self->n_repairs);
}

static GError *
cache_write_failed (void)
{
  return g_error_new_literal (PAY_ERROR, PAY_ERROR_CACHE_WRITE, "cache write failed");
}

/* ---- Charge ------------------------------------------------------------------------ */

static void
charge_cached (GObject *source, GAsyncResult *result, gpointer user_data)
{
  gboolean ok = pay_payment_cache_store_finish (PAY_PAYMENT_CACHE (source), result, NULL);

  finish (user_data, ok ? NULL : cache_write_failed ());
}

static void
charge_stored (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  PayService *self = g_task_get_source_object (task);
  GError *error = NULL;
  PayPayment *payment = g_task_get_task_data (task);

  pay_payment_store_charge_finish (PAY_PAYMENT_STORE (source), result, &error);
  note_storage_result (self, error);
  if (error != NULL)
    {
      finish (task, error);
      return;
    }
  /* The charge is committed from here on: in the default mode the cache can only log. */
  if (self->settings.cache_required)
    {
      pay_payment_cache_store_async (self->cache, payment, TRUE, charge_cached, task);
      return;
    }
  pay_payment_cache_store_async (self->cache, payment, TRUE, NULL, NULL);
  finish (task, NULL);
}

gboolean
pay_service_charge_begin (PayService             *self,
                          const PayChargeRequest *request,
                          GCancellable           *cancellable,
                          GAsyncReadyCallback     callback,
                          gpointer                user_data,
                          GError                **error)
{
  PayPayment *payment;
  GTask *task;

  g_return_val_if_fail (PAY_IS_SERVICE (self), FALSE);
  g_return_val_if_fail (request != NULL, FALSE);

  /* The card is read here, before this returns: the request is not kept. */
  payment = g_new0 (PayPayment, 1);
  if (!validate_charge (self, request, payment, error) ||
      !new_uuid (payment->transaction_id, error))
    {
      g_free (payment);
      return FALSE;
    }
  task = op_task_new (self, payment, pay_service_charge_begin, cancellable, callback, user_data);
  payment->refunded_cents = 0;
  payment->status = PAY_STATUS_PAID;
  payment->created_at_ms = payment->updated_at_ms = g_get_real_time () / 1000;
  if (!finish_if_cancelled (task))
    pay_payment_store_charge_async (self->store, payment, charge_stored, task);
  return TRUE;
}

gboolean
pay_service_charge_finish (PayService *self, GAsyncResult *result, PayPayment *out, GError **error)
{
  PayPayment *payment = finished_op (self, result, pay_service_charge_begin, error);

  if (payment == NULL)
    return FALSE;
  *out = *payment;
  return TRUE;
}

/* ---- QueryPayment ------------------------------------------------------------------ */

typedef struct {
  PayQueryRequest request;     /* transaction_id points into tx, or NULL */
  gchar           tx[PAY_UUID_STRLEN + 2];
  PayPayment      payment;
} QueryOp;

static gboolean
validate_query (const PayQueryRequest *request, GError **error)
{
  if ((request->transaction_id != NULL) == request->has_order_id)
    return invalid_request (error, "give exactly one of transaction_id and order_id");
  if (request->transaction_id != NULL && request->transaction_id[0] == '\0')
    return invalid_request (error, "transaction_id must not be empty");
  if (request->has_order_id && request->order_id <= 0)
    return invalid_request (error, "order_id must be positive");
  return TRUE;
}

static void
query_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  PayService *self = g_task_get_source_object (task);
  QueryOp *op = g_task_get_task_data (task);
  GError *error = NULL;

  pay_payment_store_query_finish (PAY_PAYMENT_STORE (source), result, &op->payment, &error);
  note_storage_result (self, error);
  /* Filling the cache is best effort in both modes: the answer is already right. */
  if (error == NULL)
    pay_payment_cache_store_async (self->cache, &op->payment, FALSE, NULL, NULL);
  finish (task, error);
}

/* Cache-aside: a hit answers without the store. A cache failure was logged and counted by
 * the cache; by default the query goes on to the store, in strict mode it is the answer. */
static void
query_looked_up (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  PayService *self = g_task_get_source_object (task);
  QueryOp *op = g_task_get_task_data (task);
  GError *error = NULL;
  gboolean hit = FALSE;

  if (!pay_payment_cache_lookup_finish (PAY_PAYMENT_CACHE (source), result, &op->payment, &hit,
                                        &error))
    {
      if (self->settings.cache_required)
        {
          finish (task, error);
          return;
        }
      g_debug ("cache read failed, reading the store: %s", error->message);
      g_clear_error (&error);
    }
  pay_payment_cache_count_lookup (self->cache, hit);
  if (hit)
    finish (task, NULL);
  else if (!finish_if_cancelled (task))
    pay_payment_store_query_async (self->store, &op->request, query_read, task);
}

void
pay_service_query_async (PayService            *self,
                         const PayQueryRequest *request,
                         GCancellable          *cancellable,
                         GAsyncReadyCallback    callback,
                         gpointer               user_data)
{
  QueryOp *op = g_new0 (QueryOp, 1);
  GTask *task = op_task_new (self, op, pay_service_query_async, cancellable, callback,
                             user_data);
  GError *error = NULL;

  if (!validate_query (request, &error))
    {
      finish (task, error);
      return;
    }
  op->request = *request;
  if (request->transaction_id != NULL)
    {
      /* No payment has a transaction id of another length: a longer one is cut to a
       * length that cannot match either. */
      g_strlcpy (op->tx, request->transaction_id, sizeof op->tx);
      canonical_transaction_id (op->tx);
      op->request.transaction_id = op->tx;
    }
  if (finish_if_cancelled (task))
    return;
  if (repair_bypasses_cache (self, &op->request))
    pay_payment_store_query_async (self->store, &op->request, query_read, task);
  else
    pay_payment_cache_lookup_async (self->cache, &op->request, query_looked_up, task);
}

gboolean
pay_service_query_finish (PayService *self, GAsyncResult *result, PayPayment *out, GError **error)
{
  QueryOp *op = finished_op (self, result, pay_service_query_async, error);

  if (op == NULL)
    return FALSE;
  *out = op->payment;
  return TRUE;
}

/* ---- Refund ------------------------------------------------------------------------ */

/* The request's shape and values, in the contract's order (4004003, then 4004002), as
 * the draft of the refund to store. */
static gboolean
validate_refund (PayService             *self,
                 const PayRefundRequest *request,
                 PayRefund              *draft,
                 GError                **error)
{
  if (!pay_refund_validate_shape (request, error))
    return FALSE;
  draft->has_requested = request->has_amount;
  if (request->has_amount &&
      !pay_money_to_cents (request->amount, self->settings.max_amount_cents,
                           &draft->requested_cents, error))
    return FALSE;

  /* No payment has a transaction id of another length. */
  if (strlen (request->transaction_id) != PAY_UUID_STRLEN)
    {
      g_set_error_literal (error, PAY_ERROR, PAY_ERROR_NOT_FOUND, "payment not found");
      return FALSE;
    }
  g_strlcpy (draft->transaction_id, request->transaction_id, sizeof draft->transaction_id);
  canonical_transaction_id (draft->transaction_id);
  g_strlcpy (draft->refund_request_id, request->refund_request_id, sizeof draft->refund_request_id);
  draft->has_reason = request->reason != NULL;
  if (request->reason != NULL)
    g_strlcpy (draft->reason, request->reason, sizeof draft->reason);
  if (request->caller != NULL)
    g_strlcpy (draft->caller, request->caller, sizeof draft->caller);
  return TRUE;
}

typedef struct {
  PayRefund        draft;
  gchar            event_id[PAY_UUID_STRLEN + 1];
  PayRefundOutcome outcome;
  PayRefund        refund;
  PayPayment       payment;
} RefundOp;

static void
refund_cached (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  PayService *self = g_task_get_source_object (task);
  RefundOp *op = g_task_get_task_data (task);
  gboolean ok = pay_payment_cache_store_finish (PAY_PAYMENT_CACHE (source), result, NULL);

  /* The failure was logged and counted by the cache; the record may now hide the
   * refund: this instance reads the payment from the store until it has repaired it. */
  if (!ok)
    repair_needed (self, op->payment.transaction_id, op->payment.order_id);
  finish (task, !ok && self->settings.cache_required ? cache_write_failed () : NULL);
}

/* The store found the payment and the refund_request_id unused, but the balance too
 * small: the refund rules say why. */
static GError *
refund_refused (const RefundOp *op)
{
  PayRefundPlan plan;
  GError *error = NULL;

  if (pay_refund_plan (op->payment.amount_cents, op->payment.refunded_cents,
                       op->draft.has_requested, op->draft.requested_cents, &plan, &error))
    error = g_error_new_literal (PAY_ERROR, PAY_ERROR_REFUND_EXCEEDS,
                                 "refund exceeds the refundable balance");
  return error;
}

static void
refund_stored (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  PayService *self = g_task_get_source_object (task);
  RefundOp *op = g_task_get_task_data (task);
  GError *error = NULL;

  pay_payment_store_refund_finish (PAY_PAYMENT_STORE (source), result, &op->outcome,
                                   &op->refund, &op->payment, &error);
  note_storage_result (self, error);
  /* Unknown outcome: the COMMIT may have been made and its answer lost (MySQL stopped or
   * the connection dropped after it), so the cached record may hide a refund. */
  if (g_error_matches (error, PAY_ERROR, PAY_ERROR_STORAGE_UNAVAILABLE))
    repair_needed (self, op->draft.transaction_id, 0);
  if (error != NULL)
    {
      finish (task, error);
      return;
    }
  switch (op->outcome)
    {
    case PAY_REFUND_REPLAYED:
      if (!pay_refund_is_replay (&op->refund, op->draft.has_requested,
                                 op->draft.requested_cents,
                                 op->draft.has_reason ? op->draft.reason : NULL))
        {
          finish (task, g_error_new_literal (PAY_ERROR, PAY_ERROR_REFUND_CONFLICT,
                                             "refund_request_id already used with a different amount or reason"));
          return;
        }
      /* The first answer's cache update may have failed: a replay writes the record again,
       * as the refund did (the write never replaces a record with more refunded). */
      break;
    case PAY_REFUND_REFUSED:
      finish (task, refund_refused (op));
      return;
    case PAY_REFUND_APPLIED:
    default:
      break;
    }
  /* Committed (now or, for a replay, before). The cache is updated before the reply
   * leaves, so a query that follows the reply, on any instance, sees the refund. */
  pay_payment_cache_store_async (self->cache, &op->payment, FALSE, refund_cached, task);
}

void
pay_service_refund_async (PayService             *self,
                          const PayRefundRequest *request,
                          GCancellable           *cancellable,
                          GAsyncReadyCallback     callback,
                          gpointer                user_data)
{
  RefundOp *op = g_new0 (RefundOp, 1);
  GTask *task = op_task_new (self, op, pay_service_refund_async, cancellable, callback,
                             user_data);
  GError *error = NULL;

  if (!validate_refund (self, request, &op->draft, &error) ||
      !new_uuid (op->draft.refund_id, &error) ||
      !new_uuid (op->event_id, &error))
    {
      finish (task, error);
      return;
    }
  op->draft.created_at_ms = g_get_real_time () / 1000;
  if (!finish_if_cancelled (task))
    pay_payment_store_refund_async (self->store, &op->draft, op->event_id, refund_stored, task);
}

gboolean
pay_service_refund_finish (PayService *self, GAsyncResult *result, PayRefund *out, GError **error)
{
  RefundOp *op = finished_op (self, result, pay_service_refund_async, error);

  if (op == NULL)
    return FALSE;
  *out = op->refund;
  return TRUE;
}

/* ---- health ------------------------------------------------------------------------ */

gboolean
pay_service_storage_ok (PayService *self)
{
  g_return_val_if_fail (PAY_IS_SERVICE (self), FALSE);
  return g_atomic_int_get (&self->storage_ok);
}

gboolean
pay_service_cache_ok (PayService *self)
{
  g_return_val_if_fail (PAY_IS_SERVICE (self), FALSE);
  return pay_payment_cache_is_available (self->cache);
}

static void
probed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(PayService) self = user_data;
  g_autoptr(GError) error = NULL;

  pay_payment_store_probe_finish (PAY_PAYMENT_STORE (source), result, &error);
  if (error != NULL && g_atomic_int_get (&self->storage_ok))
    g_warning ("storage unavailable: %s", error->message);
  else if (error == NULL && !g_atomic_int_get (&self->storage_ok))
    g_message ("storage available again");
  g_atomic_int_set (&self->storage_ok, error == NULL);
  g_atomic_int_set (&self->probing, FALSE);
}

void
pay_service_probe_storage_async (PayService *self)
{
  g_return_if_fail (PAY_IS_SERVICE (self));

  if (!g_atomic_int_compare_and_exchange (&self->probing, FALSE, TRUE))
    return;
  pay_payment_store_probe_async (self->store, probed, g_object_ref (self));
}
