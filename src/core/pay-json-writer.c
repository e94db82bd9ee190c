/* pay-json-writer.c: a JSON object written member by member (see pay-json-writer.h). */
#include "core/pay-json-writer.h"

void
pay_json_writer_begin (PayJsonWriter *writer)
{
  writer->out = g_string_new ("{");
  writer->generator = json_generator_new ();
}

static void
writer_name (PayJsonWriter *writer, const gchar *name)
{
  if (writer->out->len > 1)
    g_string_append_c (writer->out, ',');
  g_string_append_printf (writer->out, "\"%s\":", name);
}

/* A fresh node each time: json-glib 1.6 shares a node's value with the generator's copy
 * of it, so re-initialising one node would free the value the generator still holds. */
void
pay_json_writer_add_string (PayJsonWriter *writer, const gchar *name, const gchar *value)
{
  g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), value);

  writer_name (writer, name);
  json_generator_set_root (writer->generator, node);
  json_generator_to_gstring (writer->generator, writer->out);
}

void
pay_json_writer_add_int (PayJsonWriter *writer, const gchar *name, gint64 value)
{
  writer_name (writer, name);
  g_string_append_printf (writer->out, "%" G_GINT64_FORMAT, value);
}

void
pay_json_writer_add_null (PayJsonWriter *writer, const gchar *name)
{
  writer_name (writer, name);
  g_string_append (writer->out, "null");
}

void
pay_json_writer_add_literal (PayJsonWriter *writer, const gchar *name, const gchar *literal,
                             gsize length)
{
  writer_name (writer, name);
  g_string_append_len (writer->out, literal, (gssize) length);
}

gchar *
pay_json_writer_end (PayJsonWriter *writer, gsize *length)
{
  g_string_append_c (writer->out, '}');
  g_clear_object (&writer->generator);
  if (length != NULL)
    *length = writer->out->len;
  return g_string_free (g_steal_pointer (&writer->out), FALSE);
}
