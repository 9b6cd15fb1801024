/* Scenario driver: the application of the seed.  It is NOT linked against the
 * runtime (unless built as dlm-driver-linked) and runs the steps given on its
 * command line, one per argument (matrix/scenarios.yaml says what each does).
 * The step language is defined once, in src/dlmatrix/config/steps.py (STEPS);
 * the bundle's generated.h brings it here as DLM_STEPS, one entry per verb with
 * its number of arguments, which run_step looks up; each verb is run by the
 * function step_VERB below (a verb without one does not compile, one without a
 * verb is unused: -Werror).
 * Evidence goes to stdout as "@ key value" lines, written as it is gathered so
 * that a crash loses nothing already seen.  Exit codes: 0 pass, 2 bad usage,
 * 3 threads or memory unbounded, 4 a step failed, 5 the forked child failed.
 *
 * The runtime under test is described by the environment (the suite runner
 * sets it from rt/VARIANT/env): DLM_RUNTIME_SONAME (looked for after dlclose),
 * DLM_RUNTIME_LIB (what open-runtime opens), DLM_WAKE_COMMAND (how to wake a
 * runtime's listeners besides the wake pipe, e.g. start a session daemon),
 * DLM_WAKE_SLEEP_MS (how long a wake waits for threads that wake by themselves),
 * DLM_WAKE_CONNECT (connect to each address the providers wrote to
 * $DLM_WORKDIR/wake-address, one host:port per line), and how its threads are
 * told apart: DLM_THREAD_PATTERN (a glob on their names) or DLM_THREADS_ADDED
 * (the threads beyond those the driver started with). */
#define _GNU_SOURCE
#include "dlmrt.h"
#include "generated.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_HANDLES 8
#define WAKE_WAIT_MS 1000
#define THREAD_GROWTH_BOUND 4
#define RSS_GROWTH_BOUND_KB (16 * 1024)

struct handle {
	char name[32];
	void *dl;
};

struct counters {
	int ctor, dtor, started, exited, heartbeats, fired, pin_errors, busy;
};

static struct handle handles[MAX_HANDLES];
static void *runtime_handle;
static struct counters seen;
static const char *libdir;
static const char *runtime_soname = DLMRT_SONAME;
static int fire_count;
static int wake_write = -1, wake_read = -1, event_read = -1;
static long threads_before_cycles = -1, threads_after_cycles = -1;
static long rss_before_cycles = -1, rss_after_cycles = -1;
static void sleep_ms(long ms);
static int loader_log = -1; /* glibc's LD_DEBUG_OUTPUT file, to mark where each step begins */
static long threads_at_start = -1; /* DLM_THREADS_ADDED counts the threads beyond these */

static void evidence(const char *key, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n = snprintf(line, sizeof(line), "@ %s ", key);

	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDOUT_FILENO, line, (size_t)n) < 0)
		_exit(2);
}

static void die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("dlm-driver: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(code);
}

static void count_event(char event)
{
	switch (event) {
	case DLMRT_EV_CTOR: seen.ctor++; break;
	case DLMRT_EV_DTOR: seen.dtor++; break;
	case DLMRT_EV_LISTENER_START: seen.started++; break;
	case DLMRT_EV_LISTENER_EXIT: seen.exited++; break;
	case DLMRT_EV_HEARTBEAT: seen.heartbeats++; break;
	case DLMRT_EV_FIRE: seen.fired++; break;
	case DLMRT_EV_PIN_ERROR: seen.pin_errors++; break;
	case DLMRT_EV_BUSY: seen.busy++; break;
	default: break;
	}
}

/* Reads what the runtime reported, waiting up to timeout_ms for more. */
static void drain_events(int timeout_ms)
{
	struct pollfd fd = { event_read, POLLIN, 0 };
	char buf[256];
	ssize_t n, i;

	while (poll(&fd, 1, timeout_ms) > 0) {
		n = read(event_read, buf, sizeof(buf));
		if (n <= 0)
			return;
		for (i = 0; i < n; i++)
			count_event(buf[i]);
		timeout_ms = 0;
	}
}

