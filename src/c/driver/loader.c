/* The driver's marks in the loader's own log (glibc's LD_DEBUG_OUTPUT file): where
 * each step begins, and where exit() begins. */
#define _GNU_SOURCE
#include "driver.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int loader_log = -1; /* glibc's LD_DEBUG_OUTPUT file, to mark where each step begins */

/* A line in the loader's own log (O_APPEND, like ld.so's) naming the step whose
 * unloading follows, so that dlm-suite can tell which dlclose() did what. */
void loader_mark(const char *what)
{
	char line[160];
	int n;

	if (loader_log < 0)
		return;
	n = snprintf(line, sizeof(line), "%10ld:\tdlm step %s\n", (long)getpid(), what);
	if (n > 0 && write(loader_log, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0)
		loader_log = -1;
}

/* Registered after ld.so's own exit handler, so it runs first: fini calls after it are exit()'s. */
static void mark_exit(void)
{
	loader_mark("exit");
}

void open_loader_log(void)
{
	char path[1024];

	if (!getenv("LD_DEBUG_OUTPUT"))
		return;
	snprintf(path, sizeof(path), "%s.%ld", getenv("LD_DEBUG_OUTPUT"), (long)getpid());
	loader_log = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (loader_log >= 0)
		atexit(mark_exit);
}
