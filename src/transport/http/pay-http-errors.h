/* pay-http-errors.h: the HTTP transport's one mapping from contract error codes
 * (docs/CONTRACT.md section 3) to HTTP statuses and client-facing messages. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The HTTP status for the contract code @code; 500 for a code the table does not know
 * (a code added to PAY_ERROR without a row here is an internal error, not a 200). */
guint pay_http_status_for_code (gint32 code);

/* Describes @error for a client: stores its contract code in *@code (via pay_error_code(),
 * so an error outside PAY_ERROR becomes 4005005) and a message in *@message, and returns
 * the HTTP status. The message is @error's own for PAY_ERROR errors, which the service
 * writes for clients; for any other domain it is a fixed text, so that driver and system
 * messages (host names, SQL) never reach a client. *@message is borrowed from @error or
 * static. */
guint pay_http_describe_error (const GError *error,
                               gint32       *code,
                               const gchar **message);

G_END_DECLS
