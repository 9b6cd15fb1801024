/* dlm-suite: runs one environment's scenarios, each attempt in its own process
 * group and working directory with a timeout, up to --jobs attempts at once, and
 * classifies each cell against the declared expectation.  Cells are printed in
 * the catalog's order whatever order they finish in.
 * Needs no Python or shell, so it runs in an image holding only a C library,
 * its loader and the built programs.  Layout under ROOT (default: the
 * directory above this program's bin/):
 *   share/suite.tsv            the catalog baked in at build time: cells and
 *                              expectations generated from matrix/ (--suite
 *                              FILE or - for standard input replaces it)
 *   rt/VARIANT/bin/            the drivers built against that runtime variant
 *   rt/VARIANT/lib/            the runtime and the providers
 *   rt/VARIANT/env             KEY=VALUE lines describing the runtime to the driver;
 *                              two are the suite's own: DLM_SERIAL=GROUP (attempts of
 *                              one group never overlap) and DLM_SETUP_COMMAND (run
 *                              before each attempt's driver, in its environment)
 *   rt/VARIANT/BUILD-FAILED    the build log, when that variant did not build
 *   rt/VARIANT/NOT-APPLICABLE  why that variant cannot exist here (its cells are skipped)
 * On glibc each attempt runs with LD_DEBUG=files written to a file in its working
 * directory (never to the driver's stderr); its lines about init and fini calls,
 * destroyed link maps and NODELETE markings, with the driver's marks of where
 * each step began, become the cell's "loader" account. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <limits.h>
#include <link.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif

#define MAX_ATTEMPTS 100
#define MAX_JOBS 64
#define SUITE_END "#end" /* ends a catalog read from standard input; tokens may follow */
#define CAPTURE 32768
#define EXCERPT 2000
#define LD_DEBUG_FILE "ld-debug" /* glibc appends .PID */
#define TRUNCATED "0:\tdlm step truncated-here\n"

struct cell {
	char *scenario, *runtime, *driver, *env, *steps, *description;
	long timeout_ms;
	int min_attempts; /* the runtime's own minimum, so that a racy outcome gets a rate */
};

struct rule {
	char *scenario, *runtime, *family, *versions, *outcome, *reason, *arch; /* arch: a glob */
	int racy; /* the outcome happens in some attempts only; the others end otherwise */
	char *otherwise; /* pass, unless the rule says another outcome */
};

struct capture {
	char data[CAPTURE];
	size_t length;
	int truncated;
};

struct attempt {
	char result[48]; /* pass, crash:SIGSEGV, exit:3, timeout, build-error, error */
	int signal, exit_code;
	double duration;
	struct capture out, err;
	struct capture ld; /* the loader's account (LD_DEBUG=files), reduced to what dlclose() did */
};

/* One selected cell and its attempts, which may run concurrently. */
struct job {
	const struct cell *cell;
	const struct rule *rule;
	struct attempt *attempts;
	int count, started, finished;
	char serial[64]; /* DLM_SERIAL of its runtime: attempts of one group never overlap */
};

/* One attempt in flight: the driver's process group, its pipes and its directory. */
struct slot {
	struct job *job;
	struct attempt *a;
	pid_t pid; /* 0: the slot is free */
	int out, err, status, reaped, timed_out;
	double start, deadline, linger;
	char workdir[PATH_MAX];
};

static struct cell *cells;
static struct rule *rules;
static int cell_count, rule_count;
static struct slot slots[MAX_JOBS];
static int announce_attempts; /* token mode: the host returns a token for each attempt line */
static int host_gone;         /* token mode: standard input reached its end */
static char root[1024];
static char libc_family[16] = "unknown", libc_version[32] = "unknown";
static double timeout_factor = 1; /* by hand under emulation: --timeout-factor or DLM_TIMEOUT_FACTOR */

/* Debian's name for the architecture this suite was compiled for: uname() cannot tell, since an
 * i386 userland on an x86-64 kernel reads x86_64 there. */
static const char *compiled_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__i386__)
	return "i386";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__arm__) && defined(__ARM_PCS_VFP)
	return "armhf";
#elif defined(__arm__)
	return "armel";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
	return "ppc64el";
#elif defined(__s390x__)
	return "s390x";
