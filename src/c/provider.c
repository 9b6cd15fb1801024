/* A probe provider: linked against the runtime, loaded by the application with
 * dlopen().  PROVIDER_NAME is set per build ("a", "b", "origin"). */
#include "dlmrt.h"

#ifndef PROVIDER_NAME
#error "PROVIDER_NAME must be defined"
#endif

static struct dlm_probe probe = { .name = "provider_" PROVIDER_NAME };

__attribute__((constructor)) static void provider_init(void)
{
	dlm_rt_register(&probe);
}

__attribute__((destructor)) static void provider_exit(void)
{
	dlm_rt_unregister(&probe);
}

int dlm_provider_fire(void)
{
	return dlm_rt_fire(&probe);
}
