/* pay-json-strict.h: the one JSON grammar every HTTP body is read with (docs/CONTRACT.md
 * section 4): RFC 8259 exactly, plus the service's own refusals. json-glib's parser is
 * lenient (duplicate names last-wins, "\x" escapes, comments, integers that wrap), so
 * bodies are parsed here, in one linear pass, into json-glib's tree types. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Deepest nesting of arrays and objects accepted anywhere in a body. A ChargeReq needs 2;
 * the margin is for clients that send extra fields. The parser recurses once per level,
 * so this also bounds its stack. */
#define PAY_JSON_MAX_DEPTH 16

/* Largest magnitude at which every integer is exactly representable as a double. */
#define PAY_JSON_MAX_EXACT_INTEGER G_GINT64_CONSTANT (9007199254740992) /* 2^53 */

/* Parses the @length bytes at @data (need not be NUL-terminated) as one JSON value.
 *
 * Refused, each with PAY_ERROR_INVALID_REQUEST and a message saying what and where:
 * - anything outside RFC 8259's grammar: comments, single quotes, bare words, NaN and
 *   Infinity, trailing or missing commas, a leading '+' or zero, hex, escapes other than
 *   the eight of the RFC and \uXXXX, whitespace other than space, tab, LF and CR, a byte
 *   order mark, data after the value;
 * - a raw control character (below 0x20) in a string, and bytes that are not UTF-8
 *   (overlong forms, encoded surrogates and code points past U+10FFFF included);
 * - a \u escape of a lone or reversed UTF-16 surrogate (it names no character);
 * - a NUL (\u0000) in any string, member names included: C strings end there;
 * - two members of one object with the same name (after unescaping), at any depth;
 * - nesting deeper than PAY_JSON_MAX_DEPTH;
 * - an integer literal (no fraction, no exponent) outside int64.
 *
 * Numbers: an integer literal is a G_TYPE_INT64 value. A literal with a fraction or an
 * exponent is also G_TYPE_INT64 when its decimal value is exactly an integer within
 * ±PAY_JSON_MAX_EXACT_INTEGER (`7.0`, `1e3`, `0.7e1`), so that a double is never asked to
 * stand for an integer it cannot hold; any other is a G_TYPE_DOUBLE (possibly ±inf for a
 * huge exponent: the service refuses that amount).
 *
 * Returns: (transfer full): the root node (any JSON value), or NULL with @error set. */
JsonNode *pay_json_strict_parse (const gchar *data,
                                 gsize        length,
                                 GError     **error);

G_END_DECLS
