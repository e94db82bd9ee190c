/* ceiling-mysql: the storage ceiling for charge-ok. N threads, each with its own MariaDB
 * connection set up like the service's (READ COMMITTED, strict sql_mode,
 * CLIENT_MULTI_STATEMENTS), run what the service sends MariaDB for a lone charge
 * (src/storage/pay-repository-charge.c batch_build_sql with one row; concurrent charges
 * share the transaction): ONE text, START TRANSACTION; INSERT into payments; INSERT into
 * payment_events; COMMIT, in one round trip, into a scratch database holding the
 * service's own schema (src/storage/schema.sql, passed with --schema), for a fixed
 * duration:
 *
 *   --mode insert       (default) the service's charge transaction: the raw insert ceiling
 *   --mode insert-bare  a prepared, autocommitted INSERT into payments alone (no event): a
 *                       more demanding reference
 *   --mode insert-grouped  the service's transaction with --rows rows (8 unless given) in
 *                       each INSERT, as the service sends charges that arrive together
 *                       (pay-repository-charge.c): what MariaDB gives a client that groups;
 *                       a reference, requests/s counts rows
 *
 * Reports requests/s and latency like payment-bench (same JSON line). Keep the statements
 * below identical to the service's; scripts/bench compares them (--print-statement) with
 * pay-repository-charge.c and warns when they have drifted apart. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <mysql.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench-common.h"

/* pay-repository-charge.c insert_payment_sql. */
#define STATEMENT \
  "INSERT INTO payments" \
  " (transaction_id, order_id, user_id, amount_cents, refunded_cents, status," \
  " payment_method, card_brand, card_last4, created_at_ms, updated_at_ms)" \
  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

/* pay-repository-charge.c INSERT_PAYMENTS_SQL, INSERT_EVENTS_SQL and COMMIT_SQL: the
 * text's parts, the rows' values between them. */
#define TXN_PAYMENTS \
  "START TRANSACTION;INSERT INTO payments" \
  " (transaction_id, order_id, user_id, amount_cents, refunded_cents, status," \
  " payment_method, card_brand, card_last4, created_at_ms, updated_at_ms) VALUES "
#define TXN_EVENTS \
  ";INSERT INTO payment_events" \
  " (event_id, event_type, transaction_id, order_id, amount_cents, status, created_at_ms) VALUES "
#define TXN_COMMIT ";COMMIT"

/* The session the service sets up on each pooled connection (pay-mysql-pool.c). */
#define SESSION_SQL \
  "SET SESSION innodb_lock_wait_timeout = 3," \
  " sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'"
#define ISOLATION_SQL "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"

static struct {
  const char *host, *user, *password, *database, *schema;
  unsigned    port;
  int         connections;
  double      duration;
  double      warmup;
  bool        json;
  bool        bare;
  int         rows;        /* per statement */
} opt = { "127.0.0.1", "root", "", "bench_ceiling", NULL, 3306, 1, 10, 0, false, false, 1 };

#define MAX_ROWS 64
#define N_COLUMNS 11
#define MORE_ROW ", (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

static uint64_t t_measure, t_deadline;

typedef struct {
  pthread_t th;
  int       id;
  Hist      lat;
  Kinds     errors;
  uint64_t  ok;
  uint64_t  last_done;
  bool      failed;
} Worker;

