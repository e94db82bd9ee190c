/* floor-rpc: the transport floor of the Thrift port on this machine. A one-thread epoll
 * server that answers every Framed strict-binary call at once with the same PaymentError
 * (4004001, what the service answers a card failing Luhn), doing no other work.
 *
 * It is a reference row of ./scripts/bench, not a server of the product: payment-bench's
 * charge-rejected scenario against it measures what one thread and the kernel's loopback
 * TCP cost per request here (read, write, wake-ups), the part of a no-I/O request no
 * service code can remove. The service's own charge-rejected rate is reported against it.
 *
 * Usage: floor-rpc [--host 127.0.0.1] [--port 0]
 * Prints "listening on HOST:PORT" (port 0: a free one) once it accepts, and runs until
 * SIGINT or SIGTERM.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define RBUF_SIZE (64 * 1024)
#define WBUF_SIZE (64 * 1024)
#define MAX_MESSAGE 4096          /* larger frames are not what payment-bench sends: closed */
#define MAX_EVENTS 256

static const char error_message[] = "invalid card number";

typedef struct {
  int           fd;
  size_t        rlen;
  unsigned char rbuf[RBUF_SIZE];
  size_t        wlen;
  unsigned char wbuf[WBUF_SIZE];
} Conn;

static volatile sig_atomic_t stop;

static void on_signal (int sig) { (void) sig; stop = 1; }

static void put (unsigned char **p, const void *data, size_t n) { memcpy (*p, data, n); *p += n; }
static void put_u8 (unsigned char **p, uint8_t v) { put (p, &v, 1); }
static void put_i16 (unsigned char **p, int16_t v) { uint16_t x = htons ((uint16_t) v); put (p, &x, 2); }
static void put_i32 (unsigned char **p, int32_t v) { uint32_t x = htonl ((uint32_t) v); put (p, &x, 4); }
static int32_t get_i32 (const unsigned char *p) { uint32_t x; memcpy (&x, p, 4); return (int32_t) ntohl (x); }

/* Appends the reply to the call @msg (@len bytes, without the frame length) to c->wbuf.
 * FALSE: not a strict-binary call this server can answer. */
static bool
answer (Conn *c, const unsigned char *msg, size_t len)
{
  if (len < 12 || ((uint32_t) get_i32 (msg) & 0xffff0000u) != 0x80010000u)
    return false;
  int32_t name_len = get_i32 (msg + 4);
  if (name_len < 0 || (size_t) name_len > len - 12)
    return false;
  int32_t seqid = get_i32 (msg + 8 + name_len);
  size_t body = 4 + 4 + (size_t) name_len + 4            /* version, name, seqid */
                + 3 + 3 + 4 + 3 + 4 + sizeof error_message - 1 + 1 + 1;
  if (c->wlen + 4 + body > sizeof c->wbuf)
    return false;
  unsigned char *p = c->wbuf + c->wlen;
  put_i32 (&p, (int32_t) body);
  put_i32 (&p, (int32_t) 0x80010002u);                   /* REPLY */
  put_i32 (&p, name_len);
  put (&p, msg + 8, (size_t) name_len);
  put_i32 (&p, seqid);
  put_u8 (&p, 12); put_i16 (&p, 1);                      /* result.err: PaymentError */
  put_u8 (&p, 8); put_i16 (&p, 1); put_i32 (&p, 4004001); /* code */
  put_u8 (&p, 11); put_i16 (&p, 2);                      /* message */
  put_i32 (&p, (int32_t) (sizeof error_message - 1));
  put (&p, error_message, sizeof error_message - 1);
  put_u8 (&p, 0);                                        /* end of PaymentError */
  put_u8 (&p, 0);                                        /* end of result */
  c->wlen = (size_t) (p - c->wbuf);
  return true;
}

/* Reads what is there, answers every whole frame, writes the replies in one go (epoll is
 * level-triggered: whatever is left to read is reported again). FALSE: the connection is
 * over. */
