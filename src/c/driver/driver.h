/* Scenario driver: the application of the seed.  It is NOT linked against the
 * runtime (unless built as dlm-driver-linked) and runs the steps given on its
 * command line, one per argument (matrix/scenarios.yaml says what each does).
 * The step language is defined once, in src/dlmatrix/config/steps.py (STEPS);
 * the bundle's generated.h brings it here as DLM_STEPS, one entry per verb with
 * its number of arguments, which run_step looks up; each verb is run by the
 * function step_VERB in main.c (a verb without one does not compile, one without
 * a verb is unused: -Werror).
 * Evidence goes to stdout as "@ key value" lines, written as it is gathered so
 * that a crash loses nothing already seen.  Exit codes: 0 pass, else one per cause
 * (../exits.h: DLM_EXIT_*; a helper's own cause is passed on).
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
/* The rooms of the driver share this header: main.c (the steps, their table from
 * generated.h, main), providers.c (providers and the runtime opened and closed,
 * fired, cycled, forked), observe.c (evidence and what a check sees: mappings,
 * threads, memory), wake.c (the driver's pipes, the runtime's events, waking
 * listeners, helper programs) and loader.c (marks in glibc's loader log).  Each
 * global below is defined in the file named beside it. */
#ifndef DLM_DRIVER_H
#define DLM_DRIVER_H

#include "dlmrt.h"
#include "exits.h"

struct counters {
	int ctor, dtor, started, exited, heartbeats, fired, pin_errors, busy;
};

/* main.c */
extern const char *libdir;         /* DLM_LIBDIR: the runtime variant's lib/ */
extern const char *runtime_soname; /* DLM_RUNTIME_SONAME, else the model's */
extern long threads_at_start;      /* DLM_THREADS_ADDED counts the threads beyond these */
void die(enum dlm_exit code, const char *fmt, ...);

/* providers.c */
void open_provider(const char *name, const char *flags);
void close_provider(const char *name);
void close_in_thread(const char *name);
void fire(const char *name);
void open_runtime(void);
void close_runtime(void);
void cycles(long count, const char *name);
void bounded(void);
void fork_child(const char *name);

/* observe.c */
void evidence(const char *key, const char *fmt, ...);
void report_provenance(void);
long count_threads(void);
long rss_kb(void);
void check(const char *label);

/* wake.c */
extern struct counters seen; /* the events the runtime reported so far */
void set_up_pipes(char **argv);
void drain_events(int timeout_ms);
void run_program(const char *path);
void run_tool(const char *name);
void wake(void);
void exit_fast(void);
void sleep_ms(long ms);

/* loader.c */
void loader_mark(const char *what);
void open_loader_log(void);

#endif
