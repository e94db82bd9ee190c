/* payment-bench: a load generator for the payment service's Thrift port (Framed, strict
 * binary, as a Kitex client sends it).
 *
 * N connections spread over a few epoll threads; each connection keeps `depth` requests in
 * flight (1 = what a Kitex client does: one request at a time per connection). It runs for
 * a fixed duration or a fixed number of requests. With --rate R the connections send on a
 * fixed schedule (R/N per connection) and latency is measured from the *intended* send
 * time, so a stalled server is charged for the requests it delayed (no coordinated
 * omission). Without --rate, latency is measured from the actual send.
 *
 * The requests are hand-encoded Thrift binary (a tiny encoder below, per idl/payment.thrift);
 * replies are decoded just enough to classify them. Nothing of the service is linked.
 *
 * Scenarios:
 *   charge-ok        Charge with a valid card and a unique order id per request
 *   charge-rejected  Charge with a card failing Luhn: the service answers 4004001, no I/O
 *   query-hit        charges --setup-orders orders first, then QueryPayment(transaction_id)
 *                    on them (the charge put them in the Redis cache)
 *   query-miss       QueryPayment(order_id) of ids never charged: cache miss, MySQL lookup,
 *                    4004004 expected
 *   refund           charges one order per connection first, then refunds 0.01 of it with
 *                    a fresh refund_request_id per request
 *
 * Output: a table, or one JSON line with --json. Exit status 0 unless the run could not
 * start (connect failure, bad arguments); error replies are reported, not fatal.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench-common.h"

#define MAX_DEPTH 64
#define MAX_CONNS 1000
#define RBUF_SIZE (64 * 1024)
#define WBUF_SIZE (MAX_DEPTH * 512)

/* Expected outcome of a reply for a scenario: success, or this PaymentError code. */
typedef enum { SC_CHARGE_OK, SC_CHARGE_REJECTED, SC_QUERY_HIT, SC_QUERY_MISS, SC_REFUND } Scenario;

static const struct {
  const char *name;
  const char *method;
  int32_t     expected_code;   /* 0 = success expected */
} scenarios[] = {
  [SC_CHARGE_OK]       = { "charge-ok", "Charge", 0 },
  [SC_CHARGE_REJECTED] = { "charge-rejected", "Charge", 4004001 },
  [SC_QUERY_HIT]       = { "query-hit", "QueryPayment", 0 },
  [SC_QUERY_MISS]      = { "query-miss", "QueryPayment", 4004004 },
  [SC_REFUND]          = { "refund", "Refund", 0 },
};

/* ---- options ---------------------------------------------------------------------------- */

static struct {
  const char *host;
  int         port;
  Scenario    scenario;
  int         connections;
  int         depth;
  int         threads;
  double      duration;      /* seconds; used when requests == 0 */
  uint64_t    requests;      /* total requests to send; 0 = use duration */
  double      rate;          /* total requests/s; 0 = closed loop */
  double      warmup;        /* seconds whose replies are not recorded */
  int         setup_orders;
  double      setup_amount;  /* amount of each set-up charge; 0 = per scenario */
  const char *write_ids;
  bool        setup_only;
  bool        json;
  double      timeout;       /* seconds to wait for outstanding replies at the end */
  int64_t     order_base;
} opt = {
  .host = "127.0.0.1", .port = 8885, .scenario = SC_CHARGE_OK, .connections = 1, .depth = 1,
  .threads = 0, .duration = 10, .requests = 0, .rate = 0, .warmup = 0, .setup_orders = 64,
  .setup_amount = 0, .write_ids = NULL, .setup_only = false, .json = false, .timeout = 5, .order_base = 0,
};

/* ---- Thrift binary encoder ---------------------------------------------------------------- */

enum { T_STOP = 0, T_BOOL = 2, T_BYTE = 3, T_DOUBLE = 4, T_I16 = 6, T_I32 = 8, T_I64 = 10,
       T_STRING = 11, T_STRUCT = 12, T_MAP = 13, T_SET = 14, T_LIST = 15 };

typedef struct { unsigned char *p; size_t len, cap; } Buf;

static void put (Buf *b, const void *data, size_t n)
{
  if (b->len + n > b->cap) { fprintf (stderr, "payment-bench: request too large\n"); exit (2); }
  memcpy (b->p + b->len, data, n);
  b->len += n;
}
static void put_u8 (Buf *b, uint8_t v) { put (b, &v, 1); }
static void put_i16 (Buf *b, int16_t v) { uint16_t x = htons ((uint16_t) v); put (b, &x, 2); }
static void put_i32 (Buf *b, int32_t v) { uint32_t x = htonl ((uint32_t) v); put (b, &x, 4); }
static void put_i64 (Buf *b, int64_t v)
{
  put_i32 (b, (int32_t) ((uint64_t) v >> 32));
  put_i32 (b, (int32_t) ((uint64_t) v & 0xffffffffu));
}
static void put_double (Buf *b, double d) { int64_t v; memcpy (&v, &d, 8); put_i64 (b, v); }
static void put_str (Buf *b, const char *s) { put_i32 (b, (int32_t) strlen (s)); put (b, s, strlen (s)); }
static void put_field (Buf *b, uint8_t type, int16_t id) { put_u8 (b, type); put_i16 (b, id); }

/* Framed message header: length placeholder, version|CALL, name, seqid. Returns the offset
 * of the length word, patched by end_call(). */
