/* NOT_SUPPORTED stubs for optional slots a plugin left NULL.  Each answers
 * with the message ComputeSDK users know, naming the instance. */
#ifndef CSDK_HOST_STUBS_H
#define CSDK_HOST_STUBS_H
#include <csdk/provider.h>

/* Fill every NULL optional slot of `def`. */
void stubs_fill(csdk_provider_def_t *def);

#endif
