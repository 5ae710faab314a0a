/* Included first by every host module: the common headers and the host's
 * central structures.  Not installed; plugins and the CLI never see it. */
#ifndef CSDK_HOST_INTERNAL_H
#define CSDK_HOST_INTERNAL_H

#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csdk/csdk.h>
#include <csdk/provider.h>

#include "clock.h"
#include "log.h"
#include "status.h"
#include "strbuf.h"

#endif