static int live_listeners(void)
{
	drain_events(0);
	return seen.started - seen.exited;
}

/* Pipes live in the driver, not in the runtime, so that they survive an
 * unmapping.  The runtime finds them in its constructor through the
 * environment; runtimes loaded at start-up need them before main(), hence the
 * re-exec. */
static void set_up_pipes(char **argv)
{
	int wake[2], events[2];
	char value[16];

	if (getenv("DLM_WAKE_FD") && getenv("DLM_EVENT_FD") && getenv("DLM_WAKE_WRITE_FD") &&
	    getenv("DLM_EVENT_READ_FD")) {
		wake_read = atoi(getenv("DLM_WAKE_FD"));
		wake_write = atoi(getenv("DLM_WAKE_WRITE_FD"));
		event_read = atoi(getenv("DLM_EVENT_READ_FD"));
		return;
	}
	if (pipe(wake) < 0 || pipe(events) < 0)
		die(2, "pipe: %s", strerror(errno));
	fcntl(events[0], F_SETFL, O_NONBLOCK);
	fcntl(wake[0], F_SETFL, O_NONBLOCK);
	snprintf(value, sizeof(value), "%d", wake[0]);
	setenv("DLM_WAKE_FD", value, 1);
	snprintf(value, sizeof(value), "%d", wake[1]);
	setenv("DLM_WAKE_WRITE_FD", value, 1);
	snprintf(value, sizeof(value), "%d", events[1]);
	setenv("DLM_EVENT_FD", value, 1);
	snprintf(value, sizeof(value), "%d", events[0]);
	setenv("DLM_EVENT_READ_FD", value, 1);
	execv("/proc/self/exe", argv);
	execv(argv[0], argv);
	die(2, "re-exec of %s failed: %s", argv[0], strerror(errno));
}

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
	die(2, "provider %s is %s", name, create ? "opened too often" : "not open");
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

static void open_provider(const char *name, const char *flags)
{
	struct handle *h = find_handle(name, 1);
	char path[1024];

	snprintf(path, sizeof(path), "%s/libdlmprov_%s.so", libdir, name);
	h->dl = dlopen(path, parse_flags(flags));
	if (!h->dl)
		die(4, "dlopen(%s): %s", path, dlerror());
	settle();
	drain_events(0);
}

static void close_provider(const char *name)
{
	struct handle *h = find_handle(name, 0);

	if (dlclose(h->dl))
		die(4, "dlclose(%s): %s", name, dlerror());
	h->dl = NULL;
}

static void *close_in_thread_main(void *name)
{
	close_provider(name);
	return NULL;
}

static void close_in_thread(const char *name)
{
	pthread_t thread;

	if (pthread_create(&thread, NULL, close_in_thread_main, (void *)name))
		die(4, "pthread_create failed");
	pthread_join(thread, NULL);
}

static void fire(const char *name)
{
	struct handle *h = find_handle(name, 0);
	int (*fire_probe)(void) = (int (*)(void))dlsym(h->dl, "dlm_provider_fire");
	char seq[16];

	if (!fire_probe)
		die(4, "dlsym(%s, dlm_provider_fire): %s", name, dlerror());
	snprintf(seq, sizeof(seq), "%d", ++fire_count);
	setenv("DLM_FIRE_SEQ", seq, 1); /* providers that trace record it, to tell phases apart */
	if (fire_probe() != 0)
		die(4, "provider %s fired but its probe is not registered", name);
	drain_events(0);
}

static void open_runtime(void)
{
	char path[1024];

	if (getenv("DLM_RUNTIME_LIB"))
		snprintf(path, sizeof(path), "%s", getenv("DLM_RUNTIME_LIB"));
	else
		snprintf(path, sizeof(path), "%s/%s", libdir, DLMRT_SONAME);
	runtime_handle = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
	if (!runtime_handle)
		die(4, "dlopen(%s): %s", path, dlerror());
	settle();
}

static void close_runtime(void)
{
	if (!runtime_handle || dlclose(runtime_handle))
		die(4, "dlclose(runtime) failed");
	runtime_handle = NULL;
}

