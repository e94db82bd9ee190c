/* pay-service.c: PaymentService: validation, money, ids, and the order of storage and
 * cache work for each operation. Both transports call these functions. */
#define G_LOG_DOMAIN "payment-service"

#include "domain/pay-service.h"

#include <string.h>
#include <uuid/uuid.h>

#include "core/pay-error.h"
#include "domain/pay-card.h"
#include "domain/pay-money.h"
#include "domain/pay-refund.h"

#define PAY_DEFAULT_PAYMENT_METHOD "credit_card"

struct _PayService
{
  GObject parent_instance;

  PayRepository      *repository;
  PayCache           *cache;
  PayServiceSettings  settings;
  gint                storage_ok;     /* atomic: last observed MySQL state */
  gint                probing;        /* atomic: a probe is running */
};

G_DEFINE_FINAL_TYPE (PayService, pay_service, G_TYPE_OBJECT)

static void
pay_service_init (PayService *self)
{
  self->storage_ok = TRUE;
}

static void
pay_service_dispose (GObject *object)
{
  PayService *self = PAY_SERVICE (object);

  g_clear_object (&self->repository);
  g_clear_object (&self->cache);
  G_OBJECT_CLASS (pay_service_parent_class)->dispose (object);
}

static void
pay_service_class_init (PayServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pay_service_dispose;
}

PayService *
pay_service_new (PayRepository *repository, PayCache *cache, const PayServiceSettings *settings)
{
  PayService *self;

  g_return_val_if_fail (PAY_IS_REPOSITORY (repository), NULL);
  g_return_val_if_fail (PAY_IS_CACHE (cache), NULL);

  self = g_object_new (PAY_TYPE_SERVICE, NULL);
  self->repository = g_object_ref (repository);
  self->cache = g_object_ref (cache);
  self->settings = *settings;
  return self;
}

/* Records what a storage call told us about MySQL's health. */
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
 * ids. */
static gboolean
new_uuid (gchar out[PAY_UUID_STRLEN + 1], GError **error)
{
  uuid_t uuid;

  uuid_generate_random (uuid);
  if (uuid_is_null (uuid) || uuid_type (uuid) != UUID_TYPE_DCE_RANDOM)
    {
      g_set_error_literal (error, PAY_ERROR, PAY_ERROR_ID_GENERATION,
                           "id generation failed");
      return FALSE;
    }
  uuid_unparse_lower (uuid, out);
  return TRUE;
}

