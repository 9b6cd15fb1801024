/* dlm-suite's attempts: one attempt of a cell in a slot, from its working directory
 * and the driver's environment to its classification and the loader's account. */
#define _GNU_SOURCE
#include "suite.h"

#include "exits.h"
#include "pipes.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define LD_DEBUG_FILE "ld-debug" /* glibc appends .PID */
#define TRUNCATED "0:\tdlm step truncated-here\n"

struct slot slots[DLM_MAX_JOBS];
int announce_attempts;
int host_gone;

static void expand(char *out, size_t size, const char *text, const char *rtdir)
{
	size_t used = 0;

	while (*text && used + 1 < size) {
		if (!strncmp(text, "@RTLIB@", 7)) {
			const char *lib = getenv("DLM_RUNTIME_LIB");

			used += (size_t)snprintf(out + used, size - used, "%s", lib ? lib : "");
			text += 7;
		} else if (!strncmp(text, "@RT@", 4)) {
			used += (size_t)snprintf(out + used, size - used, "%s", rtdir);
			text += 4;
		} else {
			out[used++] = *text++;
		}
		if (used >= size)
			used = size - 1;
	}
	out[used] = 0;
}

/* The runtime's own description (rt/VARIANT/env), applied before the scenario's. */
static void apply_runtime_env(const char *rtdir)
{
	char path[PATH_MAX], line[2048], item[PATH_MAX * 2];
	FILE *file;

	snprintf(path, sizeof(path), "%s/env", rtdir);
	file = fopen(path, "r");
	if (!file)
		return;
	while (fgets(line, sizeof(line), file)) {
		line[strcspn(line, "\r\n")] = 0;
		if (line[0] && line[0] != '#' && strchr(line, '=')) {
			expand(item, sizeof(item), line, rtdir);
			putenv(copy(item));
		}
	}
	fclose(file);
}

/* The value of KEY in the runtime's description, or "" (read by the scheduler). */
void runtime_value(const char *rtdir, const char *key, char *out, size_t size)
{
	char path[PATH_MAX], line[2048];
	size_t length = strlen(key);
	FILE *file;

	out[0] = 0;
	snprintf(path, sizeof(path), "%s/env", rtdir);
	if (!(file = fopen(path, "r")))
		return;
	while (fgets(line, sizeof(line), file)) {
		line[strcspn(line, "\r\n")] = 0;
		if (!strncmp(line, key, length) && line[length] == '=') {
			strncpy(out, line + length + 1, size - 1); /* a group name: truncation is harmless */
			out[size - 1] = 0;
		}
	}
	fclose(file);
}

/* DLM_SETUP_COMMAND, run before the driver (e.g. a fresh futex for LTTng-UST). */
static void run_setup(void)
{
	const char *command = getenv("DLM_SETUP_COMMAND");
	int status;
	pid_t child;

	if (!command || !*command)
		return;
	child = fork();
	if (child == 0) {
		execl(command, command, (char *)NULL);
		_exit(127);
	}
	if (child < 0 || waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "dlm-suite: the runtime's setup command %s failed\n", command);
		_exit(DLM_EXIT_HELPER); /* the driver never ran: the helper is the cause */
	}
}

/* In the child: isolation first (its own process group, working directory,
 * LTTNG_HOME and TMPDIR, no standard input), then the runtime's description and
 * the scenario's environment, then the driver, as the attempt's uid (lanes.c).  A non-root session daemon keeps
 * its sockets in $LTTNG_HOME/.lttng, so that is the cell's own run directory;
 * LTTNG_RUNDIR is not set: LTTng 2.16's session daemon honours it and its
 * applications do not, so they would never meet. */
