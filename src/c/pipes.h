/* The wake and event pipes between the driver and a runtime's threads (driver/wake.c). They live
 * in the driver, not in the runtime, so that they survive an unmapping; the runtime finds them in
 * its constructor through the environment, and a runtime loaded at start-up needs them before
 * main(). So dlm-suite opens them for each driver it starts (which then runs once), and a driver
 * started by hand opens them and runs itself again. Shared by both: src/c is on their -I. */
#ifndef DLM_PIPES_H
#define DLM_PIPES_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Opens both pipes and names their ends in DLM_WAKE_FD, DLM_WAKE_WRITE_FD, DLM_EVENT_FD and
 * DLM_EVENT_READ_FD, inherited across exec; -1 (errno set) when a pipe cannot be made. */
static inline int dlm_open_pipes(void)
{
	int wake[2], events[2];
	char value[16];

	if (pipe(wake) < 0 || pipe(events) < 0)
		return -1;
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
	return 0;
}

#endif
