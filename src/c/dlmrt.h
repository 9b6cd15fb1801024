/* dlmrt: a model of liblttng-ust's shape, small enough to read in one sitting.
 *
 * Its constructor starts detached listener threads (like ust_listener_threads)
 * and providers register probes from their own constructors.  Built in variants
 * (see matrix/runtimes.yaml) that differ only in how, or whether, the runtime
 * keeps itself mapped while those threads run. */
#ifndef DLMRT_H
#define DLMRT_H

#define DLMRT_MAJOR 1
#define DLMRT_STR2(x) #x
#define DLMRT_STR(x) DLMRT_STR2(x)
/* The seed builds the name from the major version, so does this. */
#define DLMRT_SONAME "libdlmrt.so." DLMRT_STR(DLMRT_MAJOR)

/* Events the runtime reports, one byte each, on the fd named by DLM_EVENT_FD.
 * They go to a pipe owned by the scenario driver so they outlive an unmapping. */
#define DLMRT_EV_CTOR 'C'
#define DLMRT_EV_DTOR 'D'
#define DLMRT_EV_LISTENER_START 'T'
#define DLMRT_EV_LISTENER_EXIT 'X'
#define DLMRT_EV_HEARTBEAT 'h'
#define DLMRT_EV_FIRE 'F'
#define DLMRT_EV_PIN_ERROR 'E'
#define DLMRT_EV_BUSY 'B' /* a listener took a busy wake-up and is now blocked in it */

/* Bytes the driver writes to DLM_WAKE_FD: one wakes one listener. */
#define DLMRT_WAKE 'w'
#define DLMRT_WAKE_BUSY 'b' /* listener then blocks like a slow sessiond handshake */

struct dlm_probe {
	const char *name;
	struct dlm_probe *next;
	unsigned long fired;
};

int dlm_rt_register(struct dlm_probe *probe);
void dlm_rt_unregister(struct dlm_probe *probe);
int dlm_rt_fire(struct dlm_probe *probe);
const char *dlm_rt_variant(void);

#endif