static size_t begin_call (Buf *b, const char *method, int32_t seqid)
{
  size_t at = b->len;
  put_i32 (b, 0);
  put_i32 (b, (int32_t) 0x80010001u);
  put_str (b, method);
  put_i32 (b, seqid);
  put_field (b, T_STRUCT, 1);           /* args.req */
  return at;
}
static void end_call (Buf *b, size_t at)
{
  put_u8 (b, T_STOP);                   /* end of req */
  put_u8 (b, T_STOP);                   /* end of args */
  uint32_t n = htonl ((uint32_t) (b->len - at - 4));
  memcpy (b->p + at, &n, 4);
}

/* The fields of a ChargeReq (the caller ends the struct). */
static void put_charge_fields (Buf *b, double amount, const char *card, int64_t order_id,
                               int64_t user_id)
{
  put_field (b, T_DOUBLE, 1); put_double (b, amount);
  put_field (b, T_STRUCT, 2);
  put_field (b, T_STRING, 1); put_str (b, card);
  put_field (b, T_I32, 2); put_i32 (b, 123);
  put_field (b, T_I32, 3); put_i32 (b, 2030);
  put_field (b, T_I32, 4); put_i32 (b, 12);
  put_u8 (b, T_STOP);
  put_field (b, T_I64, 3); put_i64 (b, order_id);
  put_field (b, T_I64, 4); put_i64 (b, user_id);
}

static void encode_charge (Buf *b, int32_t seqid, double amount, const char *card,
                           int64_t order_id, int64_t user_id)
{
  size_t at = begin_call (b, "Charge", seqid);
  put_charge_fields (b, amount, card, order_id, user_id);
  end_call (b, at);
}

static void encode_query_tx (Buf *b, int32_t seqid, const char *txid)
{
  size_t at = begin_call (b, "QueryPayment", seqid);
  put_field (b, T_STRING, 1); put_str (b, txid);
  end_call (b, at);
}

static void encode_query_order (Buf *b, int32_t seqid, int64_t order_id)
{
  size_t at = begin_call (b, "QueryPayment", seqid);
  put_field (b, T_I64, 2); put_i64 (b, order_id);
  end_call (b, at);
}

static void encode_refund (Buf *b, int32_t seqid, const char *txid, double amount,
                           const char *request_id)
{
  size_t at = begin_call (b, "Refund", seqid);
  put_field (b, T_STRING, 1); put_str (b, txid);
  put_field (b, T_DOUBLE, 2); put_double (b, amount);
  put_field (b, T_STRING, 3); put_str (b, request_id);
  end_call (b, at);
}

/* ---- Thrift binary decoder (just enough to classify a reply) ------------------------------ */

typedef struct { const unsigned char *p, *end; bool bad; } Rd;

static bool need (Rd *r, size_t n) { if ((size_t) (r->end - r->p) < n) { r->bad = true; return false; } return true; }
static uint8_t get_u8 (Rd *r) { if (!need (r, 1)) return 0; return *r->p++; }
static int16_t get_i16 (Rd *r) { if (!need (r, 2)) return 0; uint16_t x; memcpy (&x, r->p, 2); r->p += 2; return (int16_t) ntohs (x); }
static int32_t get_i32 (Rd *r) { if (!need (r, 4)) return 0; uint32_t x; memcpy (&x, r->p, 4); r->p += 4; return (int32_t) ntohl (x); }
static void get_str (Rd *r, char *out, size_t cap)
{
  int32_t n = get_i32 (r);
  if (n < 0 || !need (r, (size_t) n)) { r->bad = true; return; }
  if (out != NULL && cap > 0)
    {
      size_t k = (size_t) n < cap - 1 ? (size_t) n : cap - 1;
      memcpy (out, r->p, k);
      out[k] = 0;
    }
  r->p += n;
}

static void skip (Rd *r, uint8_t type, int depth)
{
  if (depth > 32) { r->bad = true; return; }
  switch (type)
    {
    case T_BOOL: case T_BYTE: if (need (r, 1)) r->p += 1; break;
    case T_I16: if (need (r, 2)) r->p += 2; break;
    case T_I32: if (need (r, 4)) r->p += 4; break;
    case T_DOUBLE: case T_I64: if (need (r, 8)) r->p += 8; break;
    case T_STRING: get_str (r, NULL, 0); break;
    case T_STRUCT:
      for (;;)
        {
          uint8_t t = get_u8 (r);
          if (r->bad || t == T_STOP) break;
          get_i16 (r);
          skip (r, t, depth + 1);
          if (r->bad) break;
        }
      break;
    case T_MAP:
      {
        uint8_t kt = get_u8 (r), vt = get_u8 (r);
        int32_t n = get_i32 (r);
        for (int32_t i = 0; i < n && !r->bad; i++) { skip (r, kt, depth + 1); skip (r, vt, depth + 1); }
        break;
      }
    case T_SET: case T_LIST:
      {
        uint8_t et = get_u8 (r);
        int32_t n = get_i32 (r);
        for (int32_t i = 0; i < n && !r->bad; i++) skip (r, et, depth + 1);
        break;
      }
    default: r->bad = true;
    }
}

typedef enum { R_SUCCESS, R_PAYMENT_ERROR, R_APP_EXCEPTION, R_BAD } ReplyKind;

