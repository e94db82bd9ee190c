/* pay-money.c: conversion between API amounts (double, major units) and integer cents,
 * with the acceptance rule of docs/CONTRACT.md section 3 "Amounts", and the decimal
 * form amounts are written in. */
#include "domain/pay-money.h"

#include <math.h>

#include "core/pay-error.h"

#define PAY_MONEY_CENTS_PER_UNIT 100
/* 2^63: the first double that does not fit in a gint64. Every double below it (and
 * above -2^63) converts to gint64 without overflow. */
#define PAY_MONEY_GINT64_LIMIT   9223372036854775808.0

gboolean
pay_money_to_cents (gdouble  amount,
                    gint64   max_cents,
                    gint64  *cents,
                    GError **error)
{
  gdouble scaled, whole;
  gint64 value;

  g_return_val_if_fail (cents != NULL, FALSE);
  g_return_val_if_fail (max_cents > 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!isfinite (amount))
    {
      g_set_error_literal (error, PAY_ERROR, PAY_ERROR_INVALID_AMOUNT,
                           "invalid amount: not a finite number");
      return FALSE;
    }

  if (amount <= 0.0)
    {
      g_set_error_literal (error, PAY_ERROR, PAY_ERROR_INVALID_AMOUNT,
                           "invalid amount: must be greater than zero");
      return FALSE;
    }

  scaled = amount * PAY_MONEY_CENTS_PER_UNIT;
  /* Check the range before any cast: converting a double beyond gint64 is undefined. */
  if (scaled >= PAY_MONEY_GINT64_LIMIT)
    goto above_max;

  whole = round (scaled);
  if (fabs (scaled - whole) > PAY_MONEY_CENTS_TOLERANCE)
    {
      g_set_error_literal (error, PAY_ERROR, PAY_ERROR_INVALID_AMOUNT,
                           "invalid amount: more than two decimals");
      return FALSE;
    }

  value = (gint64) whole;
  if (value <= 0)
    {
      /* A positive amount that rounds to zero cents, e.g. 1e-9. */
      g_set_error_literal (error, PAY_ERROR, PAY_ERROR_INVALID_AMOUNT,
                           "invalid amount: less than one cent");
      return FALSE;
    }
  if (value > max_cents)
    goto above_max;

  *cents = value;
  return TRUE;

above_max:
  {
    gchar max[PAY_MONEY_FORMAT_BYTES];

    /* Written as every amount leaves the service: "5.1", not "5.10". */
    pay_money_format_major (max_cents, max);
    g_set_error (error, PAY_ERROR, PAY_ERROR_INVALID_AMOUNT,
                 "invalid amount: above the maximum of %s", max);
  }
  return FALSE;
}

gdouble
pay_money_from_cents (gint64 cents)
{
  /* One correctly rounded division: the nearest double to the decimal value, so it
   * prints back as the same two decimals. */
  return (gdouble) cents / PAY_MONEY_CENTS_PER_UNIT;
}

gsize
pay_money_format_major (gint64 cents,
                        gchar  buf[PAY_MONEY_FORMAT_BYTES])
{
  gint64 whole;
  gint fraction;

  g_return_val_if_fail (cents >= 0, 0);

  /* Integer arithmetic, not a double: the decimal is exact by construction. */
  whole = cents / PAY_MONEY_CENTS_PER_UNIT;
  fraction = (gint) (cents % PAY_MONEY_CENTS_PER_UNIT);
  if (fraction == 0)
    return (gsize) g_snprintf (buf, PAY_MONEY_FORMAT_BYTES, "%" G_GINT64_FORMAT, whole);
  if (fraction % 10 == 0)
    return (gsize) g_snprintf (buf, PAY_MONEY_FORMAT_BYTES, "%" G_GINT64_FORMAT ".%d",
                               whole, fraction / 10);
  return (gsize) g_snprintf (buf, PAY_MONEY_FORMAT_BYTES, "%" G_GINT64_FORMAT ".%02d",
                             whole, fraction);
}