#else
	return "unknown";
#endif
}
static volatile sig_atomic_t interrupted;

/* ---- small helpers ---- */

static void fail(const char *fmt, const char *arg)
{
	fprintf(stderr, "dlm-suite: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(2);
}

static char *copy(const char *text)
{
	char *result = strdup(text ? text : "");

	if (!result)
		fail("%s", "out of memory");
	return result;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void json_string(FILE *out, const char *text, size_t length)
{
	size_t i;

	fputc('"', out);
	for (i = 0; i < length; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void json_cstring(FILE *out, const char *text)
{
	if (text)
		json_string(out, text, strlen(text));
	else
		fputs("null", out);
}

static const char *signal_name(int sig)
{
	static char other[16];

	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGBUS: return "SIGBUS";
	case SIGABRT: return "SIGABRT";
	case SIGILL: return "SIGILL";
	case SIGFPE: return "SIGFPE";
	case SIGKILL: return "SIGKILL";
	case SIGTERM: return "SIGTERM";
	case SIGTRAP: return "SIGTRAP";
	case SIGSYS: return "SIGSYS";
	default: snprintf(other, sizeof(other), "SIG%d", sig); return other;
	}
}

/* ---- the environment: C library family and version, read at run time ---- */

#ifndef __GLIBC__
static int find_interp(struct dl_phdr_info *info, size_t size, void *path)
{
	int i;

	(void)size;
	for (i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_INTERP) {
			snprintf(path, PATH_MAX, "%s", (const char *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr));
			return 1;
		}
	return 1; /* only the executable, which comes first, matters */
}
#endif

#ifndef __GLIBC__
/* musl has no version API: its loader prints "Version X" when run bare. */
static void read_musl_version(void)
{
	char interp[PATH_MAX] = "", text[512];
	int fds[2], status;
	ssize_t n, length = 0;
	pid_t child;
	char *version;

	dl_iterate_phdr(find_interp, interp);
	if (!interp[0] || pipe(fds) < 0)
		return;
	child = fork();
	if (child == 0) {
		dup2(fds[1], STDERR_FILENO);
		dup2(fds[1], STDOUT_FILENO);
		execl(interp, interp, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (child > 0 && (n = read(fds[0], text + length, sizeof(text) - 1 - (size_t)length)) > 0)
		length += n;
	text[length] = 0;
	close(fds[0]);
	if (child > 0)
		waitpid(child, &status, 0);
	version = strstr(text, "Version ");
	if (version && sscanf(version + 8, "%31[0-9.]", libc_version) == 1)
		snprintf(libc_family, sizeof(libc_family), "musl");
}
#endif

static void read_libc(void)
{
#ifdef __GLIBC__
	snprintf(libc_family, sizeof(libc_family), "glibc");
	snprintf(libc_version, sizeof(libc_version), "%s", gnu_get_libc_version());
#else
	read_musl_version();
#endif
}

static const char *compiler(void)
{
#if defined(__clang__)
	return "clang " __clang_version__;
#elif defined(__GNUC__)
	return "gcc " __VERSION__;
#else
	return "unknown";
#endif
}

/* ---- expectations: first matching rule wins (same rule as dlmatrix.expectations) ---- */

static int compare_versions(const char *a, const char *b)
{
	while (*a || *b) {
		long x = strtol(a, (char **)&a, 10), y = strtol(b, (char **)&b, 10);

		if (x != y)
			return x < y ? -1 : 1;
		a += *a == '.';
		b += *b == '.';
		if (!isdigit((unsigned char)*a) && !isdigit((unsigned char)*b))
			break;
	}
	return 0;
}

static int version_in(const char *range, const char *version)
{
	char buf[256], *item, *save = NULL;

	if (!strcmp(range, "*"))
		return 1;
	snprintf(buf, sizeof(buf), "%s", range);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		int ok;

		while (*item == ' ')
			item++;
		if (!strncmp(item, ">=", 2))
			ok = compare_versions(version, item + 2) >= 0;
		else if (!strncmp(item, "<=", 2))
			ok = compare_versions(version, item + 2) <= 0;
		else if (!strncmp(item, "==", 2))
			ok = compare_versions(version, item + 2) == 0;
		else if (*item == '>')
			ok = compare_versions(version, item + 1) > 0;
		else if (*item == '<')
			ok = compare_versions(version, item + 1) < 0;
		else
			ok = compare_versions(version, item) == 0;
		if (!ok)
			return 0;
	}
	return 1;
}

static const struct rule *expectation(const struct cell *cell)
{
	int i;

	for (i = 0; i < rule_count; i++) {
		const struct rule *rule = &rules[i];

		if (!fnmatch(rule->scenario, cell->scenario, 0) && !fnmatch(rule->runtime, cell->runtime, 0) &&
		    (!strcmp(rule->family, "*") || !strcmp(rule->family, libc_family)) &&
		    version_in(rule->versions, libc_version) && !fnmatch(rule->arch, compiled_arch(), 0))
			return rule;
	}
	return NULL;
}

/* ---- the suite file ---- */

static int split_tabs(char *line, char **fields, int max)
{
	int count = 0;
	char *tab;

	line[strcspn(line, "\r\n")] = 0;
	while (count < max) {
		fields[count++] = line;
		tab = strchr(line, '\t');
		if (!tab)
			break;
		*tab = 0;
		line = tab + 1;
	}
	return count;
}

/* Room for one more element: the catalog has no fixed limit on cells or rules. */
static void *grow(void *array, int count, int *capacity, size_t size)
{
	if (count < *capacity)
		return array;
	*capacity = *capacity ? *capacity * 2 : 64;
	array = realloc(array, (size_t)*capacity * size);
	if (!array)
		fail("%s", "out of memory");
	return array;
}

/* A catalog from a file, or from standard input up to a SUITE_END line (or its end). */
static void load_suite(const char *path)
{
	FILE *file = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *line = NULL, *f[9];
	size_t capacity = 0;
	int n, cell_room = 0, rule_room = 0;

	if (!file)
		fail("cannot read the suite file %s (build the suite with build.sh first)", path);
	if (file == stdin)
		setvbuf(stdin, NULL, _IONBF, 0); /* read no further than SUITE_END: the tokens follow it */
	while (getline(&line, &capacity, file) > 0) {
		if (!strncmp(line, SUITE_END, strlen(SUITE_END)) && file == stdin)
			break;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		n = split_tabs(line, f, 9);
		if (!strcmp(f[0], "cell") && n == 9) {
			struct cell *c;

			cells = grow(cells, cell_count, &cell_room, sizeof(*cells));
			c = &cells[cell_count++];
			c->scenario = copy(f[1]);
			c->runtime = copy(f[2]);
			c->timeout_ms = strtol(f[3], NULL, 10);
			c->driver = copy(f[4]);
			c->env = copy(f[5]);
			c->steps = copy(f[6]);
			c->description = copy(f[7]);
			c->min_attempts = atoi(f[8]);
		} else if (!strcmp(f[0], "expect") && (n == 8 || n == 9)) {
			struct rule *r;

			rules = grow(rules, rule_count, &rule_room, sizeof(*rules));
			r = &rules[rule_count++];
			r->scenario = copy(f[1]);
			r->runtime = copy(f[2]);
			r->family = copy(f[3]);
			r->versions = copy(f[4]);
			r->outcome = copy(f[5]);
			r->reason = copy(f[6]);
			r->racy = !strncmp(f[7], "racy", 4);
			r->otherwise = copy(r->racy && f[7][4] == ':' ? f[7] + 5 : "pass");
			r->arch = copy(n == 9 ? f[8] : "*");
		} else {
			fail("malformed line in the suite file: %s", f[0]);
		}
	}
	free(line);
	if (file != stdin)
		fclose(file);
}

/* ---- running one attempt ---- */

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
static void runtime_value(const char *rtdir, const char *key, char *out, size_t size)
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
		_exit(4);
	}
}

/* In the child: isolation first (its own process group, working directory,
 * LTTNG_HOME and TMPDIR, no standard input), then the runtime's description and
 * the scenario's environment, then the driver.  A non-root session daemon keeps
 * its sockets in $LTTNG_HOME/.lttng, so that is the cell's own run directory;
 * LTTNG_RUNDIR is not set: LTTng 2.16's session daemon honours it and its
 * applications do not, so they would never meet. */
static void exec_driver(const struct cell *cell, const char *rtdir, const char *workdir)
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
	unsetenv("DLM_WAKE_FD");
	unsetenv("DLM_EVENT_FD");
	setenv("DLM_LIBDIR", libdir, 1);
	setenv("DLM_WORKDIR", workdir, 1);
	setenv("TMPDIR", workdir, 1);
	setenv("LTTNG_HOME", workdir, 1); /* a session daemon of this attempt only */
	unsetenv("LTTNG_RUNDIR");
	apply_runtime_env(rtdir);
	run_setup();
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

static void runtime_dir(char *out, size_t size, const struct cell *cell)
{
	snprintf(out, size, "%s/rt/%s", root, cell->runtime);
}

/* Attempts that build.sh already decided (a marker) need no process and no token. */
static int decided_by_marker(const struct cell *cell, struct attempt *a)
{
	char rtdir[2048];

	runtime_dir(rtdir, sizeof(rtdir), cell);
	return read_marker(rtdir, "BUILD-FAILED", "build-error", a) ||
	       read_marker(rtdir, "NOT-APPLICABLE", "skipped", a);
}

static void start_attempt(struct slot *slot, struct job *job)
{
	char rtdir[2048], pattern[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	int out[2], err[2];
	pid_t child;

	memset(slot, 0, sizeof(*slot));
	slot->job = job;
	slot->a = &job->attempts[job->started++];
	slot->a->signal = slot->a->exit_code = -1;
	runtime_dir(rtdir, sizeof(rtdir), job->cell);
	snprintf(pattern, sizeof(pattern), "%s/dlm-cell-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(pattern))
		fail("cannot make a working directory for a cell (%s); is /tmp writable?", strerror(errno));
	snprintf(slot->workdir, sizeof(slot->workdir), "%s", pattern);
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
		exec_driver(job->cell, rtdir, slot->workdir);
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
static void service_slots(int token_fd, int *tokens)
{
	struct pollfd fds[MAX_JOBS * 2 + 1];
	struct slot *owner[MAX_JOBS * 2 + 1];
	int n = 0, i, status;
	double now;
	pid_t pid;

	for (i = 0; i < MAX_JOBS; i++) {
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
		for (i = 0; i < MAX_JOBS; i++)
			if (slots[i].pid == pid && !slots[i].reaped)
				slots[i].reaped = 1, slots[i].status = status;
	now = now_seconds();
	for (i = 0; i < MAX_JOBS; i++) {
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

static void stop_all(void)
{
	int i;

	for (i = 0; i < MAX_JOBS; i++)
		if (slots[i].pid) {
			kill(-slots[i].pid, SIGKILL);
			waitpid(slots[i].pid, NULL, 0);
			nftw(slots[i].workdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
			slots[i].pid = 0;
		}
}

/* ---- output ---- */

static void print_evidence(FILE *json, const struct capture *out)
{
	const char *line = out->data, *end = out->data + out->length;
	int first = 1;

	fputc('{', json);
	while (line < end) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		const char *key, *value;
		size_t key_len, value_len;
		char *num_end;

		if (!eol)
			eol = end;
		if (eol - line > 2 && line[0] == '@' && line[1] == ' ') {
			key = line + 2;
			value = memchr(key, ' ', (size_t)(eol - key));
			if (value) {
				key_len = (size_t)(value - key);
				value++;
				value_len = (size_t)(eol - value);
				fputs(first ? "" : ",", json);
				first = 0;
				json_string(json, key, key_len);
				fputc(':', json);
				strtol(value, &num_end, 10);
				if ((value_len == 4 && !strncmp(value, "true", 4)) ||
				    (value_len == 5 && !strncmp(value, "false", 5)) ||
				    (value_len == 4 && !strncmp(value, "null", 4)) ||
				    (num_end == eol && num_end != value))
					fwrite(value, 1, value_len, json);
				else
					json_string(json, value, value_len);
			}
		}
		line = eol + 1;
	}
	fputc('}', json);
}

/* The tail of what the driver printed that is not evidence. */
static void print_excerpt(FILE *json, const struct capture *c, int skip_evidence)
{
	char text[EXCERPT + 1];
	size_t used = 0;
	const char *line = c->data, *end = c->data + c->length;

	while (line < end) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		size_t length;

		eol = eol ? eol + 1 : end;
		length = (size_t)(eol - line);
		if (!(skip_evidence && line[0] == '@' && length > 1 && line[1] == ' ')) {
			if (length > EXCERPT)
				line = eol - EXCERPT, length = EXCERPT;
			if (used + length > EXCERPT) {
				memmove(text, text + (used + length - EXCERPT), EXCERPT - length);
				used = EXCERPT - length;
			}
			memcpy(text + used, line, length);
			used += length;
		}
		line = eol;
	}
	json_string(json, text, used);
}

static int allowed(const char *result, const struct rule *rule)
{
	return rule && (!strcmp(result, rule->outcome) || (rule->racy && !strcmp(result, rule->otherwise)));
}

static const char *verdict_of(const struct attempt *attempts, int count, const struct rule *rule)
{
	const char *expected = rule ? rule->outcome : NULL;
	int i, all_allowed = 1;

	for (i = 0; i < count; i++)
		all_allowed &= allowed(attempts[i].result, rule);
	if (rule && rule->racy && all_allowed)
		return "ok";
	for (i = 1; i < count; i++)
		if (strcmp(attempts[i].result, attempts[0].result))
			return "flaky";
	if (!strcmp(attempts[0].result, "skipped"))
		return "skipped";
	return expected && !strcmp(attempts[0].result, expected) ? "ok" : "unexpected";
}

/* The attempt shown for a cell: the first that missed the expectation, else the
 * first that hit it (a racy crash rather than a pass), else the first. */
static const struct attempt *representative(const struct attempt *attempts, int count, const struct rule *rule)
{
	int i;

	for (i = 0; i < count; i++)
		if (!allowed(attempts[i].result, rule))
			return &attempts[i];
	for (i = 0; i < count; i++)
		if (!strcmp(attempts[i].result, rule->outcome))
			return &attempts[i];
	return &attempts[0];
}

static void print_cell_json(const struct cell *cell, const struct rule *rule, const struct attempt *attempts,
			    int count, const char *verdict)
{
	const struct attempt *a = representative(attempts, count, rule);
	char outcome[48];
	int i;

	snprintf(outcome, sizeof(outcome), "%s", a->result);
	outcome[strcspn(outcome, ":")] = 0;
	printf("{\"type\":\"cell\",\"scenario\":");
	json_cstring(stdout, cell->scenario);
	printf(",\"runtime\":");
	json_cstring(stdout, cell->runtime);
	printf(",\"result\":\"%s\",\"outcome\":\"%s\",\"signal\":", a->result, outcome);
	if (a->signal > 0)
		printf("\"%s\"", signal_name(a->signal));
	else
		printf("null");
	printf(",\"exit_code\":");
	if (a->exit_code >= 0)
		printf("%d", a->exit_code);
	else
		printf("null");
	printf(",\"duration_s\":%.4f,\"expected\":", a->duration);
	json_cstring(stdout, rule ? rule->outcome : NULL);
	printf(",\"reason\":");
	json_cstring(stdout, rule ? rule->reason : "no rule in matrix/expectations.yaml matches this cell");
	printf(",\"verdict\":\"%s\",\"evidence\":", verdict);
	print_evidence(stdout, &a->out);
	printf(",\"stdout\":");
	print_excerpt(stdout, &a->out, 1);
	printf(",\"stderr\":");
	print_excerpt(stdout, &a->err, 0);
	printf(",\"loader\":");
	if (a->ld.length)
		json_string(stdout, a->ld.data, a->ld.length);
	else
		printf("null");
	printf(",\"attempts\":[");
	for (i = 0; i < count; i++)
		printf("%s{\"result\":\"%s\",\"duration_s\":%.4f}", i ? "," : "", attempts[i].result,
		       attempts[i].duration);
	printf("]}\n");
	fflush(stdout);
}

static void print_cell_row(const struct cell *cell, const struct rule *rule, const struct attempt *attempts,
			   int count, const char *verdict)
{
	const struct attempt *a = representative(attempts, count, rule);
	int i, same = 0;

	for (i = 0; i < count; i++)
		same += !strcmp(attempts[i].result, a->result);
	printf("%-24s %-10s %-14s %-14s %-10s %4d/%-4d %8.3fs\n", cell->scenario, cell->runtime, a->result,
	       rule ? rule->outcome : "-", verdict, same, count, a->duration);
	fflush(stdout);
}

static void print_env(int json, int list)
{
	struct utsname host;

	uname(&host);
	if (json) {
		printf("{\"type\":\"env\",\"libc\":{\"family\":");
		json_cstring(stdout, libc_family);
		printf(",\"version\":");
		json_cstring(stdout, libc_version);
		printf("},\"compiler\":");
		json_cstring(stdout, compiler());
		printf(",\"kernel\":");
		json_cstring(stdout, host.release);
		printf(",\"machine\":");
		json_cstring(stdout, host.machine);
		printf(",\"arch\":");
		json_cstring(stdout, compiled_arch());
		printf(",\"timeout_factor\":%g}\n", timeout_factor);
	} else {
		printf("dlmatrix suite: %s %s on %s, built by %s, kernel %s %s%s\n\n", libc_family, libc_version,
		       compiled_arch(), compiler(), host.release, host.machine,
		       timeout_factor != 1 ? " (timeouts scaled for emulation)" : "");
		if (list)
			printf("%-24s %-10s %-14s %s\n", "SCENARIO", "RUNTIME", "EXPECTED", "DESCRIPTION");
		else
			printf("%-24s %-10s %-14s %-14s %-10s %9s %9s\n", "SCENARIO", "RUNTIME", "RESULT",
			       "EXPECTED", "VERDICT", "SAME", "TIME");
	}
	fflush(stdout);
}

static void print_listing(const struct cell *cell, const struct rule *rule, int json)
{
	if (!json) {
		printf("%-24s %-10s %-14s %s\n", cell->scenario, cell->runtime, rule ? rule->outcome : "-",
		       cell->description);
		return;
	}
	printf("{\"type\":\"listing\",\"scenario\":");
	json_cstring(stdout, cell->scenario);
	printf(",\"runtime\":");
	json_cstring(stdout, cell->runtime);
	printf(",\"expected\":");
	json_cstring(stdout, rule ? rule->outcome : NULL);
	printf(",\"reason\":");
	json_cstring(stdout, rule ? rule->reason : NULL);
	printf(",\"description\":");
	json_cstring(stdout, cell->description);
	printf("}\n");
}

/* ---- main ---- */

static void on_interrupt(int sig)
{
	interrupted = sig; /* the main loop stops every attempt and removes its directory */
}

static void default_root(const char *argv0)
{
	char exe[PATH_MAX];
	char *slash;

	if (!realpath("/proc/self/exe", exe) && !realpath(argv0, exe))
		fail("cannot locate myself (%s); pass --root DIR", argv0);
	slash = strrchr(exe, '/');
	*slash = 0; /* .../bin */
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	if (strlen(exe) >= sizeof(root))
		fail("install path too long: %s", exe);
	memcpy(root, exe, strlen(exe) + 1);
}

static void usage(void)
{
	puts("usage: dlm-suite [--json] [--list] [--scenario GLOB,...] [--runtime GLOB,...] [--repeat N] [--jobs N]\n"
	     "                 [--suite FILE|-] [--tokens] [--timeout-factor F] [--root DIR]\n"
	     "Runs this environment's dlopen/dlclose scenarios, up to --jobs attempts at once (default 4),\n"
	     "and prints the cells in the catalog's order; exits 1 when a verdict is not ok.\n"
	     "--suite - reads the catalog from standard input up to a line " SUITE_END ". --tokens (with --json)\n"
	     "starts an attempt only for a byte read from standard input after that line, and prints an\n"
	     "attempt line when one ends: the host then shares one budget among many suites.\n"
	     "--timeout-factor F multiplies every scenario's timeout (default: $DLM_TIMEOUT_FACTOR, else 1):\n"
	     "for a run under emulation (qemu-user); dlmatrix instead hands such a run a catalog whose\n"
	     "timeouts are already scaled, within each scenario's cap.");
}

struct options {
	const char *scenario_glob, *runtime_glob, *suite_path;
	int json, list, repeat, jobs, tokens;
};

static void parse_options(int argc, char **argv, struct options *o)
{
	int i;

	*o = (struct options){ "*", "*", NULL, 0, 0, 1, 4, 0 };
	if (getenv("DLM_TIMEOUT_FACTOR"))
		timeout_factor = atof(getenv("DLM_TIMEOUT_FACTOR"));
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			o->json = 1;
		else if (!strcmp(argv[i], "--list"))
			o->list = 1;
		else if (!strcmp(argv[i], "--tokens"))
			o->tokens = 1;
		else if (!strcmp(argv[i], "--scenario") && i + 1 < argc)
			o->scenario_glob = argv[++i];
		else if (!strcmp(argv[i], "--runtime") && i + 1 < argc)
			o->runtime_glob = argv[++i];
		else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			o->repeat = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--jobs") && i + 1 < argc)
			o->jobs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--suite") && i + 1 < argc)
			o->suite_path = argv[++i];
		else if (!strcmp(argv[i], "--timeout-factor") && i + 1 < argc)
			timeout_factor = atof(argv[++i]);
		else if (!strcmp(argv[i], "--root") && i + 1 < argc)
			snprintf(root, sizeof(root), "%s", argv[++i]);
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			usage(), exit(0);
		else
			usage(), exit(2);
	}
	if (o->repeat < 1 || o->repeat > MAX_ATTEMPTS)
		fail("--repeat must be between 1 and %s", "100");
	if (o->jobs < 1 || o->jobs > MAX_JOBS)
		fail("--jobs must be between 1 and %s", "64");
	if (!(timeout_factor >= 1 && timeout_factor <= 100))
		fail("--timeout-factor (or DLM_TIMEOUT_FACTOR) must be between 1 and %s", "100");
	if (o->tokens && (!o->json || !o->suite_path || strcmp(o->suite_path, "-")))
		fail("%s", "--tokens needs --json and --suite - (the tokens follow the catalog on standard input)");
}

/* Whether name matches one glob of a comma-separated list (names hold no comma). */
static int selected(const char *globs, const char *name)
{
	char glob[256]; /* a name is at most 48 (config.NAME); a longer glob matches no name */
	const char *start = globs, *end;

	for (;; start = end + 1) {
		size_t length;

		end = strchr(start, ',');
		length = end ? (size_t)(end - start) : strlen(start);
		if (length < sizeof(glob)) {
			memcpy(glob, start, length);
			glob[length] = '\0';
			if (!fnmatch(glob, name, 0))
				return 1;
		}
		if (!end)
			return 0;
	}
}

/* The selected cells, in the catalog's order, each with room for its attempts. */
static int select_jobs(const struct options *o, struct job **out)
{
	struct job *jobs = calloc((size_t)cell_count + 1, sizeof(*jobs));
	int i, count = 0;

	if (!jobs)
		fail("%s", "out of memory");
	for (i = 0; i < cell_count; i++) {
		struct job *job = &jobs[count];

		if (!selected(o->scenario_glob, cells[i].scenario) || !selected(o->runtime_glob, cells[i].runtime))
			continue;
		job->cell = &cells[i];
		job->rule = expectation(&cells[i]);
		job->count = o->repeat > cells[i].min_attempts ? o->repeat : cells[i].min_attempts;
		if (job->count > MAX_ATTEMPTS)
			job->count = MAX_ATTEMPTS;
		count++;
	}
	*out = jobs;
	return count;
}

struct tally {
	int ok, unexpected, flaky, skipped;
};

static void report_job(struct job *job, int json, struct tally *t)
{
	const char *verdict = verdict_of(job->attempts, job->count, job->rule);

	t->ok += !strcmp(verdict, "ok");
	t->unexpected += !strcmp(verdict, "unexpected");
	t->flaky += !strcmp(verdict, "flaky");
	t->skipped += !strcmp(verdict, "skipped");
	(json ? print_cell_json : print_cell_row)(job->cell, job->rule, job->attempts, job->count, verdict);
	free(job->attempts);
	job->attempts = NULL;
}

/* Starts attempts while a slot (and, in token mode, a token) is free; cells are
 * printed as soon as every cell before them is complete. */
/* Whether an attempt of serial group is running (attempts of a group take turns). */
static int serial_busy(const char *serial)
{
	int i;

	for (i = 0; *serial && i < MAX_JOBS; i++)
		if (slots[i].pid && !strcmp(slots[i].job->serial, serial))
			return 1;
	return 0;
}

/* The first job from `from` on with an attempt that may start now. */
static struct job *startable(struct job *jobs, int from, int count)
{
	for (; from < count; from++)
		if (jobs[from].started < jobs[from].count && !serial_busy(jobs[from].serial))
			return &jobs[from];
	return NULL;
}

static void run_jobs(struct job *jobs, int count, const struct options *o, struct tally *t)
{
	int printed = 0, next = 0, active = 0, tokens = o->tokens ? 0 : -2, i, needed = 0;
	char rtdir[2048];
	struct job *job;

	announce_attempts = o->tokens;

	for (i = 0; i < count; i++) {
		jobs[i].attempts = calloc((size_t)jobs[i].count, sizeof(struct attempt));
		if (!jobs[i].attempts)
			fail("%s", "out of memory");
		runtime_dir(rtdir, sizeof(rtdir), jobs[i].cell);
		runtime_value(rtdir, "DLM_SERIAL", jobs[i].serial, sizeof(jobs[i].serial));
		if (decided_by_marker(jobs[i].cell, &jobs[i].attempts[0])) {
			int n;

			for (n = 1; n < jobs[i].count; n++)
				jobs[i].attempts[n] = jobs[i].attempts[0];
			jobs[i].started = jobs[i].finished = jobs[i].count;
		}
		needed += jobs[i].count - jobs[i].started;
	}
	if (o->json)
		printf("{\"type\":\"plan\",\"cells\":%d,\"attempts\":%d,\"jobs\":%d}\n", count, needed, o->jobs);
	fflush(stdout);
	while (printed < count && !interrupted) {
		while (next < count && jobs[next].started == jobs[next].count)
			next++;
		for (active = 0, i = 0; i < MAX_JOBS; i++)
			active += slots[i].pid != 0;
		while (active < o->jobs && (tokens == -2 || tokens > 0) && (job = startable(jobs, next, count))) {
			for (i = 0; slots[i].pid; i++)
				;
			start_attempt(&slots[i], job);
			active++;
			tokens -= tokens > 0;
			while (next < count && jobs[next].started == jobs[next].count)
				next++;
		}
		if (host_gone && !tokens && !active && next < count)
			fail("%s", "standard input closed before every attempt had a token; the host stopped the run");
		service_slots(tokens >= 0 && !host_gone ? STDIN_FILENO : -1, &tokens);
		while (printed < count && jobs[printed].finished == jobs[printed].count)
			report_job(&jobs[printed++], o->json, t);
		fflush(stdout);
	}
	stop_all();
}

int main(int argc, char **argv)
{
	struct options o;
	struct job *jobs;
	struct tally t = { 0, 0, 0, 0 };
	char suite_path[PATH_MAX + 32];
	int count, i;

	parse_options(argc, argv, &o);
	if (!root[0])
		default_root(argv[0]);
	snprintf(suite_path, sizeof(suite_path), "%s/share/suite.tsv", root);
	load_suite(o.suite_path ? o.suite_path : suite_path);
	read_libc();
	signal(SIGINT, on_interrupt);
	signal(SIGTERM, on_interrupt);
	signal(SIGPIPE, SIG_IGN);
	print_env(o.json, o.list);
	count = select_jobs(&o, &jobs);
	if (o.list) {
		for (i = 0; i < count; i++)
			print_listing(jobs[i].cell, jobs[i].rule, o.json);
		return 0;
	}
	run_jobs(jobs, count, &o, &t);
	if (interrupted)
		fail("%s", "interrupted; the cells above are complete, the rest did not run");
	if (o.json)
		printf("{\"type\":\"summary\",\"ok\":%d,\"unexpected\":%d,\"flaky\":%d,\"skipped\":%d}\n", t.ok,
		       t.unexpected, t.flaky, t.skipped);
	else
		printf("\n%d ok, %d unexpected, %d flaky, %d skipped\n", t.ok, t.unexpected, t.flaky, t.skipped);
	return t.unexpected || t.flaky ? 1 : 0;
}
