/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

struct _ArkHeap {
	GPtrArray *items;
	ArkHeapCompareFunc compare;
	gpointer user_data;
	gsize index_offset;
};

#define ARK_HEAP_INDEX(heap, item) (*(gsize *)((guint8 *)(item) + (heap)->index_offset))

ArkHeap *
ark_heap_new(ArkHeapCompareFunc compare, gpointer user_data, gsize index_offset)
{
	ArkHeap *heap;
	g_return_val_if_fail(compare != NULL, NULL);
	heap = g_new0(ArkHeap, 1);
	heap->items = g_ptr_array_new();
	heap->compare = compare;
	heap->user_data = user_data;
	heap->index_offset = index_offset;
	return heap;
}

void
ark_heap_free(ArkHeap *heap)
{
	if (heap == NULL)
		return;
	for (guint i = 0; i < heap->items->len; i++)
		ARK_HEAP_INDEX(heap, g_ptr_array_index(heap->items, i)) = ARK_HEAP_NOT_IN_HEAP;
	g_ptr_array_unref(heap->items);
	g_free(heap);
}

static inline gint
ark_heap_cmp(ArkHeap *heap, guint a, guint b)
{
	return heap->compare(g_ptr_array_index(heap->items, a), g_ptr_array_index(heap->items, b),
			     heap->user_data);
}

static inline void
ark_heap_place(ArkHeap *heap, guint pos, gpointer item)
{
	heap->items->pdata[pos] = item;
	ARK_HEAP_INDEX(heap, item) = pos;
}

static void
ark_heap_sift_up(ArkHeap *heap, guint pos)
{
	gpointer item = g_ptr_array_index(heap->items, pos);
	while (pos > 0) {
		guint parent = (pos - 1) / 2;
		gpointer p = g_ptr_array_index(heap->items, parent);
		if (heap->compare(item, p, heap->user_data) >= 0)
			break;
		ark_heap_place(heap, pos, p);
		pos = parent;
	}
	ark_heap_place(heap, pos, item);
}

static void
ark_heap_sift_down(ArkHeap *heap, guint pos)
{
	guint len = heap->items->len;
	gpointer item = g_ptr_array_index(heap->items, pos);
	for (;;) {
		guint child = 2 * pos + 1;
		gpointer c;
		if (child >= len)
			break;
		if (child + 1 < len && ark_heap_cmp(heap, child + 1, child) < 0)
			child++;
		c = g_ptr_array_index(heap->items, child);
		if (heap->compare(c, item, heap->user_data) >= 0)
			break;
		ark_heap_place(heap, pos, c);
		pos = child;
	}
	ark_heap_place(heap, pos, item);
}

void
ark_heap_push(ArkHeap *heap, gpointer item)
{
	g_return_if_fail(heap != NULL);
	g_return_if_fail(item != NULL);
	g_ptr_array_add(heap->items, item);
	ark_heap_sift_up(heap, heap->items->len - 1);
}

gpointer
ark_heap_peek(ArkHeap *heap)
{
	g_return_val_if_fail(heap != NULL, NULL);
	return heap->items->len > 0 ? g_ptr_array_index(heap->items, 0) : NULL;
}

static void
ark_heap_remove_at(ArkHeap *heap, guint pos)
{
	gpointer item = g_ptr_array_index(heap->items, pos);
	gpointer last = g_ptr_array_steal_index_fast(heap->items, heap->items->len - 1);

	ARK_HEAP_INDEX(heap, item) = ARK_HEAP_NOT_IN_HEAP;
	if (last == item)
		return;
	ark_heap_place(heap, pos, last);
	if (pos > 0 && heap->compare(last, g_ptr_array_index(heap->items, (pos - 1) / 2),
				     heap->user_data) < 0)
		ark_heap_sift_up(heap, pos);
	else
		ark_heap_sift_down(heap, pos);
}

gpointer
ark_heap_pop(ArkHeap *heap)
{
	gpointer item;
	g_return_val_if_fail(heap != NULL, NULL);
	if (heap->items->len == 0)
		return NULL;
	item = g_ptr_array_index(heap->items, 0);
	ark_heap_remove_at(heap, 0);
	return item;
}

gboolean
ark_heap_contains(ArkHeap *heap, gconstpointer item)
{
	gsize pos;
	g_return_val_if_fail(heap != NULL, FALSE);
	g_return_val_if_fail(item != NULL, FALSE);
	pos = ARK_HEAP_INDEX(heap, item);
	return pos < heap->items->len && g_ptr_array_index(heap->items, pos) == item;
}

gboolean
ark_heap_remove(ArkHeap *heap, gpointer item)
{
	g_return_val_if_fail(heap != NULL, FALSE);
	g_return_val_if_fail(item != NULL, FALSE);
	if (!ark_heap_contains(heap, item))
		return FALSE;
	ark_heap_remove_at(heap, ARK_HEAP_INDEX(heap, item));
	return TRUE;
}

void
ark_heap_update(ArkHeap *heap, gpointer item)
{
	guint pos;
	g_return_if_fail(heap != NULL);
	g_return_if_fail(ark_heap_contains(heap, item));
	pos = ARK_HEAP_INDEX(heap, item);
	if (pos > 0 &&
	    heap->compare(item, g_ptr_array_index(heap->items, (pos - 1) / 2), heap->user_data) < 0)
		ark_heap_sift_up(heap, pos);
	else
		ark_heap_sift_down(heap, pos);
}

guint
ark_heap_get_length(ArkHeap *heap)
{
	g_return_val_if_fail(heap != NULL, 0);
	return heap->items->len;
}

guint
ark_heap_get_position(ArkHeap *heap, gconstpointer item)
{
	guint before = 0;

	g_return_val_if_fail(heap != NULL, 0);
	if (item == NULL || !ark_heap_contains(heap, item))
		return 0;
	/* a heap is only partly ordered: count, do not walk */
	for (guint i = 0; i < heap->items->len; i++) {
		gpointer other = g_ptr_array_index(heap->items, i);
		if (other != item && heap->compare(other, item, heap->user_data) < 0)
			before++;
	}
	return before + 1;
}
