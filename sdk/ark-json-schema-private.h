/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <arkitect/arkitect.h>

G_BEGIN_DECLS

/* schemas nested deeper than this (counting every JSON level of the schema document) are
 * refused: checking recurses along the schema */
#define ARK_JSON_SCHEMA_MAX_DEPTH 32

/*
 * Whether @schema is a schema of the subset ark_json_schema_check() understands. On FALSE,
 * *@out_path is where in @schema the problem is, as a suffix to append to the path of the schema
 * itself ("", ".properties.name", ".items.enum") and @error says what, without the path.
 */
gboolean ark_json_schema_check_schema(JsonNode *schema, gchar **out_path, GError **error);

G_END_DECLS
