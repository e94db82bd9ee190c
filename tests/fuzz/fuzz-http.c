/* fuzz-http.c: libFuzzer target for the HTTP layer as production runs it: the real
 * SoupServer with our routes (PayHttpServer), the body limit, chunked bodies, query
 * strings, the JSON codec and PayService, over one end of a socketpair. Storage is the
 * in-memory fakes of tests/unit (emptied before each input, so inputs do not depend on
 * each other); nothing leaves the process.
 *
 * Each input is the byte stream a client sends on one connection (pipelined requests
 * included), after one expansion: "\0R" followed by a 3-byte big-endian count and a byte
 * stands for that byte repeated count times (up to FUZZ_MAX_EXPANDED bytes in all), so
 * that small inputs reach the 64 KiB body limit and the 1 MiB drain limit. The client
 * writes it all, then shuts its side for writing. Asserted, for every input, within a
 * bounded number of main-context iterations (and FUZZ_WATCHDOG_SECONDS without any
 * event): never a hang, that is
 * - the server closes the connection: the client shuts its side down after the input, so
 *   every connection ends, whole requests answered or not. libsoup 3.2.3 alone never
 *   closes an idle keep-alive connection whose client closed or shut it down (fixed
 *   upstream in 3.3.0, "server: do not leak idle connections closed by the client");
 *   PayHttpConnection takes such a connection back from libsoup and closes it, so the
 *   close is required here too;
 * - what it sent back is a sequence of well-formed HTTP/1.x responses (status line,
 *   headers, a body of its Content-Length or in well-formed chunks).
 * Each input gets a server of its own (a fresh PayHttpServer and PayMetrics; stopping it
 * disconnects whatever libsoup kept), so no state leaks from one input to the next. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "core/pay-metrics.h"
#include "domain/pay-service.h"
#include "transport/http/pay-http-server.h"
#include "unit/fake-payment-cache.h"
#include "unit/fake-payment-store.h"

#include "fuzz-common.h"

/* Largest stream an input expands to: past the body limit plus the drain limit. */
#define FUZZ_MAX_EXPANDED (2 * 1024 * 1024)
/* Main-context iterations an input may take before it counts as a hang. */
#define FUZZ_MAX_ITERATIONS 100000
/* Seconds without any event before an input counts as a hang. */
#define FUZZ_WATCHDOG_SECONDS 5

static FakePaymentStore *store;
static FakePaymentCache *cache;
static PayService       *service;
static guint16           next_port = 1;

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  PayServiceSettings settings = { .max_amount_cents = G_GINT64_CONSTANT (100000000),
                                  .cache_required = FALSE };

  fuzz_init_glib ();
  store = fake_payment_store_new (NULL);
  cache = fake_payment_cache_new (NULL);
  cache->available = TRUE;
  service = pay_service_new (PAY_PAYMENT_STORE (store), PAY_PAYMENT_CACHE (cache), &settings);
  return 0;
}

/* ---- the input, expanded ---------------------------------------------------------- */

static GByteArray *
expand (const guint8 *data, gsize size)
{
  GByteArray *out = g_byte_array_new ();

  for (gsize i = 0; i < size; i++)
    {
      if (data[i] == 0 && i + 5 < size && data[i + 1] == 'R')
        {
          guint count = (guint) data[i + 2] << 16 | (guint) data[i + 3] << 8 | data[i + 4];
          guint room = FUZZ_MAX_EXPANDED - MIN (out->len, FUZZ_MAX_EXPANDED);
          guint old = out->len;

          count = MIN (count, room);
          /* A run of 0 at the start leaves out->data NULL: memset must not see it. */
          if (count > 0)
            {
              g_byte_array_set_size (out, old + count);
              memset (out->data + old, data[i + 5], count);
            }
          i += 5;
          continue;
        }
      if (out->len < FUZZ_MAX_EXPANDED)
        g_byte_array_append (out, &data[i], 1);
    }
  return out;
}

/* ---- the client end --------------------------------------------------------------- */

typedef struct {
  int         fd;
  GByteArray *input;
  gsize       written;
  gboolean    write_shut;
  guint       writer;      /* a writability watch while the socket's buffer is full */
  GByteArray *reply;
  gboolean    closed;      /* the server closed (EOF or reset) */
  gboolean    watchdog;    /* no event for FUZZ_WATCHDOG_SECONDS */
} Client;

static gboolean on_client_writable (gint fd, GIOCondition condition, gpointer user_data);

/* Writes what the socket takes, then waits for room (c->writer); shuts the write side
 * once everything is out, or when the server no longer reads (it shut its side down:
 * the drain limit). */
