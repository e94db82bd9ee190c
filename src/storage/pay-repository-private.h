/* pay-repository-private.h: what pay-repository.c shares with pay-repository-charge.c
 * and pay-repository-refund.c.
 * Not for other modules: they use pay-repository.h. */
#pragma once

#include "storage/pay-mysql-pool.h"
#include "storage/pay-mysql-stmt.h"
#include "storage/pay-repository.h"

G_BEGIN_DECLS

/* Work on a pooled connection; @server_errno gets MySQL's error number, if any. */
typedef gboolean (*PayRepositoryWork) (PayMysqlConn *conn, gpointer data, guint *server_errno,
                                       GError **error);

/* A request that finds the schema gone runs this many times in all (the first attempt,
 * then one after setting the schema up again). */
#define PAY_REPOSITORY_SCHEMA_ATTEMPTS 2

/* TRUE for the errors that say a table or the database has gone (1146, 1049). */
gboolean pay_repository_schema_gone (guint server_errno);

/* Sets the schema up when needed, runs @work on a pooled connection and gives it back.
 * When MySQL says the schema has gone (pay_repository_schema_gone(), at connect, prepare
 * or execute), sets it up again and runs @work once more. */
gboolean pay_repository_run_pooled (PayRepository     *self,
                                    PayRepositoryWork  work,
                                    gpointer           data,
                                    GError           **error);

/* The PAY_ERROR for a duplicate key reported by MySQL's @detail; always FALSE (a
 * PayMysqlDuplicateFunc). */
gboolean pay_repository_duplicate_error (const gchar *detail, GError **error);

/* Whether the schema has been set up (cheap: an atomic read). */
gboolean pay_repository_schema_is_ready (PayRepository *self);

/* Makes the next call set the schema up again (the table or database has gone). */
void     pay_repository_forget_schema (PayRepository *self);

/* The charge path (pay-repository-charge.c), owned by the repository: @repository is
 * not referenced (its owner), @pool is the repository's and must outlive it; the
 * charges install the pool's returned hook. */
typedef struct _PayRepositoryCharges PayRepositoryCharges;

PayRepositoryCharges *pay_repository_charges_new   (PayRepository        *repository,
                                                    PayMysqlPool         *pool);
/* Fails the charges still waiting for a statement (dispose). */
void                  pay_repository_charges_close (PayRepositoryCharges *charges);
/* After the pool is freed: its connections' statement caches are keyed by our SQL. */
void                  pay_repository_charges_free  (PayRepositoryCharges *charges);
/* Fills the charge_* and charges_waiting members of *@stats (any thread). */
void                  pay_repository_charges_get_stats (PayRepositoryCharges *charges,
                                                        PayRepositoryStats   *stats);
/* The repository's charges. */
PayRepositoryCharges *pay_repository_get_charges   (PayRepository        *self);

G_END_DECLS
