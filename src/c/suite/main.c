/* dlm-suite's main: options, the selected cells and the scheduler that runs their attempts. */
#define _GNU_SOURCE
#include "suite.h"

#include <fnmatch.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


char root[ROOT_SIZE];
double timeout_factor = 1;
static volatile sig_atomic_t interrupted;

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
	     "and prints the cells in the catalog's order; exits 1 when a cell is unexpected or flaky.\n"
	     "--suite - reads the catalog from standard input up to a line " DLM_SUITE_END ". --tokens (with --json)\n"
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
	if (o->repeat < 1 || o->repeat > DLM_MAX_ATTEMPTS)
		fail("--repeat must be between 1 and %s", TEXT_OF(DLM_MAX_ATTEMPTS));
	if (o->jobs < 1 || o->jobs > DLM_MAX_JOBS)
		fail("--jobs must be between 1 and %s", TEXT_OF(DLM_MAX_JOBS));
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
		if (job->rule && job->rule->racy && job->count < DLM_RACY_MIN_ATTEMPTS)
			job->count = DLM_RACY_MIN_ATTEMPTS; /* a race is met only when given room to happen */
		if (job->count > DLM_MAX_ATTEMPTS)
			job->count = DLM_MAX_ATTEMPTS;
		count++;
	}
	*out = jobs;
	return count;
}

struct tally {
	int ok, unexpected, flaky, not_reproduced, skipped, not_run;
};

static void report_job(struct job *job, int json, struct tally *t)
{
	const char *verdict = verdict_of(job->attempts, job->count, job->rule);

	t->ok += !strcmp(verdict, "ok");
	t->unexpected += !strcmp(verdict, "unexpected");
	t->flaky += !strcmp(verdict, "flaky");
	t->not_reproduced += !strcmp(verdict, "not-reproduced");
	t->skipped += !strcmp(verdict, "skipped");
	t->not_run += !strcmp(verdict, "not-run");
	(json ? print_cell_json : print_cell_row)(job->cell, job->rule, job->attempts, job->count, verdict);
	free(job->attempts);
	job->attempts = NULL;
}

/* Whether an attempt of serial group is running: without lanes, attempts of a group take turns. */
static int serial_busy(const char *serial)
{
	int i;

	for (i = 0; *serial && !lanes_on && i < DLM_MAX_JOBS; i++)
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

/* Starts attempts while a slot (and, in token mode, a token) is free; cells are
 * printed as soon as every cell before them is complete. */
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
		for (active = 0, i = 0; i < DLM_MAX_JOBS; i++)
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
	struct tally t = { 0 };
	char suite_path[PATH_MAX + 32];
	int count, i;

	parse_options(argc, argv, &o);
	if (!root[0])
		default_root(argv[0]);
	snprintf(suite_path, sizeof(suite_path), "%s/share/suite.tsv", root);
	load_suite(o.suite_path ? o.suite_path : suite_path);
	read_libc();
	if (!o.list)
		lanes_init(o.jobs);
	signal(SIGINT, on_interrupt);
	signal(SIGTERM, on_interrupt);
	signal(SIGPIPE, SIG_IGN);
	print_env(o.json, o.list);
	if (o.json && !o.list)
		print_lanes(1);
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
		printf("{\"type\":\"summary\",\"ok\":%d,\"unexpected\":%d,\"flaky\":%d,\"not-reproduced\":%d,"
		       "\"skipped\":%d,\"not-run\":%d,\"lanes\":%s}\n",
		       t.ok, t.unexpected, t.flaky, t.not_reproduced, t.skipped, t.not_run, lanes_on ? "true" : "false");
	else {
		printf("\n%d ok, %d unexpected, %d flaky, %d not reproduced, %d skipped, %d not run\n", t.ok,
		       t.unexpected, t.flaky, t.not_reproduced, t.skipped, t.not_run);
		print_lanes(0);
	}
	return t.unexpected || t.flaky ? 1 : 0;
}