static void
client_write (Client *c)
{
  while (!c->write_shut && c->written < c->input->len)
    {
      ssize_t n = send (c->fd, c->input->data + c->written, c->input->len - c->written,
                        MSG_NOSIGNAL | MSG_DONTWAIT);

      if (n > 0)
        c->written += (gsize) n;
      else if (n < 0 && errno == EINTR)
        continue;
      else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        {
          if (c->writer == 0)
            c->writer = g_unix_fd_add (c->fd, G_IO_OUT | G_IO_ERR | G_IO_HUP,
                                       on_client_writable, c);
          return;
        }
      else
        break;   /* EPIPE / ECONNRESET: the server is done reading */
    }
  if (!c->write_shut)
    {
      shutdown (c->fd, SHUT_WR);
      c->write_shut = TRUE;
    }
}

static gboolean
on_client_writable (gint fd, GIOCondition condition, gpointer user_data)
{
  Client *c = user_data;

  c->writer = 0;
  client_write (c);
  return G_SOURCE_REMOVE;
}

static gboolean
on_client_readable (gint fd, GIOCondition condition, gpointer user_data)
{
  Client *c = user_data;
  guint8 buf[16384];

  for (;;)
    {
      ssize_t n = recv (fd, buf, sizeof buf, MSG_DONTWAIT);

      if (n > 0)
        {
          g_byte_array_append (c->reply, buf, (guint) n);
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return G_SOURCE_CONTINUE;
      c->closed = TRUE;   /* EOF, or a reset */
      return G_SOURCE_REMOVE;
    }
}

static gboolean
on_watchdog (gpointer user_data)
{
  Client *c = user_data;

  c->watchdog = TRUE;
  return G_SOURCE_CONTINUE;
}

/* ---- checking the replies --------------------------------------------------------- */

static void
fail (const gchar *what, const GByteArray *reply, gsize at)
{
  g_autofree gchar *shown = g_strescape ((const gchar *) reply->data + at, NULL);

  fprintf (stderr, "fuzz-http: %s at byte %" G_GSIZE_FORMAT " of the reply: %.300s\n",
           what, at, shown);
  abort ();
}

/* One header's value in the head [@head, @end), or NULL. */
static gchar *
header_value (const gchar *head, const gchar *name)
{
  g_autofree gchar *needle = g_strdup_printf ("\r\n%s:", name);
  g_autofree gchar *lower = g_ascii_strdown (head, -1);
  g_autofree gchar *lower_needle = g_ascii_strdown (needle, -1);
  const gchar *found = strstr (lower, lower_needle);
  const gchar *value, *eol;

  if (found == NULL)
    return NULL;
  value = head + (found - lower) + strlen (needle);
  eol = strstr (value, "\r\n");
  return g_strstrip (g_strndup (value, eol != NULL ? (gsize) (eol - value) : strlen (value)));
}

/* A chunked body at @at; returns the offset after it. */
static gsize
skip_chunked (const GByteArray *reply, gsize at)
{
  const gchar *text = (const gchar *) reply->data;

  for (;;)
    {
      const gchar *eol = g_strstr_len (text + at, (gssize) (reply->len - at), "\r\n");
      guint64 size;
      gchar *end;

      if (eol == NULL)
        fail ("a chunk size line without its end", reply, at);
      size = g_ascii_strtoull (text + at, &end, 16);
      if (end == text + at)
        fail ("a bad chunk size", reply, at);
      at = (gsize) (eol - text) + 2;
      if (size == 0)
        {
          if (reply->len - at < 2 || memcmp (text + at, "\r\n", 2) != 0)
            fail ("a chunked body without its last CRLF", reply, at);
          return at + 2;
        }
      if (reply->len - at < size + 2 || memcmp (text + at + size, "\r\n", 2) != 0)
        fail ("a chunk cut short", reply, at);
      at += size + 2;
    }
}

/* The responses in @reply, one after another; each must be whole. */
static void
check_replies (GByteArray *reply)
{
  gsize at = 0;

  g_byte_array_append (reply, (const guint8 *) "", 1);   /* a NUL for the string calls */
  g_byte_array_set_size (reply, reply->len - 1);
  while (at < reply->len)
    {
      const gchar *text = (const gchar *) reply->data + at;
      const gchar *end = g_strstr_len (text, (gssize) (reply->len - at), "\r\n\r\n");
      g_autofree gchar *head = NULL;
      g_autofree gchar *length = NULL;
      g_autofree gchar *encoding = NULL;
      guint status;

      if (end == NULL)
        fail ("a response head without its end", reply, at);
      head = g_strndup (text, (gsize) (end - text) + 2);
      if (!g_str_has_prefix (head, "HTTP/1.1 ") && !g_str_has_prefix (head, "HTTP/1.0 "))
        fail ("no status line", reply, at);
      status = (guint) g_ascii_strtoull (head + 9, NULL, 10);
      if (status < 100 || status > 599 || head[12] != ' ')
        fail ("a bad status code", reply, at);
      at += (gsize) (end - text) + 4;
      if (status < 200)
        continue;   /* 100 Continue: no body */
      encoding = header_value (head, "Transfer-Encoding");
      length = header_value (head, "Content-Length");
      if (encoding != NULL && g_ascii_strcasecmp (encoding, "chunked") == 0)
        at = skip_chunked (reply, at);
      else if (length != NULL)
        {
          guint64 n = g_ascii_strtoull (length, NULL, 10);

          /* A HEAD request's response declares a length and has no body: what follows
           * is then the next response, or nothing. */
          if (reply->len - at >= 7 && memcmp (reply->data + at, "HTTP/1.", 7) == 0 && n > 0)
            continue;
          if (at == reply->len)
            continue;
          if (reply->len - at < n)
            fail ("a body shorter than its Content-Length", reply, at);
          at += n;
        }
      else if (status != 204 && status != 304)
        at = reply->len;   /* a body that runs to the close */
    }
}

/* ---- one input -------------------------------------------------------------------- */

static void
reset_storage (void)
{
  g_array_set_size (store->payments, 0);
  g_array_set_size (store->refunds, 0);
  g_array_set_size (cache->records, 0);
}

/* Hands the server end of a socketpair to @server, as its listener would. */
static int
connect_client (PayHttpServer *server)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) local = g_inet_socket_address_new (loopback, 8005);
  g_autoptr(GSocketAddress) remote = NULL;
  int fds[2];

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    abort ();
  /* A peer address of its own per connection, as the server keys sockets by it. */
  remote = g_inet_socket_address_new (loopback, next_port++);
  if (next_port == 0)
    next_port = 1;
  socket = g_socket_new_from_fd (fds[0], &error);
  if (socket == NULL)
    abort ();
  connection = g_socket_connection_factory_create_connection (socket);
  if (!pay_http_server_accept_connection (server, connection, local, remote, &error))
    {
      fprintf (stderr, "fuzz-http: %s\n", error->message);
      abort ();
    }
  fcntl (fds[1], F_SETFL, fcntl (fds[1], F_GETFL) | O_NONBLOCK);
  return fds[1];
}