/* Runs a helper program to completion; its stdout is ours, so it may add evidence. */
static void run_program(const char *path)
{
	int status;
	pid_t child;

	fflush(NULL);
	child = fork();
	if (child < 0)
		die(4, "fork: %s", strerror(errno));
	if (child == 0) {
		execl(path, path, (char *)NULL);
		fprintf(stderr, "dlm-driver: cannot run %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	if (waitpid(child, &status, 0) < 0)
		die(4, "waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die(4, "%s failed (status %d)", path, status);
}

static void run_tool(const char *name)
{
	char path[1024];

	if (strchr(name, '/'))
		die(2, "run:%s: name a program of the runtime's bin/, not a path", name);
	snprintf(path, sizeof(path), "%s/../bin/%s", libdir, name);
	run_program(path);
}

/* The context switches a thread has made so far: it ran if the count grew. */
static long context_switches(const char *task)
{
	char path[300], line[128];
	long total = 0, value;
	FILE *file;

	snprintf(path, sizeof(path), "/proc/self/task/%s/status", task);
	if (!(file = fopen(path, "r")))
		return 0;
	while (fgets(line, sizeof(line), file))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &value) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %ld", &value) == 1)
			total += value;
	fclose(file);
	return total;
}

/* A real runtime's listeners are the threads whose name matches pattern (a
 * glob): how many there are and how often they have run (context switches). */
static int count_listener_threads(const char *pattern, long *switches)
{
	DIR *tasks = opendir("/proc/self/task");
	struct dirent *entry;
	char path[300], comm[64];
	int count = 0;

	*switches = 0;
	if (!tasks)
		return -1;
	while ((entry = readdir(tasks))) {
		FILE *file;
		size_t n;

		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", entry->d_name);
		if (entry->d_name[0] == '.' || !(file = fopen(path, "r")))
			continue;
		n = fread(comm, 1, sizeof(comm) - 1, file);
		fclose(file);
		comm[n] = 0;
		comm[strcspn(comm, "\n")] = 0;
		if (!fnmatch(pattern, comm, 0)) {
			count++;
			*switches += context_switches(entry->d_name);
		}
	}
	closedir(tasks);
	return count;
}

/* Connects to one host:port a provider published, then hangs up: the
 * accepting thread (e.g. libzmq's I/O thread) runs its library's code. */
static void connect_to(const char *address)
{
	char host[64];
	const char *colon = strrchr(address, ':');
	struct sockaddr_in to = { .sin_family = AF_INET };
	int fd;

	if (!colon || (size_t)(colon - address) >= sizeof(host))
		die(4, "bad wake address '%s' (host:port)", address);
	snprintf(host, sizeof(host), "%.*s", (int)(colon - address), address);
	to.sin_port = htons((unsigned short)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &to.sin_addr) != 1)
		die(4, "bad wake address '%s' (an IPv4 host:port)", address);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0)
		die(4, "wake: connect to %s: %s", address, strerror(errno));
	evidence("wake_connected", "%s", address);
	close(fd);
}

static void connect_to_published(void)
{
	char path[1024], line[128];
	FILE *file;

	snprintf(path, sizeof(path), "%s/wake-address", getenv("DLM_WORKDIR") ? getenv("DLM_WORKDIR") : ".");
	if (!(file = fopen(path, "r")))
		die(4, "wake: no provider published an address in %s", path);
	while (fgets(line, sizeof(line), file)) {
		line[strcspn(line, "\r\n")] = 0;
		if (line[0])
			connect_to(line);
	}
	fclose(file);
}

/* Wakes every live listener through the driver's pipe and counts heartbeats;
 * a real runtime's listeners are woken by DLM_WAKE_COMMAND instead.
 * After an unmapping, the wake-up returns into unmapped text: SIGSEGV. */
