/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* the engine API, for the programs and for frontend plugins (which link libarkitect-core-1) */

#include <arkitect/arkitect.h>

#define __ARKITECT_CORE_H_INSIDE__

#include <arkitect/ark-audit.h>
#include <arkitect/ark-health.h>
#include <arkitect/ark-plugin-loader.h>
#include <arkitect/ark-engine.h>
#include <arkitect/ark-engine-agents.h>

#undef __ARKITECT_CORE_H_INSIDE__
