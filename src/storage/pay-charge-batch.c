/* pay-charge-batch.c: when waiting charges go out, and how many (the contract is in
 * pay-charge-batch.h). No I/O: the caller checks a connection out for the statement. */
#include "storage/pay-charge-batch.h"

void
pay_charge_batch_init (PayChargeBatch *self, guint pool_size)
{
  self->max_statements = MAX (pool_size / PAY_CHARGE_BATCH_CONNECTIONS_PER_STATEMENT, 1);
  self->running = 0;
  self->running_rows = 0;
}

/* Whether @waiting charges may go out by the rules: at once when no statement runs;
 * beside running ones (up to max_statements) only as a group as big as theirs on
 * average. */
static gboolean
may_start (const PayChargeBatch *self, guint waiting)
{
  if (waiting == 0 || self->running >= self->max_statements)
    return FALSE;
  return self->running == 0 || (guint64) waiting * self->running >= self->running_rows;
}

PayChargeBatchDecision
pay_charge_batch_decide (const PayChargeBatch *self,
                         guint                 waiting,
                         gint64                waited_us,
                         gboolean              at_tick)
{
  PayChargeBatchDecision d = { 0, FALSE };

  if (may_start (self, waiting))
    d.n = MIN (waiting, PAY_CHARGE_BATCH_MAX_ROWS);
  else if (at_tick && waiting > 0
           && waited_us >= (gint64) PAY_CHARGE_BATCH_WAIT_TICK_MS * G_TIME_SPAN_MILLISECOND)
    {
      d.n = MIN (waiting, PAY_CHARGE_BATCH_MAX_ROWS);
      d.late = TRUE;
    }
  return d;
}

void
pay_charge_batch_started (PayChargeBatch *self, guint rows)
{
  self->running++;
  self->running_rows += rows;
}

void
pay_charge_batch_completed (PayChargeBatch *self, guint rows)
{
  g_return_if_fail (self->running > 0 && self->running_rows >= rows);

  self->running--;
  self->running_rows -= rows;
}
