/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib.h>

#include <stdint.h>

/*
 * Feeds every file of a directory to the fuzz target once, so that the seed corpus and the
 * crashers found so far run with every build, libFuzzer or not.
 *
 * Usage: fuzz-workflow-replay CORPUS_DIR
 */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gint
fuzz_replay_compare(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

int
main(int argc, char **argv)
{
	g_autoptr(GDir) dir = NULL;
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	const gchar *name;

	if (argc != 2) {
		g_printerr("usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	dir = g_dir_open(argv[1], 0, &error);
	if (dir == NULL) {
		g_printerr("%s\n", error->message);
		return 1;
	}
	while ((name = g_dir_read_name(dir)) != NULL)
		g_ptr_array_add(names, g_strdup(name));
	/* the same order every time, so that a failure is easy to find again */
	g_ptr_array_sort(names, fuzz_replay_compare);
	g_print("1..%u\n", names->len);
	for (guint i = 0; i < names->len; i++) {
		g_autofree gchar *path = g_build_filename(argv[1], names->pdata[i], NULL);
		g_autofree gchar *data = NULL;
		gsize len = 0;

		if (!g_file_get_contents(path, &data, &len, &error)) {
			g_print("Bail out! %s\n", error->message);
			return 1;
		}
		/* a crash stops here, with the file named just above */
		g_print("# %s\n", path);
		LLVMFuzzerTestOneInput((const uint8_t *)data, len);
		g_print("ok %u %s\n", i + 1, (const gchar *)names->pdata[i]);
	}
	return names->len > 0 ? 0 : 1;
}
