/* pay-card.c: credit card validation (brand by IIN prefix and length, Luhn, CVV, expiry)
 * as docs/CONTRACT.md section 3 "Cards" specifies; a card number never leaves this file. */
#include "domain/pay-card.h"

#include "core/pay-error.h"

#include <string.h>

#define PAY_CARD_CVV_MAX        999
#define PAY_CARD_AMEX_CVV_MAX   9999
#define PAY_CARD_MONTH_MIN      1
#define PAY_CARD_MONTH_MAX      12
/* A 2-digit year YY means 20YY. An i32 cannot keep a leading zero, so "05" arrives as 5:
 * every value 0..99 is a 2-digit year. */
#define PAY_CARD_YEAR2_MAX      99
#define PAY_CARD_YEAR2_CENTURY  2000
#define PAY_CARD_YEAR4_MIN      1000
#define PAY_CARD_YEAR4_MAX      9999
#define PAY_CARD_LAST_DIGITS    4
/* The longest IIN prefix in the table below; any number long enough to check holds it. */
#define PAY_CARD_MAX_PREFIX     4
G_STATIC_ASSERT (PAY_CARD_MIN_DIGITS >= PAY_CARD_MAX_PREFIX);

/* A set of allowed digit counts, one bit per count. */
#define LENGTHS_ONE(n)       (1u << (n))
#define LENGTHS_RANGE(lo, hi) ((1u << ((hi) + 1)) - (1u << (lo)))

/* One IIN prefix range: numbers whose first @prefix_digits digits, read as a decimal
 * number, fall within [@first, @last] belong to @brand when their digit count is in
 * @lengths. Ranges of different brands do not overlap. */
typedef struct {
  const gchar *brand;
  guint        prefix_digits;
  guint        first;
  guint        last;
  guint32      lengths;
  gint32       cvv_max;
  gboolean     luhn;         /* FALSE: the check digit is not guaranteed (UnionPay) */
} PayCardRange;

#define VISA_LENGTHS  (LENGTHS_ONE (13) | LENGTHS_ONE (16) | LENGTHS_ONE (19))
#define CVV3          PAY_CARD_CVV_MAX
#define CVV4          PAY_CARD_AMEX_CVV_MAX

static const PayCardRange card_ranges[] = {
  /* brand         prefix  first  last  lengths                  cvv_max luhn */
  { "visa",       1,      4,     4,    VISA_LENGTHS,            CVV3,   TRUE  },
  { "mastercard", 2,      51,    55,   LENGTHS_ONE (16),        CVV3,   TRUE  },
  { "mastercard", 4,      2221,  2720, LENGTHS_ONE (16),        CVV3,   TRUE  },
  { "amex",       2,      34,    34,   LENGTHS_ONE (15),        CVV4,   TRUE  },
  { "amex",       2,      37,    37,   LENGTHS_ONE (15),        CVV4,   TRUE  },
  { "discover",   4,      6011,  6011, LENGTHS_RANGE (16, 19),  CVV3,   TRUE  },
  { "discover",   3,      644,   649,  LENGTHS_RANGE (16, 19),  CVV3,   TRUE  },
  { "discover",   2,      65,    65,   LENGTHS_RANGE (16, 19),  CVV3,   TRUE  },
  { "jcb",        4,      3528,  3589, LENGTHS_RANGE (16, 19),  CVV3,   TRUE  },
  { "unionpay",   2,      62,    62,   LENGTHS_RANGE (16, 19),  CVV3,   FALSE },
  { "diners",     3,      300,   305,  LENGTHS_RANGE (14, 19),  CVV3,   TRUE  },
  { "diners",     2,      36,    36,   LENGTHS_RANGE (14, 19),  CVV3,   TRUE  },
  { "diners",     2,      38,    39,   LENGTHS_RANGE (14, 19),  CVV3,   TRUE  },
};

/* Overwrites @len bytes in a way the compiler may not drop as a dead store, so no copy
 * of the card number outlives the call. */
static void
wipe (gchar *buf, gsize len)
{
  volatile gchar *p = buf;

  while (len--)
    *p++ = '\0';
}

/* The range whose prefix @digits starts with, or NULL. @digits holds at least
 * PAY_CARD_MAX_PREFIX digits. */
static const PayCardRange *
find_range (const gchar *digits)
{
  for (gsize i = 0; i < G_N_ELEMENTS (card_ranges); i++)
    {
      const PayCardRange *r = &card_ranges[i];
      guint prefix = 0;

      for (guint d = 0; d < r->prefix_digits; d++)
        prefix = prefix * 10 + (guint) (digits[d] - '0');
      if (prefix >= r->first && prefix <= r->last)
        return r;
    }
  return NULL;
}

/* Copies the digits of @number into @digits (room for PAY_CARD_MAX_DIGITS + 1 bytes),
 * skipping spaces and dashes. Returns FALSE when @number holds any other non-digit.
 * *@count is the number of digits seen, which may exceed what was copied. */
static gboolean
extract_digits (const gchar *number, gchar *digits, gsize *count)
{
  gsize n = 0;

  for (const gchar *p = number; *p != '\0'; p++)
    {
      if (*p == ' ' || *p == '-')
        continue;
      if (!g_ascii_isdigit (*p))
        return FALSE;
      if (n < PAY_CARD_MAX_DIGITS)
        digits[n] = *p;
      n++;
    }
  digits[MIN (n, (gsize) PAY_CARD_MAX_DIGITS)] = '\0';
  *count = n;
  return TRUE;
}

