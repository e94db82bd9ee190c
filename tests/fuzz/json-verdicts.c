/* json-verdicts.c: our JSON grammar's verdict on each input, for tests/fuzz/differential.py
 * to compare with a reference parser. Reads one input per line on stdin, hex-encoded (an
 * input may hold any byte, newlines and NULs included), and writes one line per input:
 * "accept", or "reject " and the parser's message. */
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "transport/http/pay-json-strict.h"

/* Decodes the hex text @line in place; returns the byte count, or -1 if it is not hex. */
static gssize
unhex (gchar *line)
{
  gsize len = strlen (line);
  gsize n = 0;

  if (len % 2 != 0)
    return -1;
  for (gsize i = 0; i < len; i += 2)
    {
      gint hi = g_ascii_xdigit_value (line[i]);
      gint lo = g_ascii_xdigit_value (line[i + 1]);

      if (hi < 0 || lo < 0)
        return -1;
      line[n++] = (gchar) (hi << 4 | lo);
    }
  return (gssize) n;
}

int
main (void)
{
  g_autoptr(GString) line = g_string_new (NULL);
  gint c;

  while ((c = getchar ()) != EOF)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) root = NULL;
      gssize n;

      if (c != '\n')
        {
          g_string_append_c (line, (gchar) c);
          continue;
        }
      if ((n = unhex (line->str)) < 0)
        {
          fprintf (stderr, "json-verdicts: a line that is not hex\n");
          return 2;
        }
      /* An exact-size copy, so that a read past the input is an ASan report. */
      {
        g_autofree gchar *input = g_memdup2 (line->str, (gsize) n);

        root = pay_json_strict_parse (input, (gsize) n, &error);
      }
      if ((root == NULL) == (error == NULL))
        {
          fprintf (stderr, "json-verdicts: a result and an error disagree\n");
          return 2;
        }
      if (root != NULL)
        puts ("accept");
      else
        printf ("reject %s\n", error->message);
      g_string_truncate (line, 0);
    }
  return fflush (stdout) == 0 ? 0 : 2;
}
