/* Lanes: the uids dlm-suite's attempts run under when it is started as root.
 * LTTng-UST keys its wait futex (/dev/shm/lttng-ust-wait-MAJOR-UID) on getuid(), so two
 * attempts of one uid share it and their daemons wake each other's listeners: attempts of
 * a serial group (DLM_SERIAL) used to take turns.  Started as root with DLM_RUN_AS (the
 * image's ordinary user, UID:GID) and DLM_LANES (the first lane uid) set, dlm-suite gives
 * the attempt in slot N the uid DLM_LANES+N when its runtime declares a serial group, and
 * every other attempt the ordinary user: a slot runs one attempt at a time, so a lane uid
 * is never shared, and nothing runs as root.  Where it cannot switch (not root, no
 * DLM_RUN_AS, a uid the kernel refuses) the groups take turns as before, and the suite
 * says so once (its lanes line and summary). */
#define _GNU_SOURCE
#include "suite.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int lanes_on;
static int drop_to_user; /* every attempt outside a lane runs as DLM_RUN_AS */
static uid_t user_uid, first_lane;
static gid_t user_gid;
static int lane_count;
static char why[256]; /* why the serial groups take turns, when they do */

/* In a child: this process becomes uid:gid for good, with no supplementary groups. */
int become(uid_t uid, gid_t gid)
{
	return setgroups(0, NULL) || setgid(gid) || setuid(uid) ? -1 : 0;
}

/* Whether a child can become uid:gid (a user namespace may not map it); errno's text in why. */
static int can_become(uid_t uid, gid_t gid)
{
	int status, saved;
	pid_t child = fork();

	if (child == 0)
		_exit(become(uid, gid) ? errno & 0x7f : 0);
	if (child < 0 || waitpid(child, &status, 0) < 0)
		return 0;
	saved = WIFEXITED(status) ? WEXITSTATUS(status) : EINVAL;
	if (saved)
		snprintf(why, sizeof(why), "cannot switch to uid %ld: %s", (long)uid, strerror(saved));
	return !saved;
}

/* A number from the environment, or -1 when it is absent or not a plain number. */
static long id_from(const char *text, char **end)
{
	long value;

	if (!text || *text < '0' || *text > '9')
		return -1;
	errno = 0;
	value = strtol(text, end, 10);
	return errno || value < 1 || value > 0x7fffffff ? -1 : value;
}

static int parse_user(void)
{
	const char *run_as = getenv("DLM_RUN_AS");
	char *end = NULL;
	long uid = id_from(run_as, &end), gid;

	if (uid < 0) {
		snprintf(why, sizeof(why), "%s", "no user to switch to (DLM_RUN_AS is not set)");
		return 0;
	}
	gid = *end == ':' ? id_from(end + 1, &end) : uid;
	if (gid < 0 || *end)
		fail("DLM_RUN_AS must be UID or UID:GID (numbers), not %s", run_as);
	user_uid = (uid_t)uid;
	user_gid = (gid_t)gid;
	return 1;
}

/* The effective capabilities (/proc/self/status), or 0 when they cannot be read. */
static unsigned long long effective_caps(void)
{
	char line[256];
	unsigned long long caps = 0;
	FILE *status = fopen("/proc/self/status", "r");

	while (status && fgets(line, sizeof(line), status))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	if (status)
		fclose(status);
	return caps;
}

void lanes_init(int jobs)
{
	/* CHOWN, DAC_OVERRIDE, KILL, SETGID, SETUID: to hand an attempt its directory, read and remove
	 * what it left, stop it and switch; without one an attempt could not be stopped or cleaned up */
	const unsigned long long needed = 1 << 0 | 1 << 1 | 1 << 5 | 1 << 6 | 1 << 7;
	char *end = NULL;
	long first = id_from(getenv("DLM_LANES"), &end);
	unsigned long long caps;
	int i;

	if (geteuid() != 0) {
		snprintf(why, sizeof(why), "%s", "not started as root: every attempt runs as the invoking user");
		return;
	}
	if (((caps = effective_caps()) & needed) != needed) {
		snprintf(why, sizeof(why),
			 "started as root without CHOWN, DAC_OVERRIDE, KILL, SETGID and SETUID (CapEff %llx): "
			 "every attempt runs as root",
			 caps);
		return;
	}
	if (!parse_user() || !(drop_to_user = can_become(user_uid, user_gid)))
		return;
	if (first < 0 || *end) {
		snprintf(why, sizeof(why), "%s", "no lane uids (DLM_LANES is not set)");
		return;
	}
	for (i = 0; i < jobs; i++)
		if (!can_become((uid_t)(first + i), (gid_t)(first + i)))
			return;
	first_lane = (uid_t)first;
	lane_count = jobs;
	lanes_on = 1;
}

/* The uid an attempt in slot index of a job runs under, or -1 to stay as started. */
long attempt_uid(const struct job *job, int index, gid_t *gid)
{
	if (lanes_on && job->serial[0]) {
		*gid = (gid_t)(first_lane + (uid_t)index);
		return (long)(first_lane + (uid_t)index);
	}
	*gid = user_gid;
	return drop_to_user ? (long)user_uid : -1;
}

/* After a lane's attempt: ends whatever the lane's uid still runs (a session daemon that
 * left the attempt's process group), so that the slot's next attempt starts clean. */
void lanes_sweep(long uid)
{
	pid_t child;

	if (!lanes_on || uid < (long)first_lane || uid >= (long)first_lane + lane_count)
		return;
	child = fork();
	if (child == 0)
		_exit(become((uid_t)uid, (gid_t)uid) || kill(-1, SIGKILL) ? 1 : 0); /* never the caller */
	if (child > 0)
		waitpid(child, NULL, 0);
}

/* The suite's account of how serial groups ran, said once (JSON line, or text). */
void print_lanes(int json)
{
	if (json && lanes_on)
		printf("{\"type\":\"lanes\",\"used\":true,\"first_uid\":%ld,\"count\":%d,\"user\":%ld}\n",
		       (long)first_lane, lane_count, (long)user_uid);
	else if (json) {
		printf("{\"type\":\"lanes\",\"used\":false,\"why\":");
		json_cstring(stdout, why);
		printf("}\n");
	} else if (lanes_on)
		printf("serial groups ran in lanes: uids %ld-%ld (others as uid %ld)\n", (long)first_lane,
		       (long)first_lane + lane_count - 1, (long)user_uid);
	else
		printf("serial groups took turns: %s\n", why);
}