/* Checks month and year and that the card has not expired as of @now and is not
 * absurdly far in the future. Sets the error on failure. */
static gboolean
check_expiry (gint32 exp_year, gint32 exp_month, GDateTime *now, GError **error)
{
  g_autoptr(GDateTime) now_utc = g_date_time_to_utc (now);
  gint year;
  gint now_year, now_month;

  if (exp_month < PAY_CARD_MONTH_MIN || exp_month > PAY_CARD_MONTH_MAX)
    {
      g_set_error_literal (error, PAY_ERROR, PAY_ERROR_INVALID_CARD,
                           "invalid credit card: expiry month must be 1 to 12");
      return FALSE;
    }

  if (exp_year >= 0 && exp_year <= PAY_CARD_YEAR2_MAX)
    year = PAY_CARD_YEAR2_CENTURY + exp_year;
  else if (exp_year >= PAY_CARD_YEAR4_MIN && exp_year <= PAY_CARD_YEAR4_MAX)
    year = exp_year;
  else
    {
      g_set_error_literal (error, PAY_ERROR, PAY_ERROR_INVALID_CARD,
                           "invalid credit card: expiry year must have 2 or 4 digits");
      return FALSE;
    }

  now_year = g_date_time_get_year (now_utc);
  now_month = g_date_time_get_month (now_utc);

  /* Valid through the last day of the expiry month: expired only once the current
   * UTC month is past it. */
  if (year < now_year || (year == now_year && exp_month < now_month))
    {
      g_set_error_literal (error, PAY_ERROR, PAY_ERROR_INVALID_CARD,
                           "invalid credit card: expired");
      return FALSE;
    }

  if (year - now_year > PAY_CARD_MAX_YEARS_AHEAD)
    {
      g_set_error (error, PAY_ERROR, PAY_ERROR_INVALID_CARD,
                   "invalid credit card: expiry year more than %d years ahead",
                   PAY_CARD_MAX_YEARS_AHEAD);
      return FALSE;
    }

  return TRUE;
}

/* The Luhn check: doubling every second digit from the right, the digit sum must be a
 * multiple of ten. An empty string has no check digit and fails. */
gboolean
pay_card_luhn_ok (const gchar *digits, gsize len)
{
  guint sum = 0;
  gboolean dbl = FALSE;

  g_return_val_if_fail (digits != NULL || len == 0, FALSE);

  if (len == 0)
    return FALSE;

  for (gsize i = len; i-- > 0; )
    {
      guint d = (guint) (digits[i] - '0');

      if (dbl)
        {
          d *= 2;
          if (d > 9)
            d -= 9;
        }
      sum += d;
      dbl = !dbl;
    }
  return sum % 10 == 0;
}

/* Checks run in this order: characters, digit count, brand, brand length, Luhn, CVV,
 * expiry. A NULL @number is reported like an empty one. @out may be NULL. */
gboolean
pay_card_validate (const gchar    *number,
                   gint32          cvv,
                   gint32          exp_year,
                   gint32          exp_month,
                   GDateTime      *now,
                   PayCardSummary *out,
                   GError        **error)
{
  gchar digits[PAY_CARD_MAX_DIGITS + 1];
  gsize count = 0;
  const PayCardRange *range;
  gboolean ok = FALSE;

  g_return_val_if_fail (now != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (number == NULL)
    number = "";

  if (!extract_digits (number, digits, &count))
    {
      g_set_error_literal (error, PAY_ERROR, PAY_ERROR_INVALID_CARD,
                           "invalid credit card: number may hold only digits, spaces "
                           "and dashes");
      goto out;
    }

  if (count < PAY_CARD_MIN_DIGITS || count > PAY_CARD_MAX_DIGITS)
    {
      g_set_error (error, PAY_ERROR, PAY_ERROR_INVALID_CARD,
                   "invalid credit card: number must have %d to %d digits",
                   PAY_CARD_MIN_DIGITS, PAY_CARD_MAX_DIGITS);
      goto out;
    }

  range = find_range (digits);
  if (range == NULL)
    {
      g_set_error_literal (error, PAY_ERROR, PAY_ERROR_INVALID_CARD,
                           "invalid credit card: unknown brand");
      goto out;
    }

  if ((range->lengths & LENGTHS_ONE (count)) == 0)
    {
      g_set_error (error, PAY_ERROR, PAY_ERROR_INVALID_CARD,
                   "invalid credit card: %s does not issue %" G_GSIZE_FORMAT
                   "-digit numbers", range->brand, count);
      goto out;
    }

  if (range->luhn && !pay_card_luhn_ok (digits, count))
    {
      g_set_error_literal (error, PAY_ERROR, PAY_ERROR_INVALID_CARD,
                           "invalid credit card: fails Luhn check");
      goto out;
    }

  if (cvv < 0 || cvv > range->cvv_max)
    {
      g_set_error (error, PAY_ERROR, PAY_ERROR_INVALID_CARD,
                   "invalid credit card: CVV out of range for %s", range->brand);
      goto out;
    }

  if (!check_expiry (exp_year, exp_month, now, error))
    goto out;

  if (out != NULL)
    {
      out->brand = range->brand;
      memcpy (out->last4, digits + count - PAY_CARD_LAST_DIGITS, PAY_CARD_LAST_DIGITS);
      out->last4[PAY_CARD_LAST_DIGITS] = '\0';
    }
  ok = TRUE;

out:
  wipe (digits, sizeof digits);
  return ok;
}
