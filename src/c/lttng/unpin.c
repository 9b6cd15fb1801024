/* Negative control for the real runtime: takes the self-pin away from an
 * unmodified liblttng-ust.  Preloaded, this dlopen() sees liblttng-ust's
 * constructor call dlopen("liblttng-ust.so.N", RTLD_LAZY | RTLD_NODELETE) and
 * answers it without leaving a reference or the NODELETE flag behind: the
 * library behaves as before the upstream fix (lttng-ust 2.10). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define RUNTIME_PREFIX "liblttng-ust.so."

static int is_self_pin(const char *file, int mode)
{
	const char *name = file ? strrchr(file, '/') : NULL;

	name = name ? name + 1 : file;
	return name && (mode & RTLD_NODELETE) && !strncmp(name, RUNTIME_PREFIX, strlen(RUNTIME_PREFIX));
}

void *dlopen(const char *file, int mode)
{
	static void *(*real_dlopen)(const char *, int);
	void *handle;

	if (!real_dlopen)
		*(void **)&real_dlopen = dlsym(RTLD_NEXT, "dlopen");
	if (!is_self_pin(file, mode))
		return real_dlopen(file, mode);
	/* The caller only checks for NULL; the reference taken here is dropped again. */
	handle = real_dlopen(file, RTLD_LAZY | RTLD_NOLOAD);
	if (handle)
		dlclose(handle);
	fprintf(stderr, "dlm-unpin: dropped the self-pin dlopen(%s, RTLD_NODELETE)\n", file);
	if (write(STDOUT_FILENO, "@ self_pin_dropped true\n", 24) != 24)
		return handle; /* evidence is best effort */
	return handle;
}
