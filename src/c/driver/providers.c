/* The driver's providers and runtime: each opened and closed by handle (in this
 * thread or another), fired, cycled, and opened, fired and closed in a forked child. */
#define _GNU_SOURCE
#include "driver.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_HANDLES 8
#define THREAD_GROWTH_BOUND 4
#define RSS_GROWTH_BOUND_KB (16 * 1024)

struct handle {
	char name[32];
	void *dl;
};

static struct handle handles[MAX_HANDLES];
static void *runtime_handle;
static int fire_count;
static long threads_before_cycles = -1, threads_after_cycles = -1;
static long rss_before_cycles = -1, rss_after_cycles = -1;

static struct handle *find_handle(const char *name, int create)
{
	int i;

	for (i = 0; i < MAX_HANDLES; i++)
		if (handles[i].dl && !strcmp(handles[i].name, name))
			return &handles[i];
	for (i = 0; create && i < MAX_HANDLES; i++)
		if (!handles[i].dl) {
			snprintf(handles[i].name, sizeof(handles[i].name), "%s", name);
			return &handles[i];
		}
	die(DLM_EXIT_USAGE, "provider %s is %s", name, create ? "opened too often" : "not open");
	return NULL;
}

static int parse_flags(const char *flags)
{
	int mode = RTLD_LAZY, scope = RTLD_LOCAL;

	if (flags && strstr(flags, "now"))
		mode = RTLD_NOW;
	if (flags && strstr(flags, "global"))
		scope = RTLD_GLOBAL;
	return mode | scope;
}

/* 1 when every thread but this one is asleep (listeners blocked in poll). */
static int others_asleep(void)
{
	DIR *tasks = opendir("/proc/self/task");
	struct dirent *entry;
	char path[300], stat[512], *state;
	int asleep = 1;
	long self = syscall(SYS_gettid);

	if (!tasks)
		return 1;
	while (asleep && (entry = readdir(tasks))) {
		FILE *file;
		size_t n;

		if (entry->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", entry->d_name);
		file = fopen(path, "r");
		if (!file)
			continue; /* exited meanwhile */
		n = fread(stat, 1, sizeof(stat) - 1, file);
		fclose(file);
		stat[n] = 0;
		state = strrchr(stat, ')');
		if (state && state[1] == ' ' && state[2] != 'S' && atol(entry->d_name) != self)
			asleep = 0;
	}
	closedir(tasks);
	return asleep;
}

/* Lets new listeners reach their poll() before the next step, so that an
 * unmapping meets them blocked there and the crash is deterministic. */
static void settle(void)
{
	struct timespec pause = { 0, 200 * 1000 };
	int i;

	for (i = 0; i < 5000 && !others_asleep(); i++)
		nanosleep(&pause, NULL);
}

void open_provider(const char *name, const char *flags)
{
	struct handle *h = find_handle(name, 1);
	char path[1024];

	snprintf(path, sizeof(path), "%s/libdlmprov_%s.so", libdir, name);
	h->dl = dlopen(path, parse_flags(flags));
	if (!h->dl)
		die(DLM_EXIT_DLFCN, "dlopen(%s): %s", path, dlerror());
	settle();
	drain_events(0);
}

void close_provider(const char *name)
{
	struct handle *h = find_handle(name, 0);

	if (dlclose(h->dl))
		die(DLM_EXIT_DLFCN, "dlclose(%s): %s", name, dlerror());
	h->dl = NULL;
}

static void *close_in_thread_main(void *name)
{
	close_provider(name);
	return NULL;
}

void close_in_thread(const char *name)
{
	pthread_t thread;

	if (pthread_create(&thread, NULL, close_in_thread_main, (void *)name))
		die(DLM_EXIT_SYSTEM, "pthread_create failed");
	pthread_join(thread, NULL);
}

void fire(const char *name)
{
	struct handle *h = find_handle(name, 0);
	int (*fire_probe)(void) = (int (*)(void))dlsym(h->dl, "dlm_provider_fire");
	char seq[16];

	if (!fire_probe)
		die(DLM_EXIT_DLFCN, "dlsym(%s, dlm_provider_fire): %s", name, dlerror());
	snprintf(seq, sizeof(seq), "%d", ++fire_count);
	setenv("DLM_FIRE_SEQ", seq, 1); /* providers that trace record it, to tell phases apart */
	if (fire_probe() != 0)
		die(DLM_EXIT_UNREGISTERED, "provider %s fired but its probe is not registered", name);
	drain_events(0);
}

void open_runtime(void)
{
	char path[1024];

	if (getenv("DLM_RUNTIME_LIB"))
		snprintf(path, sizeof(path), "%s", getenv("DLM_RUNTIME_LIB"));
	else
		snprintf(path, sizeof(path), "%s/%s", libdir, DLMRT_SONAME);
	runtime_handle = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
	if (!runtime_handle)
		die(DLM_EXIT_DLFCN, "dlopen(%s): %s", path, dlerror());
	settle();
}

void close_runtime(void)
{
	if (!runtime_handle || dlclose(runtime_handle))
		die(DLM_EXIT_DLFCN, "dlclose(runtime) failed");
	runtime_handle = NULL;
}

void cycles(long count, const char *name)
{
	long i;

	threads_before_cycles = count_threads();
	rss_before_cycles = rss_kb();
	for (i = 0; i < count; i++) {
		open_provider(name, NULL);
		fire(name);
		close_provider(name);
		evidence("cycles_done", "%ld", i + 1); /* shows how far a crash got */
	}
	threads_after_cycles = count_threads();
	rss_after_cycles = rss_kb();
	evidence("threads_before", "%ld", threads_before_cycles);
	evidence("threads_after", "%ld", threads_after_cycles);
	evidence("rss_kb_before", "%ld", rss_before_cycles);
	evidence("rss_kb_after", "%ld", rss_after_cycles);
}

void bounded(void)
{
	long threads = threads_after_cycles - threads_before_cycles;
	long rss = rss_after_cycles - rss_before_cycles;

	if (threads_before_cycles < 0 || rss_before_cycles < 0)
		die(DLM_EXIT_USAGE, "bounded needs a cycles step before it and /proc mounted");
	if (threads > THREAD_GROWTH_BOUND)
		die(DLM_EXIT_BOUND, "threads grew by %ld over the cycles (bound %d)", threads, THREAD_GROWTH_BOUND);
	if (rss > RSS_GROWTH_BOUND_KB)
		die(DLM_EXIT_BOUND, "resident memory grew by %ld KiB over the cycles (bound %d)", rss, RSS_GROWTH_BOUND_KB);
}

void fork_child(const char *name)
{
	int status;
	pid_t child = fork();

	if (child < 0)
		die(DLM_EXIT_SYSTEM, "fork: %s", strerror(errno));
	if (child == 0) {
		open_provider(name, NULL);
		fire(name);
		close_provider(name);
		exit(DLM_EXIT_PASS);
	}
	if (waitpid(child, &status, 0) < 0)
		die(DLM_EXIT_SYSTEM, "waitpid: %s", strerror(errno));
	if (WIFSIGNALED(status)) {
		evidence("child_signal", "%d", WTERMSIG(status));
		die(DLM_EXIT_CHILD, "forked child died of signal %d", WTERMSIG(status));
	}
	evidence("child_exit", "%d", WEXITSTATUS(status));
	if (WEXITSTATUS(status))
		die(DLM_EXIT_CHILD, "forked child exited %d", WEXITSTATUS(status));
}
