/* The model runtime.  One source, four variants chosen at build time:
 *   unpinned   before the seed's fix
 *   pinned     -DDLM_PIN_SELF: dlopen(own soname, RTLD_LAZY | RTLD_NODELETE)
 *   znodelete  linked with -Wl,-z,nodelete
 *   adaptive   -DDLM_ADAPTIVE: joinable threads, joined in the destructor,
 *              when the runtime was dlopen()ed rather than loaded at start-up */
#define _GNU_SOURCE
#include "dlmrt.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LISTENERS 2
#define BUSY_SECONDS 5

#ifndef DLM_VARIANT
#define DLM_VARIANT "unknown"
#endif

static int wake_fd = -1;  /* read end owned by the driver; -1 when run standalone */
static int event_fd = -1; /* write end owned by the driver */
static int quit_pipe[2] = { -1, -1 };
static volatile int quit;
static int joinable;
static int started;
static pthread_t listeners[LISTENERS];
static struct dlm_probe *probes;
static pthread_mutex_t probes_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t ready_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready_cond = PTHREAD_COND_INITIALIZER;
static int ready;

static void emit(char event)
{
	if (event_fd >= 0 && write(event_fd, &event, 1) != 1)
		event_fd = -1;
}

static int fd_from_env(const char *name)
{
	const char *value = getenv(name);
	char *end;
	long fd;

	if (!value)
		return -1;
	fd = strtol(value, &end, 10);
	if (*end || fd < 0 || fcntl((int)fd, F_GETFD) < 0)
		return -1;
	return (int)fd;
}

static void busy(void)
{
	struct timespec left = { BUSY_SECONDS, 0 };

	while (nanosleep(&left, &left) < 0 && errno == EINTR)
		;
}

static void listener_ready(void)
{
	pthread_mutex_lock(&ready_lock);
	ready++;
	pthread_cond_broadcast(&ready_cond);
	pthread_mutex_unlock(&ready_lock);
}

/* Like lttng-ust's constructor, which waits for its listeners to register:
 * when dlopen() returns, every listener has reached its loop. */
static void wait_listeners_ready(int count)
{
	pthread_mutex_lock(&ready_lock);
	while (ready < count)
		pthread_cond_wait(&ready_cond, &ready_lock);
	pthread_mutex_unlock(&ready_lock);
}

/* Blocks in poll(): the return address is runtime text, so waking this thread
 * after the runtime was unmapped faults deterministically. */
static void *listener(void *unused)
{
	(void)unused;
	listener_ready();
	for (;;) {
		struct pollfd fds[2] = { { wake_fd, POLLIN, 0 }, { quit_pipe[0], POLLIN, 0 } };
		char byte;

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents || quit)
			break;
		if (fds[0].revents & POLLIN) {
			if (read(wake_fd, &byte, 1) != 1)
				continue;
			if (byte == DLMRT_WAKE_BUSY) {
				emit(DLMRT_EV_BUSY);
				busy();
			}
			emit(DLMRT_EV_HEARTBEAT);
		} else if (fds[0].revents) {
			break; /* driver went away */
		}
	}
	emit(DLMRT_EV_LISTENER_EXIT);
	return NULL;
}

#ifdef DLM_ADAPTIVE
/* The seed's "possible solution to investigate": were we loaded at start-up?
 * Walk DT_NEEDED from the executable and LD_PRELOAD; if that closure reaches
 * this object, the loader will never unload it. */
#define MAX_OBJECTS 256

struct object {
	const char *path;
	const ElfW(Dyn) *dynamic;
	ElfW(Addr) base;
	int reached;
};

struct objects {
	struct object list[MAX_OBJECTS];
	int count;
};