gboolean
pay_service_charge (PayService             *self,
                    const PayChargeRequest *request,
                    PayPayment             *out,
                    GError                **error)
{
  PayPayment payment = { 0 };
  gchar event_id[PAY_UUID_STRLEN + 1];
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (PAY_IS_SERVICE (self), FALSE);
  g_return_val_if_fail (request != NULL && out != NULL, FALSE);

  if (!validate_charge (self, request, &payment, error) ||
      !new_uuid (payment.transaction_id, error) ||
      !new_uuid (event_id, error))
    return FALSE;

  payment.refunded_cents = 0;
  payment.status = PAY_STATUS_PAID;
  payment.created_at_ms = payment.updated_at_ms = g_get_real_time () / 1000;

  if (!pay_repository_insert_payment (self->repository, &payment, event_id, &local_error))
    {
      note_storage_result (self, local_error);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  note_storage_result (self, NULL);

  /* The charge is committed from here on: in the default mode the cache can only log. */
  if (self->settings.cache_required)
    {
      if (!pay_cache_store_blocking (self->cache, &payment, error))
        return FALSE;
    }
  else
    pay_cache_store (self->cache, &payment);

  *out = payment;
  return TRUE;
}

/* ---- the _async variants: one blocking operation on a GTask thread ------------------ */

/* Runs the blocking operation on @job (which owns copies of the request's strings) and
 * fills the job's result, or sets @error. */
typedef gboolean (*ServiceOp) (PayService *self, gpointer job, GError **error);

typedef struct {
  ServiceOp      op;
  gpointer       job;
  GDestroyNotify free_job;
} Work;

static void
work_free (gpointer data)
{
  Work *work = data;

  work->free_job (work->job);
  g_free (work);
}

static void
work_in_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Work *work = task_data;
  GError *error = NULL;

  if (work->op (PAY_SERVICE (source), work->job, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* Takes ownership of @job; @callback runs in the caller's thread-default main context. */
static void
run_in_thread (PayService          *self,
               ServiceOp            op,
               gpointer             job,
               GDestroyNotify       free_job,
               gpointer             source_tag,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  Work *work = g_new0 (Work, 1);

  work->op = op;
  work->job = job;
  work->free_job = free_job;
  g_task_set_task_data (task, work, work_free);
  g_task_set_source_tag (task, source_tag);
  g_task_run_in_thread (task, work_in_thread);
}

/* The job of a finished operation (owned by @result), or NULL with @error set. */
static gpointer
finished_job (PayService *self, GAsyncResult *result, gpointer source_tag, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, NULL);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  return ((Work *) g_task_get_task_data (G_TASK (result)))->job;
}

/* The async variant owns copies of the request's strings; the card number is wiped
 * before its memory is released. */
typedef struct {
  PayChargeRequest request;
  gchar           *card_number;
  gchar           *payment_method;
  PayPayment       payment;
} ChargeJob;

static void
charge_job_free (gpointer data)
{
  ChargeJob *job = data;

  if (job->card_number != NULL)
    {
      explicit_bzero (job->card_number, strlen (job->card_number));
      g_free (job->card_number);
    }
  g_free (job->payment_method);
  g_free (job);
}

static gboolean
charge_op (PayService *self, gpointer data, GError **error)
{
  ChargeJob *job = data;

  return pay_service_charge (self, &job->request, &job->payment, error);
}

void
pay_service_charge_async (PayService             *self,
                          const PayChargeRequest *request,
                          GCancellable           *cancellable,
                          GAsyncReadyCallback     callback,
                          gpointer                user_data)
{
  ChargeJob *job = g_new0 (ChargeJob, 1);

  job->request = *request;
  job->card_number = g_strdup (request->card_number);
  job->payment_method = g_strdup (request->payment_method);
  job->request.card_number = job->card_number;
  job->request.payment_method = job->payment_method;
  run_in_thread (self, charge_op, job, charge_job_free, pay_service_charge_async,
                 cancellable, callback, user_data);
}

gboolean
pay_service_charge_finish (PayService *self, GAsyncResult *result, PayPayment *out, GError **error)
{
  ChargeJob *job = finished_job (self, result, pay_service_charge_async, error);

  if (job == NULL)
    return FALSE;
  *out = job->payment;
  return TRUE;
}

/* ---- QueryPayment ------------------------------------------------------------------ */

gboolean
pay_service_query (PayService            *self,
                   const PayQueryRequest *request,
                   PayPayment            *out,
                   GError               **error)
{
  g_autoptr(GError) local_error = NULL;
  gboolean found = FALSE;

  g_return_val_if_fail (PAY_IS_SERVICE (self), FALSE);
  g_return_val_if_fail (request != NULL && out != NULL, FALSE);

  if ((request->transaction_id != NULL) == request->has_order_id)
    return invalid_request (error, "give exactly one of transaction_id and order_id");
  if (request->transaction_id != NULL && request->transaction_id[0] == '\0')
    return invalid_request (error, "transaction_id must not be empty");
  if (request->has_order_id && request->order_id <= 0)
    return invalid_request (error, "order_id must be positive");

  /* Cache-aside: a hit answers without MySQL. A Redis failure was logged and counted by
   * the cache; by default the query goes on to MySQL, in strict mode it is the answer. */
  if (!pay_cache_fetch_blocking (self->cache, request, out, &found, &local_error))
    {
      if (self->settings.cache_required)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      g_debug ("cache read failed, reading MySQL: %s", local_error->message);
      g_clear_error (&local_error);
    }
  pay_cache_count_lookup (self->cache, found);
  if (found)
    return TRUE;

  if (!pay_repository_get_payment (self->repository, request, out, &local_error))
    {
      note_storage_result (self, local_error);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  note_storage_result (self, NULL);

  /* Filling the cache is best effort in both modes: the answer is already right. */
  pay_cache_store (self->cache, out);
  return TRUE;
}

typedef struct {
  PayQueryRequest request;
  gchar          *transaction_id;
  PayPayment      payment;
} QueryJob;

static void
query_job_free (gpointer data)
{
  QueryJob *job = data;

  g_free (job->transaction_id);
  g_free (job);
}

static gboolean
query_op (PayService *self, gpointer data, GError **error)
{
  QueryJob *job = data;

  return pay_service_query (self, &job->request, &job->payment, error);
}

void
pay_service_query_async (PayService            *self,
                         const PayQueryRequest *request,
                         GCancellable          *cancellable,
                         GAsyncReadyCallback    callback,
                         gpointer               user_data)
{
  QueryJob *job = g_new0 (QueryJob, 1);

  job->request = *request;
  job->transaction_id = g_strdup (request->transaction_id);
  job->request.transaction_id = job->transaction_id;
  run_in_thread (self, query_op, job, query_job_free, pay_service_query_async,
                 cancellable, callback, user_data);
}

gboolean
pay_service_query_finish (PayService *self, GAsyncResult *result, PayPayment *out, GError **error)
{
  QueryJob *job = finished_job (self, result, pay_service_query_async, error);

  if (job == NULL)
    return FALSE;
  *out = job->payment;
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
  g_strlcpy (draft->refund_request_id, request->refund_request_id, sizeof draft->refund_request_id);
  draft->has_reason = request->reason != NULL;
  if (request->reason != NULL)
    g_strlcpy (draft->reason, request->reason, sizeof draft->reason);
  return TRUE;
}

gboolean
pay_service_refund (PayService             *self,
                    const PayRefundRequest *request,
                    PayRefund              *out,
                    GError                **error)
{
  PayRefund draft = { 0 };
  PayRefund refund;
  PayPayment payment;
  gchar event_id[PAY_UUID_STRLEN + 1];
  gboolean replayed = FALSE;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (PAY_IS_SERVICE (self), FALSE);
  g_return_val_if_fail (request != NULL && out != NULL, FALSE);

  if (!validate_refund (self, request, &draft, error) ||
      !new_uuid (draft.refund_id, error) ||
      !new_uuid (event_id, error))
    return FALSE;
  draft.created_at_ms = g_get_real_time () / 1000;

  if (!pay_repository_refund (self->repository, &draft, event_id, &refund, &payment,
                              &replayed, &local_error))
    {
      note_storage_result (self, local_error);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  note_storage_result (self, NULL);

  if (replayed)
    {
      if (!pay_refund_is_replay (&refund, draft.has_requested, draft.requested_cents,
                                 request->reason))
        {
          g_set_error_literal (error, PAY_ERROR, PAY_ERROR_REFUND_CONFLICT,
                               "refund_request_id already used with a different amount or reason");
          return FALSE;
        }
      *out = refund;
      return TRUE;
    }

  /* Committed. The cache is updated before the reply leaves, so a query that follows the
   * reply, on any instance, sees the refund. Default mode: a failure is logged and
   * counted by the cache, and the record then ages out with its TTL. */
  if (!pay_cache_store_blocking (self->cache, &payment, &local_error) &&
      self->settings.cache_required)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  *out = refund;
  return TRUE;
}

typedef struct {
  PayRefundRequest request;
  gchar           *transaction_id;
  gchar           *refund_request_id;
  gchar           *reason;
  PayRefund        refund;
} RefundJob;

static void
refund_job_free (gpointer data)
{
  RefundJob *job = data;

  g_free (job->transaction_id);
  g_free (job->refund_request_id);
  g_free (job->reason);
  g_free (job);
}

static gboolean
refund_op (PayService *self, gpointer data, GError **error)
{
  RefundJob *job = data;

  return pay_service_refund (self, &job->request, &job->refund, error);
}

void
pay_service_refund_async (PayService             *self,
                          const PayRefundRequest *request,
                          GCancellable           *cancellable,
                          GAsyncReadyCallback     callback,
                          gpointer                user_data)
{
  RefundJob *job = g_new0 (RefundJob, 1);

  job->request = *request;
  job->transaction_id = g_strdup (request->transaction_id);
  job->refund_request_id = g_strdup (request->refund_request_id);
  job->reason = g_strdup (request->reason);
  job->request.transaction_id = job->transaction_id;
  job->request.refund_request_id = job->refund_request_id;
  job->request.reason = job->reason;
  run_in_thread (self, refund_op, job, refund_job_free, pay_service_refund_async,
                 cancellable, callback, user_data);
}

gboolean
pay_service_refund_finish (PayService *self, GAsyncResult *result, PayRefund *out, GError **error)
{
  RefundJob *job = finished_job (self, result, pay_service_refund_async, error);

  if (job == NULL)
    return FALSE;
  *out = job->refund;
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
  return pay_cache_is_connected (self->cache);
}

static void
probe_in_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  PayService *self = PAY_SERVICE (source);
  g_autoptr(GError) error = NULL;

  /* Creating the schema here means a service started before MySQL gets its tables as
   * soon as MySQL answers, not on the first charge. */
  if (pay_repository_ensure_schema (self->repository, &error))
    pay_repository_ping (self->repository, &error);
  if (error != NULL && g_atomic_int_get (&self->storage_ok))
    g_warning ("storage unavailable: %s", error->message);
  else if (error == NULL && !g_atomic_int_get (&self->storage_ok))
    g_message ("storage available again");
  g_atomic_int_set (&self->storage_ok, error == NULL);
  g_atomic_int_set (&self->probing, FALSE);
  g_task_return_boolean (task, error == NULL);
}

void
pay_service_probe_storage_async (PayService *self)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (PAY_IS_SERVICE (self));

  if (!g_atomic_int_compare_and_exchange (&self->probing, FALSE, TRUE))
    return;
  task = g_task_new (self, NULL, NULL, NULL);
  g_task_run_in_thread (task, probe_in_thread);
}