static void exec_driver(const struct cell *cell, const char *rtdir, const char *workdir, long uid, gid_t gid)
{
	char driver[PATH_MAX], libdir[PATH_MAX], item[PATH_MAX * 2];
	char **argv, *steps = copy(cell->steps), *env = copy(cell->env), *save = NULL, *word;
	struct rlimit no_core = { 0, 0 };
	int argc = 1, null = open("/dev/null", O_RDONLY);

	setpgid(0, 0);
	setrlimit(RLIMIT_CORE, &no_core); /* the crashes are the point; no core files */
	if (null >= 0)
		dup2(null, STDIN_FILENO); /* in token mode standard input carries the host's tokens */
	snprintf(driver, sizeof(driver), "%s/bin/%s", rtdir, cell->driver);
	snprintf(libdir, sizeof(libdir), "%s/lib", rtdir);
	/* the driver's pipes (pipes.h), so that it need not run itself again to have them before its
	 * runtime's constructor: under qemu-user every program started is translated anew */
	if (dlm_open_pipes() < 0) {
		fprintf(stderr, "dlm-suite: pipe: %s\n", strerror(errno));
		_exit(127);
	}
	setenv("DLM_LIBDIR", libdir, 1);
	setenv("DLM_WORKDIR", workdir, 1);
	setenv("TMPDIR", workdir, 1);
	setenv("LTTNG_HOME", workdir, 1); /* a session daemon of this attempt only */
	unsetenv("LTTNG_RUNDIR");
	if (uid >= 0 && become((uid_t)uid, gid)) { /* lanes_init() saw it work: say why it did not */
		fprintf(stderr, "dlm-suite: cannot switch to uid %ld: %s\n", uid, strerror(errno));
		_exit(127);
	}
	apply_runtime_env(rtdir);
	run_setup(); /* as the attempt's uid: dlm-lttng-fresh renews that uid's futex only */
	for (word = strtok_r(env, " ", &save); word; word = strtok_r(NULL, " ", &save))
		if (strcmp(word, "-")) {
			expand(item, sizeof(item), word, rtdir);
			putenv(copy(item));
		}
	if (!strcmp(libc_family, "glibc")) { /* the driver passes neither on to its helpers */
		snprintf(item, sizeof(item), "%s/" LD_DEBUG_FILE, workdir);
		setenv("LD_DEBUG", "files", 1);
		setenv("LD_DEBUG_OUTPUT", item, 1);
	}
	argv = calloc(strlen(cell->steps) / 2 + 3, sizeof(*argv)); /* a step per two characters at most */
	if (!argv)
		_exit(127);
	argv[0] = driver;
	for (word = strtok_r(steps, " ", &save); word; word = strtok_r(NULL, " ", &save))
		argv[argc++] = word;
	argv[argc] = NULL;
	if (chdir(workdir) == 0)
		execv(driver, argv);
	fprintf(stderr, "dlm-suite: cannot run %s: %s\n", driver, strerror(errno));
	_exit(127);
}

static void capture_from(int fd, struct capture *capture, int *open_fd)
{
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n <= 0) {
		close(fd);
		*open_fd = -1;
		return;
	}
	if (capture->length + (size_t)n > CAPTURE) {
		capture->truncated = 1;
		n = (ssize_t)(CAPTURE - capture->length);
	}
	memcpy(capture->data + capture->length, buf, (size_t)n);
	capture->length += (size_t)n;
}

static void classify(struct attempt *a, int status, int timed_out)
{
	if (timed_out) {
		snprintf(a->result, sizeof(a->result), "timeout");
	} else if (WIFSIGNALED(status)) {
		a->signal = WTERMSIG(status);
		snprintf(a->result, sizeof(a->result), "crash:%s", signal_name(a->signal));
	} else if (WEXITSTATUS(status) == 0) {
		snprintf(a->result, sizeof(a->result), "pass");
	} else {
		a->exit_code = WEXITSTATUS(status);
		/* 2: the driver refused its steps; 126/127: it could not be run. */
		if (a->exit_code == 2 || a->exit_code == 126 || a->exit_code == 127)
			snprintf(a->result, sizeof(a->result), "error");
		else
			snprintf(a->result, sizeof(a->result), "exit:%d", a->exit_code);
	}
}