static void wake(void)
{
	int live = live_listeners(), i, before = seen.heartbeats;
	char byte = DLMRT_WAKE, drop;
	struct timespec start, now;

	evidence("woken", "%d", live);
	for (i = 0; i < live; i++)
		if (write(wake_write, &byte, 1) != 1)
			die(4, "write to wake pipe: %s", strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (seen.heartbeats - before < live) {
		long waited;

		clock_gettime(CLOCK_MONOTONIC, &now);
		waited = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (waited >= WAKE_WAIT_MS)
			break;
		drain_events((int)(WAKE_WAIT_MS - waited));
	}
	while (read(wake_read, &drop, 1) == 1)
		; /* unclaimed wake-ups must not leak into a later step */
	evidence("heartbeats", "%d", seen.heartbeats - before);
	if (getenv("DLM_WAKE_COMMAND"))
		run_program(getenv("DLM_WAKE_COMMAND"));
	if (getenv("DLM_WAKE_CONNECT"))
		connect_to_published();
	if (getenv("DLM_WAKE_SLEEP_MS")) /* threads that wake by themselves (a timer) */
		sleep_ms(atol(getenv("DLM_WAKE_SLEEP_MS")));
}

/* The soname itself or the versioned file it names (liblttng-ust.so.1.0.0). */
static int names_runtime(const char *file)
{
	size_t length = strlen(runtime_soname);

	return !strncmp(file, runtime_soname, length) && (file[length] == 0 || file[length] == '.');
}

static int mapped_in_proc_maps(void)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[1024];
	int found = 0;

	if (!maps)
		return -1;
	while (!found && fgets(line, sizeof(line), maps)) {
		const char *slash = strrchr(line, '/');

		line[strcspn(line, "\n")] = 0;
		found = slash && names_runtime(slash + 1);
	}
	fclose(maps);
	return found;
}

static int phdr_visit(struct dl_phdr_info *info, size_t size, void *found)
{
	const char *name = info->dlpi_name ? strrchr(info->dlpi_name, '/') : NULL;

	(void)size;
	if (name && names_runtime(name + 1))
		*(int *)found = 1;
	return 0;
}

static int mapped_in_phdr(void)
{
	int found = 0;

	dl_iterate_phdr(phdr_visit, &found);
	return found;
}

/* DLM_EVIDENCE_KEY=value in the runtime's description (where it was built
 * from: upstream repository, commit, patches) becomes evidence key: value. */
static void report_provenance(void)
{
	extern char **environ;
	char key[128];
	char **item;
	size_t i;

	for (item = environ; *item; item++) {
		const char *text = *item + strlen("DLM_EVIDENCE_"), *equals;

		if (strncmp(*item, "DLM_EVIDENCE_", strlen("DLM_EVIDENCE_")) || !(equals = strchr(text, '=')))
			continue;
		for (i = 0; text + i < equals && i < sizeof(key) - 1; i++)
			key[i] = (char)tolower((unsigned char)text[i]);
		key[i] = 0;
		evidence(key, "%s", equals + 1);
	}
}

/* NOLOAD by soname; the probe's own reference is dropped again at once. */
static int loaded(const char *soname)
{
	void *probe = dlopen(soname, RTLD_LAZY | RTLD_NOLOAD);

	if (!probe)
		return 0;
	dlclose(probe);
	return 1;
}

/* DLM_WATCH_SONAMES (comma-separated): other objects whose presence explains the
 * runtime's, e.g. the one that holds it loaded; each gives loaded:SONAME. */
static void watch_sonames(const char *label)
{
	char list[512], key[300], *save = NULL, *name;

	snprintf(list, sizeof(list), "%s", getenv("DLM_WATCH_SONAMES") ? getenv("DLM_WATCH_SONAMES") : "");
	for (name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		snprintf(key, sizeof(key), label ? "loaded:%s@%s" : "loaded:%s", name, label);
		evidence(key, "%s", loaded(name) ? "true" : "false");
	}
}

static long count_threads(void)
{
	DIR *tasks = opendir("/proc/self/task");
	struct dirent *entry;
	long count = 0;

	if (!tasks)
		return -1;
	while ((entry = readdir(tasks)))
		count += entry->d_name[0] != '.';
	closedir(tasks);
	return count;
}

