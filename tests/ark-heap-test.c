/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

typedef struct {
	gint key;
	gsize index;
} ArkHeapTestItem;

static gint
ark_heap_test_compare(gconstpointer a, gconstpointer b, gpointer user_data)
{
	const ArkHeapTestItem *ia = a;
	const ArkHeapTestItem *ib = b;
	return ia->key < ib->key ? -1 : ia->key > ib->key ? 1 : 0;
}

static void
ark_heap_test_check_invariant(ArkHeap *heap, ArkHeapTestItem *items, guint n)
{
	/* every item in the heap knows its position, and items out of it say so */
	guint in = 0;
	for (guint i = 0; i < n; i++) {
		if (ark_heap_contains(heap, &items[i]))
			in++;
		else
			g_assert_cmpuint(items[i].index, ==, ARK_HEAP_NOT_IN_HEAP);
	}
	g_assert_cmpuint(in, ==, ark_heap_get_length(heap));
}

static void
ark_heap_test_random(void)
{
	const guint n = 2000;
	g_autofree ArkHeapTestItem *items = g_new0(ArkHeapTestItem, n);
	g_autoptr(ArkHeap) heap = ark_heap_new(ark_heap_test_compare, NULL,
					       G_STRUCT_OFFSET(ArkHeapTestItem, index));
	g_autoptr(GRand) rand = g_rand_new_with_seed(42);
	gint last = G_MININT;
	guint popped = 0;

	for (guint i = 0; i < n; i++) {
		items[i].key = g_rand_int_range(rand, -1000, 1000);
		items[i].index = ARK_HEAP_NOT_IN_HEAP;
		ark_heap_push(heap, &items[i]);
	}
	ark_heap_test_check_invariant(heap, items, n);
	/* remove a third from the middle, change the keys of another third */
	for (guint i = 0; i < n; i += 3)
		g_assert_true(ark_heap_remove(heap, &items[i]));
	g_assert_false(ark_heap_remove(heap, &items[0]));
	for (guint i = 1; i < n; i += 3) {
		items[i].key = g_rand_int_range(rand, -2000, 2000);
		ark_heap_update(heap, &items[i]);
	}
	ark_heap_test_check_invariant(heap, items, n);
	while (ark_heap_get_length(heap) > 0) {
		ArkHeapTestItem *it = ark_heap_pop(heap);
		g_assert_cmpint(it->key, >=, last);
		last = it->key;
		popped++;
	}
	g_assert_cmpuint(popped, ==, n - (n + 2) / 3);
	g_assert_null(ark_heap_pop(heap));
	g_assert_null(ark_heap_peek(heap));
	ark_heap_test_check_invariant(heap, items, n);
}

static void
ark_heap_test_single(void)
{
	ArkHeapTestItem a = {5, ARK_HEAP_NOT_IN_HEAP};
	g_autoptr(ArkHeap) heap = ark_heap_new(ark_heap_test_compare, NULL,
					       G_STRUCT_OFFSET(ArkHeapTestItem, index));
	ark_heap_push(heap, &a);
	g_assert_true(ark_heap_peek(heap) == &a);
	g_assert_true(ark_heap_remove(heap, &a));
	g_assert_cmpuint(ark_heap_get_length(heap), ==, 0);
	g_assert_cmpuint(a.index, ==, ARK_HEAP_NOT_IN_HEAP);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ark/heap/random", ark_heap_test_random);
	g_test_add_func("/ark/heap/single", ark_heap_test_single);
	return g_test_run();
}
