/* The scenario driver's exit codes, one per cause, defined here and nowhere else in C:
 * docs/results.md ("Exit codes") is their table, src/c/lttng/lttng-common names the
 * LTTng helpers' own, and tests/unit/test_exit_codes.py keeps the three equal.
 * X(NAME, CODE, HELPER): HELPER is 1 for a code that a helper program (run:NAME,
 * DLM_WAKE_COMMAND, DLM_SETUP_COMMAND) may end with; the driver then ends with it too,
 * so the helper's cause reaches the cell's outcome.  Any other failure of a helper (a
 * shell's `set -e` passes on whatever its command returned, `lttng` returns 1 to 5)
 * is HELPER, not a cause it did not name.
 * 4 is not used: it was every failed step before the causes were told apart, and a rule
 * written for it must match nothing rather than some other cause. */
#ifndef DLM_EXITS_H
#define DLM_EXITS_H

#define DLM_EXIT_CODES(X)                                                                   \
	X(PASS, 0, 0)         /* every step ran */                                               \
	X(USAGE, 2, 0)        /* steps or environment refused: dlm-suite calls the cell error */ \
	X(BOUND, 3, 0)        /* threads or resident memory grew past the bounded step's bound */ \
	X(CHILD, 5, 0)        /* the child of fork-child crashed or failed */                    \
	X(DLFCN, 6, 0)        /* a dlopen(), dlsym() or dlclose() of a provider or the runtime */ \
	X(UNREGISTERED, 7, 0) /* a provider fired but says its probe is not registered */        \
	X(SYSTEM, 8, 0)       /* fork, waitpid, pthread_create or a write to the wake pipe */    \
	X(WAKE, 9, 0)         /* wake: no published address, a bad one, or connect() failed */    \
	X(HELPER, 10, 0)      /* a helper failed otherwise: killed, not run, or another code */   \
	X(NO_SESSIOND, 11, 1) /* lttng-sessiond is missing or did not become ready */            \
	X(REFUSED, 12, 1)     /* the session daemon did not list the application */             \
	X(NO_EVENTS, 13, 1)   /* registered, but the trace lacks the events of a phase */

#define DLM_EXIT_ENUM(name, code, helper) DLM_EXIT_##name = code,
enum dlm_exit { DLM_EXIT_CODES(DLM_EXIT_ENUM) };
#undef DLM_EXIT_ENUM

/* Whether a helper that exited with code named its cause (a HELPER code of the table). */
static inline int dlm_helper_cause(int code)
{
#define DLM_EXIT_IS_HELPER(name, value, helper) \
	if ((helper) && code == (value))        \
		return 1;
	DLM_EXIT_CODES(DLM_EXIT_IS_HELPER)
#undef DLM_EXIT_IS_HELPER
	return 0;
}

#endif
