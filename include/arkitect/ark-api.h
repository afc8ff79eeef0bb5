/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__ARKITECT_H_INSIDE__) && !defined(ARK_COMPILATION)
#error "Only <arkitect/arkitect.h> can be included directly."
#endif

/* the SDK and core libraries are built with -fvisibility=hidden; public symbols carry ARK_API */
#define ARK_API __attribute__((visibility("default"))) extern
