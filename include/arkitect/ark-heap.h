/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__ARKITECT_H_INSIDE__) && !defined(ARK_COMPILATION)
#error "Only <arkitect/arkitect.h> can be included directly."
#endif

#include <glib.h>

#include "ark-api.h"

G_BEGIN_DECLS

/**
 * ArkHeap:
 *
 * An indexed binary min-heap of caller-owned items. Each item embeds a #gsize that the heap keeps
 * equal to the item's position (its location is given as @index_offset, from offsetof()), which
 * makes remove and update O(log n) without a search. The heap never allocates per item. Not
 * thread-safe.
 */
typedef struct _ArkHeap ArkHeap;

/* negative when @a must come out before @b */
typedef gint (*ArkHeapCompareFunc)(gconstpointer a, gconstpointer b, gpointer user_data);

#define ARK_HEAP_NOT_IN_HEAP G_MAXSIZE

ARK_API ArkHeap *ark_heap_new(ArkHeapCompareFunc compare, gpointer user_data, gsize index_offset);
ARK_API void ark_heap_free(ArkHeap *heap);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkHeap, ark_heap_free)

ARK_API void ark_heap_push(ArkHeap *heap, gpointer item);
ARK_API gpointer ark_heap_peek(ArkHeap *heap);
ARK_API gpointer ark_heap_pop(ArkHeap *heap);
/* removes @item if it is in the heap; returns FALSE if it was not */
ARK_API gboolean ark_heap_remove(ArkHeap *heap, gpointer item);
/* restores order after @item's key changed */
ARK_API void ark_heap_update(ArkHeap *heap, gpointer item);
ARK_API guint ark_heap_get_length(ArkHeap *heap);
ARK_API gboolean ark_heap_contains(ArkHeap *heap, gconstpointer item);
/* 1 + the number of items that come before @item (O(n)); 0 if @item is not in @heap (ABI 1.2) */
ARK_API guint ark_heap_get_position(ArkHeap *heap, gconstpointer item);

G_END_DECLS
