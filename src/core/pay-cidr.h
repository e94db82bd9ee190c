/* pay-cidr.h: lists of IPv4 and IPv6 networks in CIDR notation, and whether an address
 * is in one (server.rpc_allow, docs/CONTRACT.md section 6). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A network. IPv4 networks are kept as IPv4-mapped IPv6 (::ffff:a.b.c.d, prefix + 96),
 * so that an IPv4 peer matches them whether it reaches a socket bound to an IPv4 address
 * or, as ::ffff:a.b.c.d, to "::". */
typedef struct {
  guint8 bytes[16];     /* the network address; bits past prefix are zero */
  guint  prefix;        /* 0..128 */
} PayCidr;

/* Parses "ADDRESS/PREFIX" or a bare ADDRESS (a single host: /32 or /128). IPv4 prefixes
 * are 0..32, IPv6 0..128; an address with bits set past its prefix is refused (a typo:
 * "10.0.0.1/8"), as are zone ids ("fe80::1%eth0"), signs and spaces. FALSE with
 * G_IO_ERROR_INVALID_ARGUMENT naming what is wrong. */
gboolean pay_cidr_parse (const gchar *text, PayCidr *cidr, GError **error);

/* Whether @address (IPv4 or IPv6) is in @cidr. */
gboolean pay_cidr_contains (const PayCidr *cidr, GInetAddress *address);

/* Parses a comma-separated list of networks (spaces around each allowed); "" or only
 * spaces is the empty list. An empty item ("a,,b") is an error. Returns a GArray of
 * PayCidr, or NULL with @error naming the bad item. */
GArray *pay_cidr_list_parse (const gchar *text, GError **error);

/* Whether @address is in any network of @list (a GArray of PayCidr). */
gboolean pay_cidr_list_contains (const GArray *list, GInetAddress *address);

G_END_DECLS
