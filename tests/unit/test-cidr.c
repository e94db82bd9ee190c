/* test-cidr.c: CIDR parsing and matching (server.rpc_allow): IPv4, IPv6, IPv4-mapped
 * IPv6, the /0 and full-length edges, and input that must be refused. */
#include <gio/gio.h>
#include <string.h>

#include "core/pay-cidr.h"

typedef struct {
  const gchar *cidr;
  const gchar *address;
  gboolean     contained;
} MatchCase;

static const MatchCase match_cases[] = {
  /* IPv4 */
  { "10.0.0.0/8",        "10.255.1.2",        TRUE },
  { "10.0.0.0/8",        "11.0.0.0",          FALSE },
  { "192.168.1.0/24",    "192.168.1.255",     TRUE },
  { "192.168.1.0/24",    "192.168.2.0",       FALSE },
  { "172.16.0.0/12",     "172.31.255.255",    TRUE },
  { "172.16.0.0/12",     "172.32.0.0",        FALSE },
  { "127.0.0.2/32",      "127.0.0.2",         TRUE },
  { "127.0.0.2/32",      "127.0.0.3",         FALSE },
  { "127.0.0.2",         "127.0.0.2",         TRUE },   /* a bare address: one host */
  { "127.0.0.2",         "127.0.0.1",         FALSE },
  { "0.0.0.0/0",         "203.0.113.9",       TRUE },
  { "0.0.0.0/0",         "2001:db8::1",       FALSE },  /* every IPv4 address, no IPv6 */
  /* IPv6 */
  { "2001:db8::/32",     "2001:db8:ffff::1",  TRUE },
  { "2001:db8::/32",     "2001:db9::1",       FALSE },
  { "fd00::/8",          "fdff::1",           TRUE },
  { "fc00::/7",          "fdff::1",           TRUE },
  { "fd00::/8",          "fc00::1",           FALSE },
  { "::1/128",           "::1",               TRUE },
  { "::1/128",           "::2",               FALSE },
  { "::1",               "::1",               TRUE },
  { "::/0",              "2001:db8::1",       TRUE },
  { "::/0",              "10.1.2.3",          TRUE },   /* ::/0 is everything */
  { "2001:db8::/127",    "2001:db8::1",       TRUE },
  { "2001:db8::/127",    "2001:db8::2",       FALSE },
  /* IPv4-mapped IPv6: a peer of a socket bound to "::" */
  { "10.0.0.0/8",        "::ffff:10.9.8.7",   TRUE },
  { "10.0.0.0/8",        "::ffff:11.9.8.7",   FALSE },
  { "::ffff:10.0.0.0/104", "10.9.8.7",        TRUE },
  { "::ffff:10.0.0.0/104", "11.9.8.7",        FALSE },
  { "127.0.0.1/32",      "::1",               FALSE },  /* loopbacks differ */
  { "10.0.0.0/8",        "::a00:1",           FALSE },  /* IPv4-compatible, not mapped */
};

static void
test_match (gconstpointer data)
{
  const MatchCase *tc = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (tc->address);
  PayCidr cidr;

  g_assert_nonnull (address);
  g_assert_true (pay_cidr_parse (tc->cidr, &cidr, &error));
  g_assert_no_error (error);
  g_assert_cmpint (pay_cidr_contains (&cidr, address), ==, tc->contained);
}

/* Refused, each with a message quoting it. */
static const gchar *const bad_cases[] = {
  "",
  "10.0.0.0/",
  "/8",
  "10.0.0.0/33",
  "::/129",
  "10.0.0.0/-1",
  "10.0.0.0/+8",
  "10.0.0.0/8x",
  "10.0.0.0/0008",
  "10.0.0.0/8/8",
  "10.0.0.1/8",            /* host bits set */
  "2001:db8::1/32",
  "256.0.0.0/8",
  "10.0.0/24",
  "10.0.0.0.0/24",
  " 10.0.0.0/8",
  "10.0.0.0 /8",
  "fe80::1%eth0",
  "fe80::1%eth0/64",
  "example.com/8",
  "2001:db8:::/32",
  "localhost",
};

static void
test_bad (gconstpointer data)
{
  const gchar *text = data;
  g_autoptr(GError) error = NULL;
  PayCidr cidr;

  g_assert_false (pay_cidr_parse (text, &cidr, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, text));
}

static gboolean
list_contains (const GArray *list, const gchar *text)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (text);

  return pay_cidr_list_contains (list, address);
}

static void
test_list (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) list = pay_cidr_list_parse (" 127.0.0.2/32 , fd00::/8,10.0.0.0/8 ", &error);

  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 3);
  g_assert_true (list_contains (list, "127.0.0.2"));
  g_assert_true (list_contains (list, "fd12::1"));
  g_assert_true (list_contains (list, "10.1.1.1"));
  g_assert_false (list_contains (list, "127.0.0.3"));
  g_assert_false (list_contains (list, "::1"));
}

static void
test_list_empty (void)
{
  const gchar *const empties[] = { "", "  ", "\t" };

  for (gsize i = 0; i < G_N_ELEMENTS (empties); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GArray) list = pay_cidr_list_parse (empties[i], &error);

      g_assert_no_error (error);
      g_assert_cmpuint (list->len, ==, 0);
      g_assert_false (list_contains (list, "127.0.0.1"));
    }
}

static void
test_list_bad (void)
{
  const gchar *const bads[] = { "10.0.0.0/8,", ",10.0.0.0/8", "10.0.0.0/8,,::1", "10.0.0.0/8,x" };

  for (gsize i = 0; i < G_N_ELEMENTS (bads); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GArray) list = pay_cidr_list_parse (bads[i], &error);

      g_assert_null (list);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (match_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/cidr/match/%" G_GSIZE_FORMAT, i);

      g_test_add_data_func (path, &match_cases[i], test_match);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/cidr/bad/%" G_GSIZE_FORMAT, i);

      g_test_add_data_func (path, bad_cases[i], test_bad);
    }
  g_test_add_func ("/payment/cidr/list", test_list);
  g_test_add_func ("/payment/cidr/list/empty", test_list_empty);
  g_test_add_func ("/payment/cidr/list/bad", test_list_bad);
  return g_test_run ();
}
