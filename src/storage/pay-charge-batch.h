/* pay-charge-batch.h: the policy that groups charges into multi-row INSERTs, as a small
 * value with no I/O and no clock of its own (the time a charge has waited is given), so
 * that the decision is tested apart from MySQL (tests/unit/test-charge-batch.c).
 *
 * Charges that arrive while a charge statement runs wait, and go out together as one
 * statement of up to PAY_CHARGE_BATCH_MAX_ROWS rows, the oldest first:
 *   - with no charge statement running they go out at once: a lone charge is never held
 *     back to fill a group;
 *   - beside running ones, up to max_statements at once (one per 8 pooled connections,
 *     at least one), only once they are as many as the rows of the statements running,
 *     on average; so a few clients get statements side by side and many get big groups;
 *   - at a wait tick, once the oldest has waited PAY_CHARGE_BATCH_WAIT_TICK_MS, one group
 *     goes out beyond max_statements (a slow statement, a row lock or a stall, must not
 *     hold back the charges behind it).
 * Internal to src/storage/: used by pay-repository-charge.c, on its loop. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The most rows in one INSERT. */
#define PAY_CHARGE_BATCH_MAX_ROWS 32

/* How often waiting charges are looked at, and how long the oldest may wait behind
 * running statements before a group goes out beyond max_statements. */
#define PAY_CHARGE_BATCH_WAIT_TICK_MS 100

/* Pooled connections per charge statement that may run at once. */
#define PAY_CHARGE_BATCH_CONNECTIONS_PER_STATEMENT 8

/* The charge statements running: fields read-only outside pay-charge-batch.c. */
typedef struct {
  guint max_statements;   /* statements at once by the rules (not counting late ones) */
  guint running;          /* statements started and not completed */
  guint running_rows;     /* their rows */
} PayChargeBatch;

/* What to do with the charges waiting now. */
typedef struct {
  guint    n;     /* how many of the oldest go out now as one new statement; 0: they wait */
  gboolean late;  /* the statement is beyond max_statements: the oldest waited a tick */
} PayChargeBatchDecision;

/* Nothing running, max_statements from @pool_size. */
void pay_charge_batch_init (PayChargeBatch *self, guint pool_size);

/* The decision for @waiting charges, the oldest of which has waited @waited_us; @at_tick
 * is TRUE only for the one extra look per wait tick (the only time a group may go out
 * late, so at most one late statement starts per tick). Pure: the same arguments give
 * the same decision. */
PayChargeBatchDecision pay_charge_batch_decide (const PayChargeBatch *self,
                                                guint                 waiting,
                                                gint64                waited_us,
                                                gboolean              at_tick);

/* A statement of @rows rows has started / has completed (whatever its outcome). */
void pay_charge_batch_started   (PayChargeBatch *self, guint rows);
void pay_charge_batch_completed (PayChargeBatch *self, guint rows);

G_END_DECLS