static long rss_kb(void)
{
	FILE *statm = fopen("/proc/self/statm", "r");
	long size, resident = -1;

	if (!statm)
		return -1;
	if (fscanf(statm, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(statm);
	return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static const char *truth(int value)
{
	return value < 0 ? "null" : value ? "true" : "false";
}

static void check(const char *label)
{
	int maps = mapped_in_proc_maps(), phdr = mapped_in_phdr(), noload = loaded(runtime_soname);
	char key[64];

	drain_events(0);
#define LABELLED(name) (snprintf(key, sizeof(key), label ? "%s@%s" : "%s", name, label), key)
	evidence(LABELLED("mapped"), "%s", truth(maps < 0 ? phdr : maps));
	evidence(LABELLED("mapped_maps"), "%s", truth(maps));
	evidence(LABELLED("mapped_phdr"), "%s", truth(phdr));
	evidence(LABELLED("mapped_noload"), "%s", truth(noload));
	evidence(LABELLED("threads_live"), "%ld", count_threads());
	watch_sonames(label);
	if (getenv("DLM_THREAD_PATTERN")) { /* a real runtime: its threads are all we can see */
		long switches;

		evidence(LABELLED("listener_threads"), "%d",
			 count_listener_threads(getenv("DLM_THREAD_PATTERN"), &switches));
		/* grows between two checks when the listeners ran in between (a wake) */
		evidence(LABELLED("listener_switches"), "%ld", switches);
	} else if (getenv("DLM_THREADS_ADDED")) { /* unnamed threads: those beyond the driver's own */
		evidence(LABELLED("listener_threads"), "%ld", count_threads() - threads_at_start);
	} else { /* the model reports its own events */
		evidence(LABELLED("listeners_live"), "%d", seen.started - seen.exited);
		evidence(LABELLED("ctor_runs"), "%d", seen.ctor);
		evidence(LABELLED("dtor_runs"), "%d", seen.dtor);
		evidence(LABELLED("listeners_started"), "%d", seen.started);
		evidence(LABELLED("events_fired"), "%d", seen.fired);
		evidence(LABELLED("pin_errors"), "%d", seen.pin_errors);
	}
#undef LABELLED
}

static void cycles(long count, const char *name)
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

static void bounded(void)
{
	long threads = threads_after_cycles - threads_before_cycles;
	long rss = rss_after_cycles - rss_before_cycles;

	if (threads_before_cycles < 0 || rss_before_cycles < 0)
		die(2, "bounded needs a cycles step before it and /proc mounted");
	if (threads > THREAD_GROWTH_BOUND)
		die(3, "threads grew by %ld over the cycles (bound %d)", threads, THREAD_GROWTH_BOUND);
	if (rss > RSS_GROWTH_BOUND_KB)
		die(3, "resident memory grew by %ld KiB over the cycles (bound %d)", rss, RSS_GROWTH_BOUND_KB);
}

static void fork_child(const char *name)
{
	int status;
	pid_t child = fork();

	if (child < 0)
		die(4, "fork: %s", strerror(errno));
	if (child == 0) {
		open_provider(name, NULL);
		fire(name);
		close_provider(name);
		exit(0);
	}
	if (waitpid(child, &status, 0) < 0)
		die(4, "waitpid: %s", strerror(errno));
	if (WIFSIGNALED(status)) {
		evidence("child_signal", "%d", WTERMSIG(status));
		die(5, "forked child died of signal %d", WTERMSIG(status));
	}
	evidence("child_exit", "%d", WEXITSTATUS(status));
	if (WEXITSTATUS(status))
		die(5, "forked child exited %d", WEXITSTATUS(status));
}

/* Exit while listeners are busy: detached threads die with the process at
 * once; joined threads hold exit() up (the reason upstream detaches them).
 * Exits once every listener said it is busy (or after WAKE_WAIT_MS). */
static void exit_fast(void)
{
	int live = live_listeners(), i, before = seen.busy;
	char byte = DLMRT_WAKE_BUSY;

	for (i = 0; i < live; i++)
		if (write(wake_write, &byte, 1) != 1)
			die(4, "write to wake pipe: %s", strerror(errno));
	for (i = 0; i < WAKE_WAIT_MS && seen.busy - before < live; i++)
		drain_events(1);
	evidence("busy_listeners", "%d", seen.busy - before);
	exit(0);
}

static void sleep_ms(long ms)
{
	struct timespec left = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&left, &left) < 0 && errno == EINTR)
		;
}

/* A line in the loader's own log (O_APPEND, like ld.so's) naming the step whose
 * unloading follows, so that dlm-suite can tell which dlclose() did what. */
static void loader_mark(const char *what)
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

static void open_loader_log(void)
{
	char path[1024];

	if (!getenv("LD_DEBUG_OUTPUT"))
		return;
	snprintf(path, sizeof(path), "%s.%ld", getenv("LD_DEBUG_OUTPUT"), (long)getpid());
	loader_log = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (loader_log >= 0)
		atexit(mark_exit);
}

/* The steps, each run with its arguments (args[i] NULL beyond those given). */
static void step_open(char **args)
{
	open_provider(args[0], args[1]);
}

static void step_close(char **args)
{
	close_provider(args[0]);
}

static void step_close_in_thread(char **args)
{
	close_in_thread(args[0]);
}

static void step_fire(char **args)
{
	fire(args[0]);
}

static void step_open_runtime(char **args)
{
	(void)args;
	open_runtime();
}

static void step_close_runtime(char **args)
{
	(void)args;
	close_runtime();
}

static void step_wake(char **args)
{
	(void)args;
	wake();
}

static void step_check(char **args)
{
	check(args[0]);
}

static void step_cycles(char **args)
{
	cycles(strtol(args[0], NULL, 10), args[1]);
}

static void step_bounded(char **args)
{
	(void)args;
	bounded();
}

static void step_fork_child(char **args)
{
	fork_child(args[0]);
}

static void step_exit_fast(char **args)
{
	(void)args;
	exit_fast();
}

static void step_run(char **args)
{
	run_tool(args[0]);
}

static void step_sleep(char **args)
{
	sleep_ms(strtol(args[0], NULL, 10));
}

struct step {
	const char *verb;
	int least, most; /* arguments, after the verb, each after a ':' */
	void (*run)(char **args);
};

#define STEP(verb, name, least, most) { verb, least, most, step_##name },
static const struct step steps[] = { DLM_STEPS(STEP) };
#undef STEP

static const struct step *find_step(const char *verb)
{
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(*steps); i++)
		if (!strcmp(verb, steps[i].verb))
			return &steps[i];
	return NULL;
}

