/* pay-cidr.c: CIDR networks and the address match (see pay-cidr.h). */
#include "core/pay-cidr.h"

#include <string.h>

#define V4_MAPPED_PREFIX 96   /* bits of ::ffff: before an IPv4 address */

/* @address as 16 bytes: IPv6 as is, IPv4 as ::ffff:a.b.c.d. */
static void
to_v6_bytes (GInetAddress *address, guint8 out[16])
{
  const guint8 *bytes = g_inet_address_to_bytes (address);

  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
    {
      memcpy (out, bytes, 16);
      return;
    }
  memset (out, 0, 10);
  out[10] = out[11] = 0xff;
  memcpy (out + 12, bytes, 4);
}

/* Whether the first @prefix bits of @a and @b are equal. */
static gboolean
prefix_equal (const guint8 a[16], const guint8 b[16], guint prefix)
{
  guint whole = prefix / 8, rest = prefix % 8;

  if (memcmp (a, b, whole) != 0)
    return FALSE;
  if (rest == 0)
    return TRUE;
  return ((a[whole] ^ b[whole]) & (guint8) (0xff << (8 - rest))) == 0;
}

static gboolean
cidr_error (GError **error, const gchar *text, const gchar *problem)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "\"%s\" %s", text, problem);
  return FALSE;
}

/* A prefix length: 1 to 3 digits, at most @max. */
static gboolean
parse_prefix (const gchar *text, guint max, guint *prefix)
{
  guint64 value;

  if (*text == '\0' || strlen (text) > 3 || strspn (text, "0123456789") != strlen (text))
    return FALSE;
  value = g_ascii_strtoull (text, NULL, 10);
  if (value > max)
    return FALSE;
  *prefix = (guint) value;
  return TRUE;
}

gboolean
pay_cidr_parse (const gchar *text, PayCidr *cidr, GError **error)
{
  const gchar *slash = strchr (text, '/');
  g_autofree gchar *host = g_strndup (text, slash != NULL ? (gsize) (slash - text) : strlen (text));
  g_autoptr(GInetAddress) address = NULL;
  guint max, prefix;

  /* GLib takes a zone id ("fe80::1%eth0"); an allowlist has no use for one. */
  if (strchr (host, '%') == NULL)
    address = g_inet_address_new_from_string (host);
  if (address == NULL)
    return cidr_error (error, text, "is not an IPv4 or IPv6 address, or ADDRESS/PREFIX");
  max = g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4 ? 32 : 128;
  prefix = max;
  if (slash != NULL && !parse_prefix (slash + 1, max, &prefix))
    return cidr_error (error, text, max == 32 ? "has no prefix length 0..32"
                                              : "has no prefix length 0..128");
  if (max == 32)
    prefix += V4_MAPPED_PREFIX;
  to_v6_bytes (address, cidr->bytes);
  cidr->prefix = prefix;
  /* The bits past the prefix must be zero: "10.0.0.1/8" is a typo for /32 or 10.0.0.0. */
  for (guint bit = prefix; bit < 128; bit++)
    if (cidr->bytes[bit / 8] & (0x80 >> (bit % 8)))
      return cidr_error (error, text, "has bits set past its prefix length");
  return TRUE;
}

gboolean
pay_cidr_contains (const PayCidr *cidr, GInetAddress *address)
{
  guint8 bytes[16];

  to_v6_bytes (address, bytes);
  return prefix_equal (cidr->bytes, bytes, cidr->prefix);
}

GArray *
pay_cidr_list_parse (const gchar *text, GError **error)
{
  g_autoptr(GArray) list = g_array_new (FALSE, FALSE, sizeof (PayCidr));
  g_auto(GStrv) items = NULL;

  if (strspn (text, " \t") == strlen (text))
    return g_steal_pointer (&list);
  items = g_strsplit (text, ",", -1);
  for (gsize i = 0; items[i] != NULL; i++)
    {
      PayCidr cidr;
      const gchar *item = g_strstrip (items[i]);

      if (*item == '\0')
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "item %" G_GSIZE_FORMAT " of the list is empty", i + 1);
          return NULL;
        }
      if (!pay_cidr_parse (item, &cidr, error))
        return NULL;
      g_array_append_val (list, cidr);
    }
  return g_steal_pointer (&list);
}

gboolean
pay_cidr_list_contains (const GArray *list, GInetAddress *address)
{
  for (guint i = 0; i < list->len; i++)
    if (pay_cidr_contains (&g_array_index (list, PayCidr, i), address))
      return TRUE;
  return FALSE;
}