static int collect(struct dl_phdr_info *info, size_t size, void *data)
{
	struct objects *objects = data;
	struct object *object;
	int i;

	(void)size;
	if (objects->count == MAX_OBJECTS)
		return 1;
	object = &objects->list[objects->count++];
	object->path = info->dlpi_name ? info->dlpi_name : "";
	object->base = info->dlpi_addr;
	object->dynamic = NULL;
	object->reached = 0;
	for (i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			object->dynamic = (const void *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
	return 0;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* glibc relocates d_ptr in place on x86; musl leaves the link-time address. */
static const char *string_table(const struct object *object)
{
	const ElfW(Dyn) *dyn;

	for (dyn = object->dynamic; dyn && dyn->d_tag != DT_NULL; dyn++)
		if (dyn->d_tag == DT_STRTAB)
			return (const char *)(dyn->d_un.d_ptr < object->base ? object->base + dyn->d_un.d_ptr
									   : dyn->d_un.d_ptr);
	return NULL;
}

static int reach_by_name(struct objects *objects, const char *name)
{
	int i, changed = 0;

	for (i = 0; i < objects->count; i++)
		if (!objects->list[i].reached && !strcmp(base_name(objects->list[i].path), name))
			objects->list[i].reached = changed = 1;
	return changed;
}

static int reach_needed(struct objects *objects, const struct object *from)
{
	const char *strings = string_table(from);
	const ElfW(Dyn) *dyn;
	int changed = 0;

	for (dyn = from->dynamic; strings && dyn && dyn->d_tag != DT_NULL; dyn++)
		if (dyn->d_tag == DT_NEEDED)
			changed |= reach_by_name(objects, strings + dyn->d_un.d_val);
	return changed;
}

static void reach_preloads(struct objects *objects)
{
	const char *preload = getenv("LD_PRELOAD");
	char copy[4096], *item, *save = NULL;

	if (!preload || strlen(preload) >= sizeof(copy))
		return;
	strcpy(copy, preload);
	for (item = strtok_r(copy, ": \t", &save); item; item = strtok_r(NULL, ": \t", &save))
		reach_by_name(objects, base_name(item));
}

static int loaded_at_startup(void)
{
	static struct objects objects;
	Dl_info self;
	int i, changed = 1;

	objects.count = 0;
	dl_iterate_phdr(collect, &objects);
	if (!objects.count || !dladdr((void *)loaded_at_startup, &self))
		return 1; /* unknown: keep the safe, detached behaviour */
	objects.list[0].reached = 1; /* the executable comes first on glibc and musl */
	reach_preloads(&objects);
	while (changed) {
		changed = 0;
		for (i = 0; i < objects.count; i++)
			if (objects.list[i].reached)
				changed |= reach_needed(&objects, &objects.list[i]);
	}
	for (i = 0; i < objects.count; i++)
		if (objects.list[i].reached && !strcmp(objects.list[i].path, self.dli_fname))
			return 1;
	return 0;
}
#endif

static void pin_self(void)
{
#ifdef DLM_PIN_SELF
	/* The seed's fix: an extra reference the loader never drops. */
	if (!dlopen(DLMRT_SONAME, RTLD_LAZY | RTLD_NODELETE)) {
		fprintf(stderr, "dlmrt: error: dlopen of %s failed: %s\n", DLMRT_SONAME, dlerror());
		emit(DLMRT_EV_PIN_ERROR);
	}
#endif
}

__attribute__((constructor)) static void dlm_rt_init(void)
{
	pthread_attr_t attr;
	int i;

	wake_fd = fd_from_env("DLM_WAKE_FD");
	event_fd = fd_from_env("DLM_EVENT_FD");
	emit(DLMRT_EV_CTOR);
	if (pipe(quit_pipe) < 0)
		return;
	fcntl(quit_pipe[0], F_SETFD, FD_CLOEXEC);
	fcntl(quit_pipe[1], F_SETFD, FD_CLOEXEC);
	pin_self();
#ifdef DLM_ADAPTIVE
	joinable = !loaded_at_startup();
#endif
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, joinable ? PTHREAD_CREATE_JOINABLE : PTHREAD_CREATE_DETACHED);
	for (i = 0; i < LISTENERS; i++)
		if (pthread_create(&listeners[i], &attr, listener, NULL) == 0) {
			started++;
			emit(DLMRT_EV_LISTENER_START);
		}
	pthread_attr_destroy(&attr);
	wait_listeners_ready(started);
}

/* Like lttng_ust_exit: raise the quit flag, join nothing (unless adaptive
 * decided the threads are joinable). */
__attribute__((destructor)) static void dlm_rt_exit(void)
{
	int i;

	emit(DLMRT_EV_DTOR);
	quit = 1;
	if (!joinable)
		return;
	if (write(quit_pipe[1], "q", 1) != 1)
		return;
	for (i = 0; i < started; i++)
		pthread_join(listeners[i], NULL);
	close(quit_pipe[0]);
	close(quit_pipe[1]);
}

int dlm_rt_register(struct dlm_probe *probe)
{
	pthread_mutex_lock(&probes_lock);
	probe->next = probes;
	probes = probe;
	pthread_mutex_unlock(&probes_lock);
	return 0;
}

void dlm_rt_unregister(struct dlm_probe *probe)
{
	struct dlm_probe **link;

	pthread_mutex_lock(&probes_lock);
	for (link = &probes; *link; link = &(*link)->next)
		if (*link == probe) {
			*link = probe->next;
			break;
		}
	pthread_mutex_unlock(&probes_lock);
}

int dlm_rt_fire(struct dlm_probe *probe)
{
	struct dlm_probe *it;
	int found = 0;

	pthread_mutex_lock(&probes_lock);
	for (it = probes; it; it = it->next)
		found |= it == probe;
	pthread_mutex_unlock(&probes_lock);
	if (!found)
		return -1;
	probe->fired++;
	emit(DLMRT_EV_FIRE);
	return 0;
}

const char *dlm_rt_variant(void)
{
	return DLM_VARIANT;
}