static MYSQL *
connect_db (const char *db, unsigned long flags)
{
  MYSQL *m = mysql_init (NULL);
  unsigned timeout = 10;
  mysql_options (m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_options (m, MYSQL_SET_CHARSET_NAME, "utf8mb4");    /* as pay-mysql-pool.c */
  if (mysql_real_connect (m, opt.host, opt.user, opt.password[0] ? opt.password : NULL, db,
                          opt.port, NULL, flags) == NULL)
    {
      fprintf (stderr, "ceiling-mysql: connect: %s\n", mysql_error (m));
      mysql_close (m);
      return NULL;
    }
  return m;
}

static bool
run_sql (MYSQL *m, const char *sql)
{
  if (mysql_query (m, sql) != 0)
    {
      fprintf (stderr, "ceiling-mysql: %s: %s\n", sql, mysql_error (m));
      return false;
    }
  /* multi-statement: drain every result */
  do
    {
      MYSQL_RES *res = mysql_store_result (m);
      if (res) mysql_free_result (res);
    }
  while (mysql_next_result (m) == 0);
  if (mysql_errno (m) != 0)
    {
      fprintf (stderr, "ceiling-mysql: schema: %s\n", mysql_error (m));
      return false;
    }
  return true;
}

/* A fresh scratch database with the service's schema. */
static bool
prepare_database (void)
{
  MYSQL *m = connect_db (NULL, CLIENT_MULTI_STATEMENTS);
  char sql[512];
  bool ok = m != NULL;

  if (ok)
    {
      snprintf (sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`", opt.database);
      ok = run_sql (m, sql);
    }
  if (ok)
    {
      snprintf (sql, sizeof sql, "CREATE DATABASE `%s` DEFAULT CHARACTER SET utf8mb4", opt.database);
      ok = run_sql (m, sql) && mysql_select_db (m, opt.database) == 0;
    }
  if (ok && opt.schema != NULL)
    {
      FILE *f = fopen (opt.schema, "r");
      if (f == NULL)
        {
          perror (opt.schema);
          ok = false;
        }
      else
        {
          char *text = NULL;
          size_t cap = 0;
          ssize_t n = getdelim (&text, &cap, '\0', f);
          fclose (f);
          ok = n > 0 && run_sql (m, text);
          free (text);
        }
    }
  if (m)
    mysql_close (m);
  return ok;
}

/* The service's charge text for opt.rows rows into @buf: payments rows, then their events
 * (event ids unique per worker and row, v4-shaped), as batch_build_sql writes it. */
static size_t
txn_text (char *buf, size_t size, MYSQL *m, char txid[][40], const long long *order_id,
          long long user_id, long long amount, long long ts, uint64_t seq, int wid)
{
  size_t n = 0;
  (void) m;
  n += (size_t) snprintf (buf + n, size - n, "%s", TXN_PAYMENTS);
  for (int r = 0; r < opt.rows; r++)
    n += (size_t) snprintf (buf + n, size - n,
                            "%s('%s',%lld,%lld,%lld,0,1,'credit_card','visa','1111',%lld,%lld)",
                            r ? "," : "", txid[r], order_id[r], user_id, amount, ts, ts);
  n += (size_t) snprintf (buf + n, size - n, "%s", TXN_EVENTS);
  for (int r = 0; r < opt.rows; r++)
    n += (size_t) snprintf (buf + n, size - n,
                            "%s('%08x-0001-4000-8000-%012llx','charge','%s',%lld,%lld,1,%lld)",
                            r ? "," : "", (unsigned) wid,
                            (unsigned long long) (seq * (uint64_t) opt.rows + (uint64_t) r),
                            txid[r], order_id[r], amount, ts);
  n += (size_t) snprintf (buf + n, size - n, "%s", TXN_COMMIT);
  return n;
}

static void *
worker_main (void *arg)
{
  Worker *w = arg;
  MYSQL *m = connect_db (opt.database, CLIENT_MULTI_STATEMENTS);
  MYSQL_STMT *stmt;
  if (m == NULL)
    {
      w->failed = true;
      return NULL;
    }
  if (mysql_query (m, SESSION_SQL) != 0 || mysql_query (m, ISOLATION_SQL) != 0)
    {
      fprintf (stderr, "ceiling-mysql: %s\n", mysql_error (m));
      w->failed = true;
      mysql_close (m);
      return NULL;
    }
  char sql[sizeof STATEMENT + MAX_ROWS * sizeof MORE_ROW];
  strcpy (sql, STATEMENT);
  for (int r = 1; r < opt.rows; r++)
    strcat (sql, MORE_ROW);
  stmt = mysql_stmt_init (m);
  if (opt.bare && mysql_stmt_prepare (stmt, sql, strlen (sql)) != 0)
    {
      fprintf (stderr, "ceiling-mysql: prepare: %s\n", mysql_stmt_error (stmt));
      w->failed = true;
      mysql_stmt_close (stmt);
      mysql_close (m);
      return NULL;
    }

  char txid[MAX_ROWS][40], method[] = "credit_card", brand[] = "visa", last4[] = "1111";
  long long order_id[MAX_ROWS], user_id = 1 + w->id, amount = 1999, refunded = 0, status = 1, ts = 0;
  unsigned long txid_len = 36, method_len = strlen (method), brand_len = strlen (brand), last4_len = 4;
  MYSQL_BIND binds[MAX_ROWS * N_COLUMNS];
  memset (binds, 0, sizeof binds);
  for (int r = 0; r < opt.rows; r++)
    {
      MYSQL_BIND *b = &binds[r * N_COLUMNS];
      b[0].buffer_type = MYSQL_TYPE_STRING; b[0].buffer = txid[r]; b[0].length = &txid_len;
      b[1].buffer_type = MYSQL_TYPE_LONGLONG; b[1].buffer = &order_id[r];
      b[2].buffer_type = MYSQL_TYPE_LONGLONG; b[2].buffer = &user_id;
      b[3].buffer_type = MYSQL_TYPE_LONGLONG; b[3].buffer = &amount;
      b[4].buffer_type = MYSQL_TYPE_LONGLONG; b[4].buffer = &refunded;
      b[5].buffer_type = MYSQL_TYPE_LONGLONG; b[5].buffer = &status;
      b[6].buffer_type = MYSQL_TYPE_STRING; b[6].buffer = method; b[6].length = &method_len;
      b[7].buffer_type = MYSQL_TYPE_STRING; b[7].buffer = brand; b[7].length = &brand_len;
      b[8].buffer_type = MYSQL_TYPE_STRING; b[8].buffer = last4; b[8].length = &last4_len;
      b[9].buffer_type = MYSQL_TYPE_LONGLONG; b[9].buffer = &ts;
      b[10].buffer_type = MYSQL_TYPE_LONGLONG; b[10].buffer = &ts;
    }

  static __thread char txt[MAX_ROWS * 512 + 1024];

  for (uint64_t seq = 0;; seq++)
    {
      uint64_t t0 = bench_now_ns ();
      if (t0 >= t_deadline)
        break;
      for (int r = 0; r < opt.rows; r++)
        {
          uint64_t row = seq * (uint64_t) opt.rows + (uint64_t) r;
          order_id[r] = (long long) w->id * 1000000000LL + (long long) row + 1;
          snprintf (txid[r], sizeof txid[r], "%08x-0000-4000-8000-%012llx", (unsigned) w->id,
                    (unsigned long long) row);
        }
      ts = (long long) time (NULL) * 1000;
      unsigned err = 0;
      bool ok;
      if (opt.bare)
        {
          ok = mysql_stmt_bind_param (stmt, binds) == 0 && mysql_stmt_execute (stmt) == 0;
          if (!ok)
            err = mysql_stmt_errno (stmt);
        }
      else
        {
          /* the service's text: values printed in, as batch_build_sql does */
          size_t len = txn_text (txt, sizeof txt, m, txid, order_id, user_id, amount, ts, seq, w->id);
          int rc = mysql_real_query (m, txt, len);
          while (rc == 0 && mysql_more_results (m))
            rc = mysql_next_result (m);
          ok = rc <= 0;
          if (!ok)
            {
              err = mysql_errno (m);
              if (err < 2000)
                mysql_query (m, "ROLLBACK");
            }
        }
      uint64_t t1 = bench_now_ns ();
      if (t0 < t_measure)
        continue;
      hist_record (&w->lat, t1 - t0);
      w->last_done = t1;
      if (ok)
        w->ok += (uint64_t) opt.rows;
      else
        {
          char kind[48];
          snprintf (kind, sizeof kind, "mysql-%u", err);
          kinds_add (&w->errors, kind, 1);
          if (err >= 2000 && err < 3000)          /* client-side: connection lost */
            break;
        }
    }
  mysql_stmt_close (stmt);
  mysql_close (m);
  return NULL;
}

int
main (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "host", required_argument, 0, 'h' }, { "port", required_argument, 0, 'p' },
    { "user", required_argument, 0, 'u' }, { "password", required_argument, 0, 'P' },
    { "database", required_argument, 0, 'd' }, { "schema", required_argument, 0, 's' },
    { "connections", required_argument, 0, 'c' }, { "duration", required_argument, 0, 'D' },
    { "warmup", required_argument, 0, 'w' }, { "json", no_argument, 0, 'j' },
    { "print-statement", no_argument, 0, 'S' }, { "mode", required_argument, 0, 'm' },
    { "cpu", required_argument, 0, 'C' }, { "rows", required_argument, 0, 'R' },
    { 0, 0, 0, 0 }
  };
  CpuProbes cpu = { 0 };
  bool grouped = false;
  int ch, rows = 8;
  while ((ch = getopt_long (argc, argv, "", longopts, NULL)) != -1)
    switch (ch)
      {
      case 'h': opt.host = optarg; break;
      case 'p': opt.port = (unsigned) atoi (optarg); break;
      case 'u': opt.user = optarg; break;
      case 'P': opt.password = optarg; break;
      case 'd': opt.database = optarg; break;
      case 's': opt.schema = optarg; break;
      case 'c': opt.connections = atoi (optarg); break;
      case 'D': opt.duration = atof (optarg); break;
      case 'w': opt.warmup = atof (optarg); break;
      case 'j': opt.json = true; break;
      case 'S': puts (TXN_PAYMENTS); puts (TXN_EVENTS); puts (TXN_COMMIT); return 0;
      case 'm':
        if (strcmp (optarg, "insert") == 0) opt.bare = false;
        else if (strcmp (optarg, "insert-bare") == 0) opt.bare = true;
        else if (strcmp (optarg, "insert-grouped") == 0) grouped = true;
        else { fprintf (stderr, "ceiling-mysql: --mode insert|insert-bare|insert-grouped\n"); return 2; }
        break;
      case 'R': rows = atoi (optarg); break;
      case 'C':
        if (!cpu_probes_parse (&cpu, optarg))
          { fprintf (stderr, "ceiling-mysql: --cpu wants name:pid,...\n"); return 2; }
        break;
      default:
        fprintf (stderr, "usage: ceiling-mysql [--host H] [--port P] [--user U] [--password P]"
                 " [--database D] --schema schema.sql [--connections N] [--duration S]"
                 " [--warmup S] [--mode insert|insert-bare|insert-grouped] [--rows N] [--cpu name:pid,...]"
                 " [--json]"
                 " [--print-statement]\n");
        return 2;
      }
  if (opt.connections < 1 || opt.connections > 1000 || opt.duration <= 0 ||
      rows < 1 || rows > MAX_ROWS)
    return 2;
  if (grouped)
    opt.rows = rows;
  if (mysql_library_init (0, NULL, NULL) != 0 || !prepare_database ())
    return 1;

  Worker *w = calloc ((size_t) opt.connections, sizeof *w);
  uint64_t t0 = bench_now_ns ();
  t_measure = t0 + (uint64_t) (opt.warmup * 1e9);
  t_deadline = t_measure + (uint64_t) (opt.duration * 1e9);
  for (int i = 0; i < opt.connections; i++)
    {
      w[i].id = i;
      pthread_create (&w[i].th, NULL, worker_main, &w[i]);
    }
  if (cpu.n > 0)
    {
      sleep_until_ns (t_measure);
      cpu_probes_sample (&cpu, false);
      sleep_until_ns (t_deadline);
      cpu_probes_sample (&cpu, true);
    }
  Hist *lat = calloc (1, sizeof *lat);
  Kinds errors = { 0 };
  uint64_t ok = 0, last = t_measure;
  int failed = 0;
  for (int i = 0; i < opt.connections; i++)
    {
      pthread_join (w[i].th, NULL);
      hist_merge (lat, &w[i].lat);
      kinds_merge (&errors, &w[i].errors);
      ok += w[i].ok;
      failed += w[i].failed;
      if (w[i].last_done > last)
        last = w[i].last_done;
    }
  if (failed)
    kinds_add (&errors, "connect-or-prepare", (uint64_t) failed);
  Report r = {
    .scenario = opt.bare ? "mysql-insert-bare" : opt.rows > 1 ? "mysql-insert-grouped" : "mysql-insert",
    .transport = "mysql",
    .status = kinds_total (&errors) ? "errors" : "ok",
    .connections = opt.connections, .depth = 1, .rate = 0,
    .seconds = (double) (last - t_measure) / 1e9, .ok = ok, .cpu = &cpu,
  };
  report_print (stdout, &r, lat, &errors, opt.json);
  mysql_library_end ();
  return failed == opt.connections ? 1 : 0;
}
