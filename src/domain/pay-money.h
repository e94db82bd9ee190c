/* pay-money.h: conversion between API amounts (double, major units) and integer cents. */
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

G_END_DECLS
