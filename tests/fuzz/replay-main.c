/* replay-main.c: a main() for the fuzz targets in builds without libFuzzer (gcc, the
 * plain and ASan builds): runs LLVMFuzzerTestOneInput once on every file named on the
 * command line, or in a directory named there, so ctest replays the committed corpora
 * and the regression inputs everywhere. */
#include <stdint.h>
#include <stdio.h>

#include <glib.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
run_file (const gchar *path)
{
  g_autoptr(GError) error = NULL;
  gchar *data = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &data, &len, &error))
    {
      fprintf (stderr, "replay: %s\n", error->message);
      return 1;
    }
  LLVMFuzzerTestOneInput ((const uint8_t *) data, len);
  g_free (data);
  return 0;
}

int
main (int argc, char **argv)
{
  int failed = 0, runs = 0;

  LLVMFuzzerInitialize (&argc, &argv);
  for (int i = 1; i < argc; i++)
    {
      if (g_file_test (argv[i], G_FILE_TEST_IS_DIR))
        {
          g_autoptr(GDir) dir = g_dir_open (argv[i], 0, NULL);
          const gchar *name;

          while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
            {
              g_autofree gchar *path = g_build_filename (argv[i], name, NULL);
              if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
                {
                  failed |= run_file (path);
                  runs++;
                }
            }
        }
      else
        {
          failed |= run_file (argv[i]);
          runs++;
        }
    }
  printf ("replay: %d input(s)\n", runs);
  return failed || runs == 0;
}