typedef struct {
  ReplyKind kind;
  int32_t   seqid;
  int32_t   code;          /* PaymentError code, or TApplicationException type */
  char      str[64];       /* success: field 1 of the result struct when a string (txid) */
} Reply;

/* Decodes one message (without the frame length). */
static void decode_reply (const unsigned char *p, size_t n, Reply *out)
{
  Rd r = { p, p + n, false };
  memset (out, 0, sizeof *out);
  out->kind = R_BAD;
  uint32_t ver = (uint32_t) get_i32 (&r);
  if ((ver & 0xffff0000u) != 0x80010000u) return;
  get_str (&r, NULL, 0);
  out->seqid = get_i32 (&r);
  uint8_t mtype = ver & 0xff;
  if (r.bad) return;
  if (mtype == 3)                       /* EXCEPTION: TApplicationException */
    {
      for (;;)
        {
          uint8_t t = get_u8 (&r);
          if (r.bad || t == T_STOP) break;
          int16_t id = get_i16 (&r);
          if (id == 2 && t == T_I32) out->code = get_i32 (&r);
          else skip (&r, t, 0);
        }
      if (!r.bad) out->kind = R_APP_EXCEPTION;
      return;
    }
  if (mtype != 2) return;
  uint8_t t = get_u8 (&r);
  if (r.bad || t != T_STRUCT) return;
  int16_t id = get_i16 (&r);
  if (id == 0)                           /* success */
    {
      for (;;)
        {
          uint8_t ft = get_u8 (&r);
          if (r.bad || ft == T_STOP) break;
          int16_t fid = get_i16 (&r);
          if (fid == 1 && ft == T_STRING) get_str (&r, out->str, sizeof out->str);
          else skip (&r, ft, 0);
        }
      if (!r.bad) out->kind = R_SUCCESS;
    }
  else if (id == 1)                      /* PaymentError */
    {
      for (;;)
        {
          uint8_t ft = get_u8 (&r);
          if (r.bad || ft == T_STOP) break;
          int16_t fid = get_i16 (&r);
          if (fid == 1 && ft == T_I32) out->code = get_i32 (&r);
          else skip (&r, ft, 0);
        }
      if (!r.bad) out->kind = R_PAYMENT_ERROR;
    }
}

/* ---- shared state ------------------------------------------------------------------------ */

#define VALID_CARD "4111111111111111"
#define INVALID_CARD "4111111111111112"      /* fails Luhn: 4004001 */

typedef struct { int64_t order_id; char txid[64]; } Order;

static Order   *orders;          /* query-hit: the pre-charged orders; refund: one per conn */
static int      n_orders;
static int64_t  id_base;         /* order ids of this run: id_base + conn * 1e8 + seq */
static char     run_tag[32];     /* refund_request_id prefix, unique per run */

static atomic_uint_fast64_t budget;          /* requests left in --requests mode */
static uint64_t t_start, t_measure, t_deadline;
static atomic_bool stopping;

typedef struct Conn Conn;
typedef struct Worker Worker;

struct Conn {
  int       fd;
  int       id;                  /* 0 .. connections-1 */
  Worker   *w;
  unsigned char wbuf[WBUF_SIZE];
  size_t    wlen, woff;
  unsigned char rbuf[RBUF_SIZE];
  size_t    rlen;
  int       inflight;
  uint64_t  sent[MAX_DEPTH];     /* intended (rate mode) or actual send times, a ring */
  int32_t   seqids[MAX_DEPTH];
  int       head;
  uint64_t  next_due;            /* rate mode: the next intended send time */
  uint64_t  interval;            /* rate mode: ns between sends on this connection */
  uint64_t  seq;                 /* requests sent on this connection */
  int32_t   seqid;
  bool      want_out;
  bool      dead;
};

struct Worker {
  pthread_t th;
  int       ep;
  Conn    **conns;
  int       n;
  int       live;                /* connections still open */
  Hist      lat;
  Kinds     errors;
  uint64_t  ok;
  uint64_t  last_done;           /* time of the last recorded reply */
};

static void conn_fail (Conn *c, const char *kind);

static bool may_send (void)
{
  if (atomic_load (&stopping))
    return false;
  if (opt.requests > 0)
    {
      uint_fast64_t left = atomic_load (&budget);
      while (left > 0)
        if (atomic_compare_exchange_weak (&budget, &left, left - 1))
          return true;
      return false;
    }
  return bench_now_ns () < t_deadline;
}

static void encode_next (Conn *c, Buf *b, int32_t seqid)
{
  uint64_t s = c->seq;
  int64_t order = id_base + (int64_t) c->id * 100000000 + (int64_t) s;
  switch (opt.scenario)
    {
    case SC_CHARGE_OK:
      encode_charge (b, seqid, 19.99, VALID_CARD, order, 1 + c->id);
      break;
    case SC_CHARGE_REJECTED:
      encode_charge (b, seqid, 19.99, INVALID_CARD, order, 1 + c->id);
      break;
    case SC_QUERY_HIT:
      encode_query_tx (b, seqid, orders[(c->id + s) % (uint64_t) n_orders].txid);
      break;
    case SC_QUERY_MISS:
      /* a range apart from anything charged: id_base + 99e9 + ... */
      encode_query_order (b, seqid, order + 99000000000LL);
      break;
    case SC_REFUND:
      {
        char rid[64];
        snprintf (rid, sizeof rid, "%s-%d-%" PRIu64, run_tag, c->id, s);
        encode_refund (b, seqid, orders[c->id % n_orders].txid, 0.01, rid);
        break;
      }
    }
  c->seq++;
}

