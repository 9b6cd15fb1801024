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
 *                              one group share per-uid state: each runs under a lane
 *                              uid of its own, else they never overlap; lanes.c) and
 *                              DLM_SETUP_COMMAND (run before each attempt's driver, in
 *                              its environment and as its uid)
 *   rt/VARIANT/BUILD-FAILED    the build log, when that variant did not build
 *   rt/VARIANT/NOT-APPLICABLE  why that variant cannot exist here (its cells are skipped)
 * On glibc each attempt runs with LD_DEBUG=files written to a file in its working
 * directory (never to the driver's stderr); its lines about init and fini calls,
 * destroyed link maps and NODELETE markings, with the driver's marks of where
 * each step began, become the cell's "loader" account. */
/* The rooms of dlm-suite share this header: helpers.c, environment.c (the C
 * library, read at run time), expectations.c (which rule decides a cell),
 * catalog.c (the suite file), attempt.c (running one attempt in a slot),
 * lanes.c (the uids attempts run under), output.c (verdicts, JSON lines and the
 * table) and main.c (options, selection, the scheduler).  Each global below is defined in the file named beside it. */
#ifndef DLM_SUITE_H
#define DLM_SUITE_H

#include <limits.h>
#include <stdio.h>
#include <sys/types.h>

#include "generated.h" /* DLM_MAX_JOBS and DLM_SUITE_END, from the Python side (build.sh: -I) */

#define TEXT(x) #x
#define TEXT_OF(macro) TEXT(macro) /* a number's macro as a string */
#define CAPTURE 32768
#define ROOT_SIZE 1024

struct cell {
	char *scenario, *runtime, *driver, *env, *steps, *description;
	char *requires; /* programs the steps run, space-separated ("-": none): absent, the cell is skipped */
	long timeout_ms;
	int min_attempts; /* the runtime's own minimum, so that a racy outcome gets a rate */
};

struct rule {
	char *scenario, *runtime, *family, *versions, *outcome, *reason, *arch; /* arch: a glob */
	int racy; /* the outcome happens in some attempts only; the others end otherwise */
	char *otherwise; /* pass, unless the rule says another outcome */
	char *evidence; /* "KEY=VALUE ..." an ok cell shows in its evidence lines, or "" */
	double rate_low, rate_high; /* a racy outcome's share of the attempts: 0 to 1 unless bounded */
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
	long lane; /* a serial group's attempt: the lane uid it ran under, or -1 when it took turns; else 0 */
};

/* One selected cell and its attempts, which may run concurrently. */
struct job {
	const struct cell *cell;
	const struct rule *rule;
	struct attempt *attempts;
	int count, started, finished;
	char serial[64]; /* DLM_SERIAL of its runtime: attempts of one group share a uid's state (lanes.c) */
};

/* One attempt in flight: the driver's process group, its pipes and its directory. */
struct slot {
	struct job *job;
	struct attempt *a;
	pid_t pid; /* 0: the slot is free */
	long uid;  /* the uid the attempt runs under (lanes.c), or -1: dlm-suite's own */
	int out, err, status, reaped, timed_out;
	double start, deadline, linger;
	char workdir[PATH_MAX];
};


/* helpers.c */
void fail(const char *fmt, const char *arg);
char *copy(const char *text);
double now_seconds(void);
void json_string(FILE *out, const char *text, size_t length);
void json_cstring(FILE *out, const char *text);
const char *signal_name(int sig);

/* environment.c */
extern char libc_family[16], libc_version[32];
const char *compiled_arch(void);
void read_libc(void);
const char *compiler(void);

/* expectations.c */
const struct rule *expectation(const struct cell *cell);

/* catalog.c */
extern struct cell *cells;
extern struct rule *rules;
extern int cell_count, rule_count;
void load_suite(const char *path);

/* attempt.c */
extern struct slot slots[DLM_MAX_JOBS];
extern int announce_attempts; /* token mode: the host returns a token for each attempt line */
extern int host_gone;         /* token mode: standard input reached its end */
void runtime_dir(char *out, size_t size, const struct cell *cell);
void runtime_value(const char *rtdir, const char *key, char *out, size_t size);
int decided_by_marker(const struct cell *cell, struct attempt *a);
void start_attempt(struct slot *slot, struct job *job);
void service_slots(int token_fd, int *tokens);
void stop_all(void);

/* lanes.c */
extern int lanes_on; /* attempts of serial groups run concurrently, each under a lane uid */
int become(uid_t uid, gid_t gid);
void lanes_init(int jobs);
long attempt_uid(const struct job *job, int index, gid_t *gid);
void lanes_sweep(long uid);
void print_lanes(int json);

/* output.c */
const char *verdict_of(const struct attempt *attempts, int count, const struct rule *rule);
void print_cell_json(const struct cell *cell, const struct rule *rule, const struct attempt *attempts, int count,
		     const char *verdict);
void print_cell_row(const struct cell *cell, const struct rule *rule, const struct attempt *attempts, int count,
		    const char *verdict);
void print_env(int json, int list);
void print_listing(const struct cell *cell, const struct rule *rule, int json);

/* main.c */
extern char root[ROOT_SIZE];
extern double timeout_factor; /* by hand under emulation: --timeout-factor or DLM_TIMEOUT_FACTOR */

#endif