static void
show_statuses (const Client *c)
{
  g_autofree gchar *text = g_strndup ((const gchar *) c->reply->data, c->reply->len);

  fprintf (stderr, "fuzz-http: %u bytes in, %s:", c->input->len,
           c->closed ? "closed" : "idle keep-alive");
  for (const gchar *p = text; (p = strstr (p, "HTTP/1.")) != NULL; p += 7)
    fprintf (stderr, " %.3s", p + 9);
  fprintf (stderr, "\n");
}

/* Whether the exchange is over: the server closed (see the top of the file). Aborts on
 * a hang, and when nothing is left to happen and the connection is still open. */
static gboolean
exchange_over (Client *c, PayHttpServer *server, guint iterations)
{
  if (c->closed)
    return TRUE;
  if (iterations > FUZZ_MAX_ITERATIONS || c->watchdog)
    {
      fprintf (stderr, "fuzz-http: neither a close nor idle after %u iterations (%"
               G_GSIZE_FORMAT " of %u bytes written, %u read)\n", iterations, c->written,
               c->input->len, c->reply->len);
      abort ();
    }
  if (g_main_context_pending (NULL))
    return FALSE;
  /* Nothing will happen any more, and the connection is open. */
  fprintf (stderr, "fuzz-http: stuck with %" G_GSIZE_FORMAT " of %u bytes written and "
           "%u request(s) in flight, no close\n", c->written, c->input->len,
           pay_http_server_get_active_count (server));
  abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  Client c = { .input = expand (data, size), .reply = g_byte_array_new () };
  g_autoptr(PayMetrics) metrics = pay_metrics_new ();
  PayHttpServer *server = pay_http_server_new (service, metrics, NULL);
  guint reader, watchdog;
  guint iterations = 0;

  reset_storage ();
  c.fd = connect_client (server);
  reader = g_unix_fd_add (c.fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_client_readable, &c);
  watchdog = g_timeout_add_seconds (FUZZ_WATCHDOG_SECONDS, on_watchdog, &c);

  client_write (&c);
  while (!exchange_over (&c, server, ++iterations))
    g_main_context_iteration (NULL, TRUE);
  if (!c.closed)
    g_source_remove (reader);
  if (c.writer != 0)
    g_source_remove (c.writer);
  g_source_remove (watchdog);
  check_replies (c.reply);
  /* FUZZ_HTTP_SHOW=1: the status lines, to see what a seed exercises. */
  if (g_getenv ("FUZZ_HTTP_SHOW") != NULL)
    show_statuses (&c);

  close (c.fd);
  pay_http_server_stop (server);
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
  if (pay_http_server_get_active_count (server) != 0)
    {
      fprintf (stderr, "fuzz-http: %u request(s) still in flight after the close\n",
               pay_http_server_get_active_count (server));
      abort ();
    }
  g_object_unref (server);
  g_byte_array_unref (c.input);
  g_byte_array_unref (c.reply);
  return 0;
}