static void run_step(char *step)
{
	char *verb, *arg, *args[DLM_STEP_ARGUMENTS + 1] = { NULL };
	const struct step *known;
	int count = 0;

	loader_mark(step);
	verb = strtok(step, ":");
	if (!verb)
		die(2, "empty step");
	for (; (arg = strtok(NULL, ":")); count++)
		if (count < DLM_STEP_ARGUMENTS)
			args[count] = arg;
	known = find_step(verb);
	if (!known || count < known->least)
		die(2, "unknown or incomplete step '%s'", verb);
	if (count > known->most)
		die(2, "step '%s' takes at most %d argument(s)", verb, known->most);
	known->run(args);
}

int main(int argc, char **argv)
{
	int i;

	if (argc < 2)
		die(2, "usage: %s STEP...", argv[0]);
	set_up_pipes(argv);
	/* the loader's account is of this process (and its forks); helpers it runs keep theirs */
	open_loader_log();
	unsetenv("LD_DEBUG");
	unsetenv("LD_DEBUG_OUTPUT");
	libdir = getenv("DLM_LIBDIR");
	if (!libdir)
		die(2, "DLM_LIBDIR is not set (the suite runner sets it)");
	if (getenv("DLM_RUNTIME_SONAME"))
		runtime_soname = getenv("DLM_RUNTIME_SONAME");
	if (getenv("DLM_RUNTIME_VERSION"))
		evidence("runtime_version", "%s", getenv("DLM_RUNTIME_VERSION"));
	report_provenance();
	threads_at_start = count_threads();
#ifdef DLM_LINKED_MODEL
	evidence("linked_variant", "%s", dlm_rt_variant());
#endif
	for (i = 1; i < argc; i++)
		run_step(argv[i]);
	return 0;
}
