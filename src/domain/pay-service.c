/* pay-service.c: PaymentService: validation, money, ids, and the order of storage and
 * cache work for each operation. Both transports call these functions. */
#define G_LOG_DOMAIN "payment-service"

#include "domain/pay-service.h"

#include <string.h>
#include <uuid/uuid.h>

#include "core/pay-error.h"
#include "domain/pay-card.h"
#include "domain/pay-money.h"

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

/* ---- Charge ------------------------------------------------------------------------ */

static gboolean
invalid_request (GError **error, const gchar *why)
{
  g_set_error (error, PAY_ERROR, PAY_ERROR_INVALID_REQUEST, "invalid request: %s", why);
  return FALSE;
}

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

/* A random (version 4) UUID in lowercase canonical form. */
static gboolean
new_transaction_id (gchar out[PAY_UUID_STRLEN + 1], GError **error)
{
  uuid_t uuid;

  uuid_generate_random (uuid);
  if (uuid_is_null (uuid) || uuid_type (uuid) != UUID_TYPE_DCE_RANDOM)
    {
      g_set_error_literal (error, PAY_ERROR, PAY_ERROR_ID_GENERATION,
                           "transaction id generation failed");
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
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (PAY_IS_SERVICE (self), FALSE);
  g_return_val_if_fail (request != NULL && out != NULL, FALSE);

  if (!validate_charge (self, request, &payment, error) ||
      !new_transaction_id (payment.transaction_id, error))
    return FALSE;

  payment.refunded_cents = 0;
  payment.status = PAY_STATUS_PAID;
  payment.created_at_ms = payment.updated_at_ms = g_get_real_time () / 1000;

  if (!pay_repository_insert_payment (self->repository, &payment, &local_error))
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

static void
charge_in_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  ChargeJob *job = task_data;
  GError *error = NULL;

  if (pay_service_charge (PAY_SERVICE (source), &job->request, &job->payment, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
pay_service_charge_async (PayService             *self,
                          const PayChargeRequest *request,
                          GCancellable           *cancellable,
                          GAsyncReadyCallback     callback,
                          gpointer                user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  ChargeJob *job = g_new0 (ChargeJob, 1);

  job->request = *request;
  job->card_number = g_strdup (request->card_number);
  job->payment_method = g_strdup (request->payment_method);
  job->request.card_number = job->card_number;
  job->request.payment_method = job->payment_method;
  g_task_set_task_data (task, job, charge_job_free);
  g_task_set_source_tag (task, pay_service_charge_async);
  g_task_run_in_thread (task, charge_in_thread);
}

gboolean
pay_service_charge_finish (PayService *self, GAsyncResult *result, PayPayment *out, GError **error)
{
  ChargeJob *job;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  job = g_task_get_task_data (G_TASK (result));
  *out = job->payment;
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