static void conn_arm (Conn *c, bool want_out)
{
  if (c->want_out == want_out)
    return;
  struct epoll_event ev = { .events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c };
  epoll_ctl (c->w->ep, EPOLL_CTL_MOD, c->fd, &ev);
  c->want_out = want_out;
}

static void conn_flush (Conn *c)
{
  while (c->woff < c->wlen)
    {
      ssize_t k = send (c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
      if (k > 0) { c->woff += (size_t) k; continue; }
      if (k < 0 && errno == EINTR) continue;
      if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) { conn_arm (c, true); return; }
      conn_fail (c, "io-write");
      return;
    }
  c->wlen = c->woff = 0;
  conn_arm (c, false);
}

/* Sends as many requests as the pipeline depth and the schedule allow. */
static void conn_fill (Conn *c, uint64_t now)
{
  bool queued = false;
  while (!c->dead && c->inflight < opt.depth)
    {
      uint64_t t;
      if (opt.rate > 0)
        {
          if (c->next_due > now)
            break;
          t = c->next_due;
        }
      else
        t = now;
      if (c->wlen + 512 > WBUF_SIZE || !may_send ())
        break;
      if (opt.rate > 0)
        c->next_due += c->interval;
      Buf b = { c->wbuf, c->wlen, WBUF_SIZE };
      int32_t seqid = ++c->seqid;
      encode_next (c, &b, seqid);
      c->wlen = b.len;
      int slot = (c->head + c->inflight) % MAX_DEPTH;
      c->sent[slot] = t;
      c->seqids[slot] = seqid;
      c->inflight++;
      queued = true;
    }
  if (queued && c->woff == 0)
    conn_flush (c);
}

static void classify (Worker *w, const Reply *rep, uint64_t latency, bool record)
{
  int32_t want = scenarios[opt.scenario].expected_code;
  char kind[48];
  bool good = false;

  switch (rep->kind)
    {
    case R_SUCCESS:
      good = want == 0;
      snprintf (kind, sizeof kind, "unexpected-success");
      break;
    case R_PAYMENT_ERROR:
      good = want != 0 && rep->code == want;
      snprintf (kind, sizeof kind, "PaymentError-%d", rep->code);
      break;
    case R_APP_EXCEPTION:
      snprintf (kind, sizeof kind, "TApplicationException-%d", rep->code);
      break;
    default:
      snprintf (kind, sizeof kind, "undecodable-reply");
      break;
    }
  if (!record)
    return;
  hist_record (&w->lat, latency);
  if (good)
    w->ok++;
  else
    kinds_add (&w->errors, kind, 1);
}

static void conn_read (Conn *c)
{
  for (;;)
    {
      ssize_t k = recv (c->fd, c->rbuf + c->rlen, RBUF_SIZE - c->rlen, 0);
      if (k == 0) { conn_fail (c, "io-closed-by-server"); return; }
      if (k < 0)
        {
          if (errno == EINTR) continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK) break;
          conn_fail (c, "io-read");
          return;
        }
      c->rlen += (size_t) k;
      uint64_t now = bench_now_ns ();
      size_t off = 0;
      while (c->rlen - off >= 4)
        {
          uint32_t flen;
          memcpy (&flen, c->rbuf + off, 4);
          flen = ntohl (flen);
          if (flen + 4 > RBUF_SIZE) { conn_fail (c, "reply-too-large"); return; }
          if (c->rlen - off < flen + 4) break;
          Reply rep;
          decode_reply (c->rbuf + off + 4, flen, &rep);
          off += flen + 4;
          if (c->inflight == 0) { conn_fail (c, "reply-without-request"); return; }
          uint64_t sent = c->sent[c->head];
          if (rep.kind != R_BAD && rep.seqid != c->seqids[c->head])
            rep.kind = R_BAD;
          c->head = (c->head + 1) % MAX_DEPTH;
          c->inflight--;
          classify (c->w, &rep, now > sent ? now - sent : 0, sent >= t_measure);
          c->w->last_done = now;
        }
      if (off > 0)
        {
          memmove (c->rbuf, c->rbuf + off, c->rlen - off);
          c->rlen -= off;
        }
      if ((size_t) k < RBUF_SIZE)
        break;
    }
  conn_fill (c, bench_now_ns ());
}

static void conn_fail (Conn *c, const char *kind)
{
  if (c->dead)
    return;
  c->dead = true;
  /* the requests in flight are lost: count them under this kind */
  kinds_add (&c->w->errors, kind, c->inflight > 0 ? (uint64_t) c->inflight : 1);
  c->inflight = 0;
  epoll_ctl (c->w->ep, EPOLL_CTL_DEL, c->fd, NULL);
  close (c->fd);
  c->fd = -1;
  c->w->live--;
}