static bool
serve (Conn *c)
{
  ssize_t n;

  do
    n = read (c->fd, c->rbuf + c->rlen, sizeof c->rbuf - c->rlen);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN)
    return true;
  if (n <= 0)
    return false;
  c->rlen += (size_t) n;

  size_t off = 0;
  while (c->rlen - off >= 4)
    {
      int32_t flen = get_i32 (c->rbuf + off);
      if (flen < 0 || flen > MAX_MESSAGE)
        return false;
      if (c->rlen - off - 4 < (size_t) flen)
        break;
      if (!answer (c, c->rbuf + off + 4, (size_t) flen))
        return false;
      off += 4 + (size_t) flen;
    }
  memmove (c->rbuf, c->rbuf + off, c->rlen - off);
  c->rlen -= off;

  /* One request in flight per connection (payment-bench's closed loop) leaves little to
   * write: a blocking-style loop is enough; a full socket buffer ends the connection. */
  size_t done = 0;
  while (done < c->wlen)
    {
      ssize_t w = write (c->fd, c->wbuf + done, c->wlen - done);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return false;
      done += (size_t) w;
    }
  c->wlen = 0;
  return true;
}

int
main (int argc, char **argv)
{
  const char *host = "127.0.0.1";
  int port = 0;
  static const struct option longopts[] = {
    { "host", required_argument, NULL, 'h' },
    { "port", required_argument, NULL, 'p' },
    { NULL, 0, NULL, 0 },
  };
  int ch;

  while ((ch = getopt_long (argc, argv, "", longopts, NULL)) != -1)
    switch (ch)
      {
      case 'h': host = optarg; break;
      case 'p': port = atoi (optarg); break;
      default:
        fprintf (stderr, "usage: floor-rpc [--host ADDR] [--port PORT]\n");
        return 2;
      }

  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
  if (inet_pton (AF_INET, host, &addr.sin_addr) != 1)
    {
      fprintf (stderr, "floor-rpc: not an IPv4 address: %s\n", host);
      return 2;
    }
  int one = 1;
  int lfd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  setsockopt (lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (lfd < 0 || bind (lfd, (struct sockaddr *) &addr, sizeof addr) < 0 || listen (lfd, 1024) < 0)
    {
      fprintf (stderr, "floor-rpc: cannot listen on %s:%d: %s\n", host, port, strerror (errno));
      return 1;
    }

  struct sigaction sa = { .sa_handler = on_signal };
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
  signal (SIGPIPE, SIG_IGN);

  int ep = epoll_create1 (EPOLL_CLOEXEC);
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
  epoll_ctl (ep, EPOLL_CTL_ADD, lfd, &ev);
  socklen_t alen = sizeof addr;
  getsockname (lfd, (struct sockaddr *) &addr, &alen);
  printf ("listening on %s:%d\n", host, ntohs (addr.sin_port));
  fflush (stdout);

  struct epoll_event events[MAX_EVENTS];
  while (!stop)
    {
      int n = epoll_wait (ep, events, MAX_EVENTS, -1);
      for (int i = 0; i < n; i++)
        {
          Conn *c = events[i].data.ptr;
          if (c == NULL)
            {
              int fd;
              while ((fd = accept4 (lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
                {
                  Conn *nc = calloc (1, sizeof *nc);
                  if (nc == NULL)
                    {
                      close (fd);
                      continue;
                    }
                  nc->fd = fd;
                  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                  struct epoll_event cev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = nc };
                  epoll_ctl (ep, EPOLL_CTL_ADD, fd, &cev);
                }
              continue;
            }
          if (!serve (c))
            {
              epoll_ctl (ep, EPOLL_CTL_DEL, c->fd, NULL);
              close (c->fd);
              free (c);
            }
        }
    }
  close (ep);
  close (lfd);
  return 0;
}