/* A marker file left by build.sh decides the cell without running it. */
static int read_marker(const char *rtdir, const char *marker, const char *result, struct attempt *a)
{
	char path[PATH_MAX];
	FILE *log;

	snprintf(path, sizeof(path), "%s/%s", rtdir, marker);
	log = fopen(path, "r");
	if (!log)
		return 0;
	a->err.length = fread(a->err.data, 1, CAPTURE, log);
	fclose(log);
	snprintf(a->result, sizeof(a->result), "%s", result);
	return 1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

void runtime_dir(char *out, size_t size, const struct cell *cell)
{
	snprintf(out, size, "%s/rt/%s", root, cell->runtime);
}

/* Whether a directory of PATH holds an executable program called name. */
static int on_path(const char *name)
{
	char *dirs = copy(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin"), *dir, *save = NULL;
	char path[PATH_MAX];
	int found = 0;

	for (dir = strtok_r(dirs, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof(path), "%s/%s", *dir ? dir : ".", name);
		found = access(path, X_OK) == 0;
	}
	free(dirs);
	return found;
}

/* A scenario whose steps run a program this environment lacks (its `requires`) cannot be
 * tested here at all: the cell is skipped, not run, and says which program is missing. */
static int lacks_required(const struct cell *cell, struct attempt *a)
{
	char *names = copy(cell->requires), *name, *save = NULL;
	int missing = 0;

	for (name = strtok_r(names, " ", &save); name && !missing; name = strtok_r(NULL, " ", &save))
		if (strcmp(name, "-") && !on_path(name)) {
			a->err.length = (size_t)snprintf(a->err.data, CAPTURE,
							 "not applicable: scenario %s runs %s (its requires), "
							 "which is on no directory of PATH here\n",
							 cell->scenario, name);
			snprintf(a->result, sizeof(a->result), "skipped");
			missing = 1;
		}
	free(names);
	return missing;
}

/* Attempts that build.sh already decided (a marker), or that need a program this environment
 * lacks, need no process and no token. */
int decided_by_marker(const struct cell *cell, struct attempt *a)
{
	char rtdir[2048];

	runtime_dir(rtdir, sizeof(rtdir), cell);
	return read_marker(rtdir, "BUILD-FAILED", "build-error", a) ||
	       read_marker(rtdir, "NOT-APPLICABLE", "skipped", a) || lacks_required(cell, a);
}

void start_attempt(struct slot *slot, struct job *job)
{
	char rtdir[2048], pattern[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	int out[2], err[2];
	gid_t gid;
	pid_t child;

	memset(slot, 0, sizeof(*slot));
	slot->job = job;
	slot->a = &job->attempts[job->started++];
	slot->a->signal = slot->a->exit_code = -1;
	slot->uid = attempt_uid(job, (int)(slot - slots), &gid);
	slot->a->lane = !job->serial[0] ? 0 : lanes_on ? slot->uid : -1;
	runtime_dir(rtdir, sizeof(rtdir), job->cell);
	snprintf(pattern, sizeof(pattern), "%s/dlm-cell-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(pattern))
		fail("cannot make a working directory for a cell (%s); is /tmp writable?", strerror(errno));
	snprintf(slot->workdir, sizeof(slot->workdir), "%s", pattern);
	if (slot->uid >= 0 && chown(pattern, (uid_t)slot->uid, gid) < 0) /* its LTTNG_HOME and TMPDIR */
		fail("cannot give an attempt's working directory to its uid (%s)", strerror(errno));
	if (pipe(out) < 0 || pipe(err) < 0)
		fail("pipe: %s", strerror(errno));
	fflush(NULL);
	child = fork();
	if (child < 0)
		fail("fork: %s", strerror(errno));
	if (child == 0) {
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		close(out[0]), close(out[1]), close(err[0]), close(err[1]);
		exec_driver(job->cell, rtdir, slot->workdir, slot->uid, gid);
	}
	close(out[1]);
	close(err[1]);
	fcntl(out[0], F_SETFD, FD_CLOEXEC);
	fcntl(err[0], F_SETFD, FD_CLOEXEC);
	slot->pid = child;
	slot->out = out[0];
	slot->err = err[0];
	slot->start = now_seconds();
	slot->deadline = slot->start + (double)job->cell->timeout_ms * timeout_factor / 1000.0;
}

/* The loader's lines about unloading, from the driver's LD_DEBUG file (its
 * forked children write to the same file, each line names its pid). */
static void read_loader_account(const struct slot *slot)
{
	static const char *const wanted[] = { "dlm step ", "calling fini", "destroying link map",
					      "NODELETE", "calling init" };
	char path[PATH_MAX + 32], line[1024];
	struct capture *ld = &slot->a->ld;
	FILE *file;
	size_t i, n;

	snprintf(path, sizeof(path), "%s/" LD_DEBUG_FILE ".%ld", slot->workdir, (long)slot->pid);
	if (!(file = fopen(path, "r")))
		return;
	while (fgets(line, sizeof(line), file)) {
		for (i = 0; i < sizeof(wanted) / sizeof(*wanted) && !strstr(line, wanted[i]); i++)
			;
		n = strlen(line);
		if (i == sizeof(wanted) / sizeof(*wanted))
			continue;
		if (ld->length + n > CAPTURE - sizeof(TRUNCATED)) { /* says so, as a step of its own */
			memcpy(ld->data + ld->length, TRUNCATED, sizeof(TRUNCATED) - 1);
			ld->length += sizeof(TRUNCATED) - 1;
			ld->truncated = 1;
			break;
		}
		memcpy(ld->data + ld->length, line, n);
		ld->length += n;
	}
	fclose(file);
}

/* The driver was reaped and its pipes are closed (or a grandchild that keeps them
 * open had its short grace period): classify, clean up, free the slot. */
static void finish_attempt(struct slot *slot)
{
	kill(-slot->pid, SIGKILL); /* leftovers of the process group: a session daemon, a helper */
	lanes_sweep(slot->uid);
	if (slot->out >= 0)
		close(slot->out);
	if (slot->err >= 0)
		close(slot->err);
	slot->a->duration = now_seconds() - slot->start;
	classify(slot->a, slot->status, slot->timed_out);
	read_loader_account(slot);
	nftw(slot->workdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	slot->job->finished++;
	if (announce_attempts) {
		printf("{\"type\":\"attempt\",\"scenario\":");
		json_cstring(stdout, slot->job->cell->scenario);
		printf(",\"runtime\":");
		json_cstring(stdout, slot->job->cell->runtime);
		printf(",\"result\":\"%s\"}\n", slot->a->result);
	}
	slot->pid = 0;
}

/* Reads whatever the running attempts wrote, reaps and times them out. */
void service_slots(int token_fd, int *tokens)
{
	struct pollfd fds[DLM_MAX_JOBS * 2 + 1];
	struct slot *owner[DLM_MAX_JOBS * 2 + 1];
	int n = 0, i, status;
	double now;
	pid_t pid;

	for (i = 0; i < DLM_MAX_JOBS; i++) {
		if (!slots[i].pid)
			continue;
		if (slots[i].out >= 0)
			owner[n] = &slots[i], fds[n++] = (struct pollfd){ slots[i].out, POLLIN, 0 };
		if (slots[i].err >= 0)
			owner[n] = &slots[i], fds[n++] = (struct pollfd){ slots[i].err, POLLIN, 0 };
	}
	if (token_fd >= 0)
		owner[n] = NULL, fds[n++] = (struct pollfd){ token_fd, POLLIN, 0 };
	if (poll(fds, (nfds_t)n, 10) > 0)
		for (i = 0; i < n; i++) {
			if (!fds[i].revents)
				continue;
			if (!owner[i]) {
				char grant[64];
				ssize_t got = read(token_fd, grant, sizeof(grant));

				*tokens += got > 0 ? (int)got : 0;
				host_gone = got <= 0; /* no more tokens will come; those held are still used */
			} else if (fds[i].fd == owner[i]->out) {
				capture_from(owner[i]->out, &owner[i]->a->out, &owner[i]->out);
			} else {
				capture_from(owner[i]->err, &owner[i]->a->err, &owner[i]->err);
			}
		}
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (i = 0; i < DLM_MAX_JOBS; i++)
			if (slots[i].pid == pid && !slots[i].reaped)
				slots[i].reaped = 1, slots[i].status = status;
	now = now_seconds();
	for (i = 0; i < DLM_MAX_JOBS; i++) {
		struct slot *slot = &slots[i];

		if (!slot->pid)
			continue;
		if (!slot->reaped && now > slot->deadline && !slot->timed_out) {
			kill(-slot->pid, SIGKILL);
			slot->timed_out = 1;
		}
		if (slot->reaped && slot->linger == 0)
			slot->linger = now + 0.2;
		if (slot->reaped && ((slot->out < 0 && slot->err < 0) || now > slot->linger))
			finish_attempt(slot);
	}
}

void stop_all(void)
{
	int i;

	for (i = 0; i < DLM_MAX_JOBS; i++)
		if (slots[i].pid) {
			kill(-slots[i].pid, SIGKILL);
			waitpid(slots[i].pid, NULL, 0);
			nftw(slots[i].workdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
			slots[i].pid = 0;
		}
}
