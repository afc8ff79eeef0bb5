/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#define __ARKITECT_H_INSIDE__

#include <arkitect/ark-api.h>
#include <arkitect/ark-version.h>
#include <arkitect/ark-error.h>
#include <arkitect/ark-types.h>
#include <arkitect/ark-duration.h>
#include <arkitect/ark-heap.h>
#include <arkitect/ark-clock.h>
#include <arkitect/ark-metrics.h>
#include <arkitect/ark-workflow.h>
#include <arkitect/ark-records.h>
#include <arkitect/ark-store.h>
#include <arkitect/ark-executor.h>
#include <arkitect/ark-policy.h>
#include <arkitect/ark-trust.h>
#include <arkitect/ark-coordinator.h>
#include <arkitect/ark-frontend.h>
#include <arkitect/ark-registry.h>
#include <arkitect/ark-plugin.h>

#undef __ARKITECT_H_INSIDE__
