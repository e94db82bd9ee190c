/* pay-money.h: conversion between API amounts (double, major units) and integer cents,
 * and the decimal form amounts are written in. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* How far amount × 100 may be from a whole number and still count as that number. */
#define PAY_MONEY_CENTS_TOLERANCE 1e-6

/* Converts @amount to cents. Fails with PAY_ERROR_INVALID_AMOUNT when it is NaN or
 * infinite, ≤ 0, has more than two decimals, or exceeds @max_cents. */
gboolean pay_money_to_cents (gdouble  amount,
                             gint64   max_cents,
                             gint64  *cents,
                             GError **error);

/* The double sent back to clients for @cents (exact to the cent when printed). */
gdouble pay_money_from_cents (gint64 cents);

/* Room for any amount pay_money_format_major() writes, NUL included: at most 20
 * characters ("92233720368547758.07" for G_MAXINT64 cents) and the NUL. */
#define PAY_MONEY_FORMAT_BYTES 24

/* Writes @cents (≥ 0) to @buf as the shortest decimal that reads back to the same cents:
 * cents / 100 without trailing zeros or a trailing point ("19.99", "5.1", "5", "0.01").
 * It is a valid JSON number. Returns its length. */
gsize pay_money_format_major (gint64 cents,
                              gchar  buf[PAY_MONEY_FORMAT_BYTES]);

G_END_DECLS
