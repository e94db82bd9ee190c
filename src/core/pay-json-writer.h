/* pay-json-writer.h: a JSON object written member by member, for bodies that carry
 * numbers JsonGenerator cannot print exactly (amounts as their shortest decimal). */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Strings go through JsonGenerator, so they are escaped exactly as in bodies built with
 * JsonBuilder; integers are printed as JsonGenerator prints them; a number literal is
 * copied as given. Member names must be plain ASCII with nothing to escape. */
typedef struct {
  GString       *out;
  JsonGenerator *generator;
} PayJsonWriter;

void   pay_json_writer_begin       (PayJsonWriter *writer);
void   pay_json_writer_add_string  (PayJsonWriter *writer, const gchar *name, const gchar *value);
void   pay_json_writer_add_int     (PayJsonWriter *writer, const gchar *name, gint64 value);
void   pay_json_writer_add_null    (PayJsonWriter *writer, const gchar *name);
/* @literal (@length bytes) must be a valid JSON number. */
void   pay_json_writer_add_literal (PayJsonWriter *writer, const gchar *name,
                                    const gchar *literal, gsize length);
/* Closes the object and returns its text (owned by the caller, @length bytes without the
 * NUL when @length is not NULL); @writer is spent. */
gchar *pay_json_writer_end         (PayJsonWriter *writer, gsize *length);

G_END_DECLS