static int connect_to (void)
{
  struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai;
  char port[16];
  snprintf (port, sizeof port, "%d", opt.port);
  if (getaddrinfo (opt.host, port, &hints, &ai) != 0)
    return -1;
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  if (fd >= 0 && connect (fd, ai->ai_addr, ai->ai_addrlen) != 0)
    {
      close (fd);
      fd = -1;
    }
  freeaddrinfo (ai);
  if (fd >= 0)
    {
      int one = 1;
      setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
  return fd;
}

static int ep_wait (int ep, struct epoll_event *evs, int n, uint64_t timeout_ns)
{
#ifdef SYS_epoll_pwait2
  static bool no_pwait2;
  if (!no_pwait2)
    {
      struct timespec ts = { (time_t) (timeout_ns / 1000000000u), (long) (timeout_ns % 1000000000u) };
      long r = syscall (SYS_epoll_pwait2, ep, evs, n, &ts, NULL, 8);
      if (r >= 0 || errno != ENOSYS)
        return (int) r;
      no_pwait2 = true;
    }
#endif
  return epoll_wait (ep, evs, n, (int) ((timeout_ns + 999999) / 1000000));
}

static void *worker_main (void *arg)
{
  Worker *w = arg;
  struct epoll_event evs[256];
  uint64_t now = bench_now_ns ();

  for (int i = 0; i < w->n; i++)
    conn_fill (w->conns[i], now);

  for (;;)
    {
      now = bench_now_ns ();
      bool sending = !atomic_load (&stopping) && (opt.requests > 0 ? atomic_load (&budget) > 0 : now < t_deadline);
      int inflight = 0;
      for (int i = 0; i < w->n; i++)
        inflight += w->conns[i]->dead ? 0 : w->conns[i]->inflight;
      if (w->live == 0 || (!sending && inflight == 0))
        break;
      if (!sending && now > t_deadline + (uint64_t) (opt.timeout * 1e9) && opt.requests == 0)
        {
          kinds_add (&w->errors, "timeout", (uint64_t) inflight);
          break;
        }
      uint64_t timeout = 100000000;      /* 100 ms: re-check the clock */
      if (opt.rate > 0 && sending)
        for (int i = 0; i < w->n; i++)
          {
            Conn *c = w->conns[i];
            if (!c->dead && c->inflight < opt.depth)
              timeout = c->next_due > now ? (c->next_due - now < timeout ? c->next_due - now : timeout) : 0;
            if (timeout == 0) break;
          }
      int k = ep_wait (w->ep, evs, 256, timeout);
      if (k < 0 && errno != EINTR)
        break;
      for (int i = 0; i < k; i++)
        {
          Conn *c = evs[i].data.ptr;
          if (c->dead) continue;
          if (evs[i].events & (EPOLLERR | EPOLLHUP) && !(evs[i].events & EPOLLIN))
            { conn_fail (c, "io-hangup"); continue; }
          if (evs[i].events & EPOLLOUT)
            conn_flush (c);
          if (!c->dead && evs[i].events & EPOLLIN)
            conn_read (c);
        }
      if (opt.rate > 0)
        {
          now = bench_now_ns ();
          for (int i = 0; i < w->n; i++)
            if (!w->conns[i]->dead)
              conn_fill (w->conns[i], now);
        }
    }
  /* requests still in flight when we give up count as timeouts */
  for (int i = 0; i < w->n; i++)
    {
      Conn *c = w->conns[i];
      if (!c->dead && c->inflight > 0 && opt.requests > 0)
        kinds_add (&w->errors, "timeout", (uint64_t) c->inflight);
      if (c->fd >= 0)
        close (c->fd);
    }
  return NULL;
}

/* ---- set-up: blocking calls on one connection ------------------------------------------ */

static bool call_blocking (int fd, Buf *req, Reply *rep)
{
  size_t off = 0;
  while (off < req->len)
    {
      ssize_t k = send (fd, req->p + off, req->len - off, MSG_NOSIGNAL);
      if (k <= 0) { if (k < 0 && errno == EINTR) continue; return false; }
      off += (size_t) k;
    }
  unsigned char hdr[4];
  size_t got = 0;
  while (got < 4)
    {
      ssize_t k = recv (fd, hdr + got, 4 - got, 0);
      if (k <= 0) { if (k < 0 && errno == EINTR) continue; return false; }
      got += (size_t) k;
    }
  uint32_t n;
  memcpy (&n, hdr, 4);
  n = ntohl (n);
  if (n > RBUF_SIZE) return false;
  unsigned char *body = malloc (n);
  got = 0;
  while (got < n)
    {
      ssize_t k = recv (fd, body + got, n - got, 0);
      if (k <= 0) { if (k < 0 && errno == EINTR) continue; free (body); return false; }
      got += (size_t) k;
    }
  decode_reply (body, n, rep);
  free (body);
  return true;
}

/* Charges @n orders (ids in a range of their own) and keeps their transaction ids. */
static int setup_orders (int n, double amount)
{
  int fd = connect_to ();
  if (fd < 0)
    {
      fprintf (stderr, "payment-bench: cannot connect to %s:%d for set-up: %s\n", opt.host, opt.port, strerror (errno));
      return -1;
    }
  orders = calloc ((size_t) n, sizeof *orders);
  unsigned char mem[1024];
  for (int i = 0; i < n; i++)
    {
      Buf b = { mem, 0, sizeof mem };
      Reply rep;
      orders[i].order_id = id_base + 98000000000LL + i;
      encode_charge (&b, i + 1, amount, VALID_CARD, orders[i].order_id, 1);
      if (!call_blocking (fd, &b, &rep) || rep.kind != R_SUCCESS || rep.str[0] == 0)
        {
          fprintf (stderr, "payment-bench: set-up charge %d failed (reply kind %d, code %d)\n", i, rep.kind, rep.code);
          close (fd);
          return -1;
        }
      snprintf (orders[i].txid, sizeof orders[i].txid, "%s", rep.str);
    }
  close (fd);
  n_orders = n;
  if (opt.write_ids != NULL)
    {
      FILE *f = fopen (opt.write_ids, "w");
      if (f == NULL) { perror (opt.write_ids); return -1; }
      for (int i = 0; i < n; i++)
        fprintf (f, "%" PRId64 " %s\n", orders[i].order_id, orders[i].txid);
      fclose (f);
    }
  return 0;
}

/* ---- trickle: one large bare (buffered) message, whole and in small writes ------------- */

/* A buffered (unframed) Charge of about @size bytes, answered 4004001 without I/O (the
 * card fails Luhn), whose arguments carry, in a field the IDL does not have, a list of
 * small structs: many tokens, the shape that made a scan starting over on each read cost
 * the square of the size. */
static void encode_trickle_charge (Buf *b, int32_t seqid, size_t size)
{
  static const size_t element = 19;            /* struct { 1: string "abcd"; 2: i32 } */
  size_t count = size > 200 ? (size - 200) / element : 0;

  put_i32 (b, (int32_t) 0x80010001u);
  put_str (b, "Charge");
  put_i32 (b, seqid);
  put_field (b, T_LIST, 99);
  put_u8 (b, T_STRUCT);
  put_i32 (b, (int32_t) count);
  for (size_t i = 0; i < count; i++)
    {
      put_field (b, T_STRING, 1); put_str (b, "abcd");
      put_field (b, T_I32, 2); put_i32 (b, (int32_t) i);
      put_u8 (b, T_STOP);
    }
  put_field (b, T_STRUCT, 1);                  /* args.req */
  put_charge_fields (b, 1.00, INVALID_CARD, id_base, 1);
  put_u8 (b, T_STOP);                          /* end of req */
  put_u8 (b, T_STOP);                          /* end of args */
}

/* Sends @req in writes of @piece bytes (0: one write) @gap_us apart, then reads the bare
 * reply. The gap lets the server read each write on its own, as it would from a slow
 * sender; without it the writes pile up in the socket and are read together. */
static bool trickle_call (int fd, const Buf *req, size_t piece, unsigned gap_us, Reply *rep)
{
  size_t off = 0;
  while (off < req->len)
    {
      size_t n = piece == 0 || req->len - off < piece ? req->len - off : piece;
      ssize_t k = send (fd, req->p + off, n, MSG_NOSIGNAL);
      if (k <= 0) { if (k < 0 && errno == EINTR) continue; return false; }
      off += (size_t) k;
      if (piece != 0 && gap_us > 0)
        sleep_until_ns (bench_now_ns () + gap_us * 1000ull);
    }
  unsigned char buf[4096];
  size_t got = 0;
  do
    {
      ssize_t k = recv (fd, buf + got, sizeof buf - got, 0);
      if (k <= 0) { if (k < 0 && errno == EINTR) continue; return false; }
      got += (size_t) k;
      decode_reply (buf, got, rep);   /* a bare reply ends where it decodes whole */
    }
  while (rep->kind == R_BAD && got < sizeof buf);
  return rep->kind == R_PAYMENT_ERROR && rep->code == 4004001;
}

/* --trickle: opt.requests messages of @size bytes sent whole, then the same number in
 * writes of @piece bytes, one connection; CPU of every --cpu process per message and
 * per byte, for each. */
static int run_trickle (size_t size, size_t piece, unsigned gap_us, CpuProbes *cpu)
{
  Buf b = { malloc (size + 1024), 0, size + 1024 };
  uint64_t n = opt.requests > 0 ? opt.requests : 5;
  const size_t pieces[2] = { 0, piece };
  int fd = connect_to ();

  if (fd < 0)
    {
      fprintf (stderr, "payment-bench: cannot connect to %s:%d: %s\n", opt.host, opt.port, strerror (errno));
      return 1;
    }
  encode_trickle_charge (&b, 1, size);
  printf ("trickle: one bare (buffered) Charge of %zu bytes, %" PRIu64 " times each way, answered 4004001;"
          " writes %u us apart\n", b.len, n, gap_us);
  for (int mode = 0; mode < 2; mode++)
    {
      uint64_t t0 = bench_now_ns ();
      cpu_probes_sample (cpu, false);
      for (uint64_t i = 0; i < n; i++)
        {
          Reply rep;
          if (!trickle_call (fd, &b, pieces[mode], gap_us, &rep))
            {
              fprintf (stderr, "payment-bench: trickle call failed (reply kind %d, code %d)\n", rep.kind, rep.code);
              return 1;
            }
        }
      cpu_probes_sample (cpu, true);
      double wall = (double) (bench_now_ns () - t0) / 1e9;
      if (pieces[mode] == 0)
        printf ("  %-18s", "whole (one write)");
      else
        printf ("  %5zu-byte writes  ", pieces[mode]);
      printf (" wall %8.3f ms/msg", wall * 1e3 / (double) n);
      for (int p = 0; p < cpu->n; p++)
        {
          double s = (cpu->end[p] - cpu->start[p]) / (double) n;
          printf ("   %s CPU %9.3f ms/msg %8.2f ns/byte", cpu->name[p], s * 1e3, s * 1e9 / (double) b.len);
        }
      printf ("\n");
    }
  close (fd);
  free (b.p);
  return 0;
}

/* ---- main ----------------------------------------------------------------------------------- */

static void usage (FILE *f)
{
  fprintf (f,
    "usage: payment-bench [options]\n"
    "  --host H            service address (127.0.0.1)\n"
    "  --port P            Thrift port (8885)\n"
    "  --scenario S        charge-ok | charge-rejected | query-hit | query-miss | refund\n"
    "  --connections N     connections (1), at most %d\n"
    "  --depth D           requests in flight per connection (1 = Kitex-like), at most %d\n"
    "  --threads T         epoll threads (min(N, nproc))\n"
    "  --duration S        seconds to send for (10)\n"
    "  --requests N        send exactly N requests instead of --duration\n"
    "  --rate R            fixed rate, requests/s in total; latency from the intended send time\n"
    "  --warmup S          seconds at the start whose replies are not recorded (0)\n"
    "  --setup-orders K    query-hit: orders charged before the run (64)\n"
    "  --setup-amount A    amount of each set-up charge (query-hit 19.99, refund 900000.00)\n"
    "  --write-ids FILE    write the set-up orders as 'order_id transaction_id' lines\n"
    "  --setup-only        do the set-up (and --write-ids), send nothing else\n"
    "  --order-base B      first order id (default: derived from the clock)\n"
    "  --timeout S         seconds to wait for outstanding replies at the end (5)\n"
    "  --cpu NAME:PID,...  also report CPU per ok reply of this process and of these\n"
    "                      (JSON cpu_us_per_ok; --duration runs only)\n"
    "  --trickle BYTES     instead of a scenario: one bare (buffered) Charge of BYTES sent\n"
    "                      whole, then in --write-bytes writes, --requests times each (5),\n"
    "                      on one connection; prints CPU per message and per byte of every\n"
    "                      --cpu process (give the service's pid) for each\n"
    "  --write-bytes N     --trickle: bytes per write (100)\n"
    "  --write-gap-us U    --trickle: microseconds between those writes (50)\n"
    "  --json              one JSON line instead of the table\n", MAX_CONNS, MAX_DEPTH);
}

int main (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "host", required_argument, 0, 'h' }, { "port", required_argument, 0, 'p' },
    { "scenario", required_argument, 0, 's' }, { "connections", required_argument, 0, 'c' },
    { "depth", required_argument, 0, 'd' }, { "threads", required_argument, 0, 't' },
    { "duration", required_argument, 0, 'D' }, { "requests", required_argument, 0, 'n' },
    { "rate", required_argument, 0, 'r' }, { "warmup", required_argument, 0, 'w' },
    { "setup-orders", required_argument, 0, 'k' }, { "write-ids", required_argument, 0, 'W' },
    { "setup-amount", required_argument, 0, 'A' },
    { "setup-only", no_argument, 0, 'S' }, { "order-base", required_argument, 0, 'b' },
    { "timeout", required_argument, 0, 'T' }, { "json", no_argument, 0, 'j' },
    { "cpu", required_argument, 0, 'C' },
    { "trickle", required_argument, 0, 'L' }, { "write-bytes", required_argument, 0, 'B' },
    { "write-gap-us", required_argument, 0, 'G' },
    { "help", no_argument, 0, '?' }, { 0, 0, 0, 0 }
  };
  CpuProbes cpu = { 0 };
  size_t trickle = 0, write_bytes = 100;
  unsigned write_gap_us = 50;
  int ch;
  while ((ch = getopt_long (argc, argv, "", longopts, NULL)) != -1)
    switch (ch)
      {
      case 'h': opt.host = optarg; break;
      case 'p': opt.port = atoi (optarg); break;
      case 's':
        {
          bool found = false;
          for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
            if (strcmp (optarg, scenarios[i].name) == 0) { opt.scenario = (Scenario) i; found = true; }
          if (!found) { fprintf (stderr, "payment-bench: unknown scenario %s\n", optarg); return 2; }
          break;
        }
      case 'c': opt.connections = atoi (optarg); break;
      case 'd': opt.depth = atoi (optarg); break;
      case 't': opt.threads = atoi (optarg); break;
      case 'D': opt.duration = atof (optarg); break;
      case 'n': opt.requests = strtoull (optarg, NULL, 10); break;
      case 'r': opt.rate = atof (optarg); break;
      case 'w': opt.warmup = atof (optarg); break;
      case 'k': opt.setup_orders = atoi (optarg); break;
      case 'A': opt.setup_amount = atof (optarg); break;
      case 'W': opt.write_ids = optarg; break;
      case 'S': opt.setup_only = true; break;
      case 'b': opt.order_base = strtoll (optarg, NULL, 10); break;
      case 'T': opt.timeout = atof (optarg); break;
      case 'j': opt.json = true; break;
      case 'L': trickle = strtoull (optarg, NULL, 10); break;
      case 'B': write_bytes = strtoull (optarg, NULL, 10); break;
      case 'G': write_gap_us = (unsigned) strtoul (optarg, NULL, 10); break;
      case 'C':
        if (!cpu_probes_parse (&cpu, optarg))
          { fprintf (stderr, "payment-bench: --cpu wants name:pid,...\n"); return 2; }
        break;
      default: usage (ch == '?' ? stdout : stderr); return ch == '?' ? 0 : 2;
      }
  if (opt.connections < 1 || opt.connections > MAX_CONNS || opt.depth < 1 || opt.depth > MAX_DEPTH ||
      opt.duration <= 0 || opt.rate < 0 || opt.setup_orders < 1)
    {
      usage (stderr);
      return 2;
    }
  if (opt.threads <= 0)
    {
      long cpus = sysconf (_SC_NPROCESSORS_ONLN);
      opt.threads = cpus > 0 ? (int) cpus : 1;
    }
  if (opt.threads > opt.connections)
    opt.threads = opt.connections;
  signal (SIGPIPE, SIG_IGN);

  /* Order ids: 100 ms ticks (mod 5e7, ~58 days) × 1e11, + connection × 1e8 + sequence. */
  struct timespec rt;
  clock_gettime (CLOCK_REALTIME, &rt);
  uint64_t ticks = (uint64_t) rt.tv_sec * 10 + (uint64_t) rt.tv_nsec / 100000000;
  id_base = opt.order_base > 0 ? opt.order_base : (int64_t) (ticks % 50000000) * 100000000000LL + 1;
  snprintf (run_tag, sizeof run_tag, "b%" PRIx64 "-%d", ticks, (int) getpid ());

  if (trickle > 0)
    {
      if (cpu.n == 0)
        cpu_probes_parse (&cpu, "");
      return run_trickle (trickle, write_bytes > 0 ? write_bytes : 100, write_gap_us, &cpu);
    }
  if (opt.scenario == SC_QUERY_HIT || opt.setup_only)
    {
      if (setup_orders (opt.setup_orders, opt.setup_amount > 0 ? opt.setup_amount : 19.99) != 0)
        return 1;
    }
  else if (opt.scenario == SC_REFUND)
    {
      if (setup_orders (opt.connections, opt.setup_amount > 0 ? opt.setup_amount : 900000.00) != 0)
        return 1;
    }
  if (opt.setup_only)
    return 0;

  Worker *workers = calloc ((size_t) opt.threads, sizeof *workers);
  Conn **conns = calloc ((size_t) opt.connections, sizeof *conns);
  for (int t = 0; t < opt.threads; t++)
    {
      workers[t].ep = epoll_create1 (EPOLL_CLOEXEC);
      workers[t].conns = calloc ((size_t) opt.connections, sizeof (Conn *));
    }
  for (int i = 0; i < opt.connections; i++)
    {
      Conn *c = calloc (1, sizeof *c);
      c->id = i;
      c->fd = connect_to ();
      if (c->fd < 0)
        {
          fprintf (stderr, "payment-bench: cannot connect to %s:%d: %s\n", opt.host, opt.port, strerror (errno));
          return 1;
        }
      fcntl (c->fd, F_SETFL, fcntl (c->fd, F_GETFL) | O_NONBLOCK);
      Worker *w = &workers[i % opt.threads];
      c->w = w;
      w->conns[w->n++] = c;
      w->live++;
      struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
      epoll_ctl (w->ep, EPOLL_CTL_ADD, c->fd, &ev);
      conns[i] = c;
    }

  t_start = bench_now_ns ();
  t_measure = t_start + (uint64_t) (opt.warmup * 1e9);
  t_deadline = t_start + (uint64_t) ((opt.warmup + opt.duration) * 1e9);
  atomic_store (&budget, opt.requests);
  if (opt.rate > 0)
    for (int i = 0; i < opt.connections; i++)
      {
        conns[i]->interval = (uint64_t) (1e9 * opt.connections / opt.rate);
        /* spread the connections' schedules over one interval */
        conns[i]->next_due = t_start + conns[i]->interval * (uint64_t) i / (uint64_t) opt.connections;
      }

  for (int t = 0; t < opt.threads; t++)
    pthread_create (&workers[t].th, NULL, worker_main, &workers[t]);
  if (opt.requests == 0 && cpu.n > 0)
    {
      sleep_until_ns (t_measure);
      cpu_probes_sample (&cpu, false);
      sleep_until_ns (t_deadline);
      cpu_probes_sample (&cpu, true);
    }
  for (int t = 0; t < opt.threads; t++)
    pthread_join (workers[t].th, NULL);

  Hist *lat = calloc (1, sizeof *lat);
  Kinds errors = { 0 };
  uint64_t ok = 0, last = t_measure;
  for (int t = 0; t < opt.threads; t++)
    {
      hist_merge (lat, &workers[t].lat);
      kinds_merge (&errors, &workers[t].errors);
      ok += workers[t].ok;
      if (workers[t].last_done > last)
        last = workers[t].last_done;
    }
  /* The window: from the first recorded send to the last reply (closed loop); for a fixed
   * number of requests the same. */
  double seconds = (double) (last - t_measure) / 1e9;

  /* Query and refund answered with TApplicationException only: not implemented yet. */
  uint64_t nerr = kinds_total (&errors);
  const char *status = nerr == 0 ? "ok" : "errors";
  if (ok == 0 && nerr > 0)
    {
      uint64_t app = 0;
      for (int i = 0; i < errors.n; i++)
        if (strncmp (errors.name[i], "TApplicationException", 21) == 0)
          app += errors.count[i];
      if (app == nerr)
        status = "not-implemented";
    }
  Report r = {
    .scenario = scenarios[opt.scenario].name, .transport = "rpc", .status = status,
    .connections = opt.connections, .depth = opt.depth, .rate = opt.rate,
    .seconds = seconds, .ok = ok, .cpu = &cpu,
  };
  report_print (stdout, &r, lat, &errors, opt.json);
  return 0;
}
