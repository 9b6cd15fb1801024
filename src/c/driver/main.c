/* The driver's main room: the steps, each run by step_VERB through the table that
 * generated.h's DLM_STEPS builds, and main (its environment, then one step per argument). */
#define _GNU_SOURCE
#include "driver.h"

#include "generated.h" /* DLM_STEPS and DLM_STEP_ARGUMENTS, from the Python side (build.sh: -I) */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *libdir;
const char *runtime_soname = DLMRT_SONAME;
long threads_at_start = -1;

void die(enum dlm_exit code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("dlm-driver: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(code);
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
		die(DLM_EXIT_USAGE, "empty step");
	for (; (arg = strtok(NULL, ":")); count++)
		if (count < DLM_STEP_ARGUMENTS)
			args[count] = arg;
	known = find_step(verb);
	if (!known || count < known->least)
		die(DLM_EXIT_USAGE, "unknown or incomplete step '%s'", verb);
	if (count > known->most)
		die(DLM_EXIT_USAGE, "step '%s' takes at most %d argument(s)", verb, known->most);
	known->run(args);
}

int main(int argc, char **argv)
{
	int i;

	if (argc < 2)
		die(DLM_EXIT_USAGE, "usage: %s STEP...", argv[0]);
	set_up_pipes(argv);
	/* the loader's account is of this process (and its forks); helpers it runs keep theirs */
	open_loader_log();
	unsetenv("LD_DEBUG");
	unsetenv("LD_DEBUG_OUTPUT");
	libdir = getenv("DLM_LIBDIR");
	if (!libdir)
		die(DLM_EXIT_USAGE, "DLM_LIBDIR is not set (the suite runner sets it)");
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
	return DLM_EXIT_PASS;
}
