/* The driver's wake-ups: the pipes it shares with the runtime (wake bytes in,
 * events out), the events counted, listeners woken through the pipe, helper
 * programs (DLM_WAKE_COMMAND, run:NAME) and connections (DLM_WAKE_CONNECT). */
#define _GNU_SOURCE
#include "driver.h"
#include "pipes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAKE_WAIT_MS 1000

struct counters seen;
static int wake_write = -1, wake_read = -1, event_read = -1;

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
void drain_events(int timeout_ms)
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

/* The pipes (pipes.h): dlm-suite opened them for us; started by hand, the driver opens them and
 * runs itself again, so that a runtime loaded at start-up finds them in its constructor. */
void set_up_pipes(char **argv)
{
	if (getenv("DLM_WAKE_FD") && getenv("DLM_EVENT_FD") && getenv("DLM_WAKE_WRITE_FD") &&
	    getenv("DLM_EVENT_READ_FD")) {
		wake_read = atoi(getenv("DLM_WAKE_FD"));
		wake_write = atoi(getenv("DLM_WAKE_WRITE_FD"));
		event_read = atoi(getenv("DLM_EVENT_READ_FD"));
		return;
	}
	if (dlm_open_pipes() < 0)
		die(DLM_EXIT_SYSTEM, "pipe: %s", strerror(errno));
	execv("/proc/self/exe", argv);
	execv(argv[0], argv);
	die(DLM_EXIT_SYSTEM, "re-exec of %s failed: %s", argv[0], strerror(errno));
}

/* A helper script (first line exactly "#!/bin/sh") runs in DLM_HELPER_SHELL where that is set and
 * starts: a foreign image sets the build machine's, which runs natively where the image's own
 * /bin/sh would be translated anew under qemu-user at every start.  Where it cannot start (an
 * image taken to a host of its own architecture), the script's own line decides. */
static void exec_helper(const char *path)
{
	static const char posix_sh[] = "#!/bin/sh\n";
	const char *shell = getenv("DLM_HELPER_SHELL");
	char head[sizeof(posix_sh) - 1];
	int fd;

	if (shell && *shell && (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		if (read(fd, head, sizeof(head)) == (ssize_t)sizeof(head) &&
		    memcmp(head, posix_sh, sizeof(head)) == 0) {
			close(fd);
			execl(shell, shell, path, (char *)NULL);
		} else {
			close(fd);
		}
	}
	execl(path, path, (char *)NULL);
}

/* Runs a helper program to completion; its stdout is ours, so it may add evidence.  A helper
 * that names its cause (a helper's code of exits.h) ends the driver with it; any other failure
 * is DLM_EXIT_HELPER. */
void run_program(const char *path)
{
	int status;
	pid_t child;

	fflush(NULL);
	child = fork();
	if (child < 0)
		die(DLM_EXIT_SYSTEM, "fork: %s", strerror(errno));
	if (child == 0) {
		exec_helper(path);
		fprintf(stderr, "dlm-driver: cannot run %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	if (waitpid(child, &status, 0) < 0)
		die(DLM_EXIT_SYSTEM, "waitpid: %s", strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	if (WIFEXITED(status) && dlm_helper_cause(WEXITSTATUS(status)))
		die((enum dlm_exit)WEXITSTATUS(status), "%s exited %d", path, WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		die(DLM_EXIT_HELPER, "%s was killed by signal %d", path, WTERMSIG(status));
	die(DLM_EXIT_HELPER, "%s failed (exit %d, a code that names no cause)", path, WEXITSTATUS(status));
}

void run_tool(const char *name)
{
	char path[1024];

	if (strchr(name, '/'))
		die(DLM_EXIT_USAGE, "run:%s: name a program of the runtime's bin/, not a path", name);
	snprintf(path, sizeof(path), "%s/../bin/%s", libdir, name);
	run_program(path);
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
		die(DLM_EXIT_WAKE, "bad wake address '%s' (host:port)", address);
	snprintf(host, sizeof(host), "%.*s", (int)(colon - address), address);
	to.sin_port = htons((unsigned short)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &to.sin_addr) != 1)
		die(DLM_EXIT_WAKE, "bad wake address '%s' (an IPv4 host:port)", address);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0)
		die(DLM_EXIT_WAKE, "wake: connect to %s: %s", address, strerror(errno));
	evidence("wake_connected", "%s", address);
	close(fd);
}

static void connect_to_published(void)
{
	char path[1024], line[128];
	FILE *file;

	snprintf(path, sizeof(path), "%s/wake-address", getenv("DLM_WORKDIR") ? getenv("DLM_WORKDIR") : ".");
	if (!(file = fopen(path, "r")))
		die(DLM_EXIT_WAKE, "wake: no provider published an address in %s", path);
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
void wake(void)
{
	int live = live_listeners(), i, before = seen.heartbeats;
	char byte = DLMRT_WAKE, drop;
	struct timespec start, now;

	evidence("woken", "%d", live);
	for (i = 0; i < live; i++)
		if (write(wake_write, &byte, 1) != 1)
			die(DLM_EXIT_SYSTEM, "write to wake pipe: %s", strerror(errno));
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

/* Exit while listeners are busy: detached threads die with the process at
 * once; joined threads hold exit() up (the reason upstream detaches them).
 * Exits once every listener said it is busy (or after WAKE_WAIT_MS). */
void exit_fast(void)
{
	int live = live_listeners(), i, before = seen.busy;
	char byte = DLMRT_WAKE_BUSY;

	for (i = 0; i < live; i++)
		if (write(wake_write, &byte, 1) != 1)
			die(DLM_EXIT_SYSTEM, "write to wake pipe: %s", strerror(errno));
	for (i = 0; i < WAKE_WAIT_MS && seen.busy - before < live; i++)
		drain_events(1);
	evidence("busy_listeners", "%d", seen.busy - before);
	exit(DLM_EXIT_PASS);
}

void sleep_ms(long ms)
{
	struct timespec left = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&left, &left) < 0 && errno == EINTR)
		;
}
