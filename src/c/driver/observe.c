/* The driver's observations: evidence lines, and what a check sees of the runtime
 * (mapped by /proc/self/maps, dl_iterate_phdr and RTLD_NOLOAD; its listener threads;
 * other objects loaded) and of the process (threads, resident memory). */
#define _GNU_SOURCE
#include "driver.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <fnmatch.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void evidence(const char *key, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n = snprintf(line, sizeof(line), "@ %s ", key);

	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDOUT_FILENO, line, (size_t)n) < 0)
		_exit(DLM_EXIT_USAGE); /* stdout is gone: the harness failed, dlm-suite says error */
}

/* The context switches a thread has made so far: it ran if the count grew. */
static long context_switches(const char *task)
{
	char path[300], line[128];
	long total = 0, value;
	FILE *file;

	snprintf(path, sizeof(path), "/proc/self/task/%s/status", task);
	if (!(file = fopen(path, "r")))
		return 0;
	while (fgets(line, sizeof(line), file))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &value) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %ld", &value) == 1)
			total += value;
	fclose(file);
	return total;
}

/* A real runtime's listeners are the threads whose name matches pattern (a
 * glob): how many there are and how often they have run (context switches). */
static int count_listener_threads(const char *pattern, long *switches)
{
	DIR *tasks = opendir("/proc/self/task");
	struct dirent *entry;
	char path[300], comm[64];
	int count = 0;

	*switches = 0;
	if (!tasks)
		return -1;
	while ((entry = readdir(tasks))) {
		FILE *file;
		size_t n;

		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", entry->d_name);
		if (entry->d_name[0] == '.' || !(file = fopen(path, "r")))
			continue;
		n = fread(comm, 1, sizeof(comm) - 1, file);
		fclose(file);
		comm[n] = 0;
		comm[strcspn(comm, "\n")] = 0;
		if (!fnmatch(pattern, comm, 0)) {
			count++;
			*switches += context_switches(entry->d_name);
		}
	}
	closedir(tasks);
	return count;
}

/* The soname itself or the versioned file it names (liblttng-ust.so.1.0.0). */
static int names_runtime(const char *file)
{
	size_t length = strlen(runtime_soname);

	return !strncmp(file, runtime_soname, length) && (file[length] == 0 || file[length] == '.');
}

static int mapped_in_proc_maps(void)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[1024];
	int found = 0;

	if (!maps)
		return -1;
	while (!found && fgets(line, sizeof(line), maps)) {
		const char *slash = strrchr(line, '/');

		line[strcspn(line, "\n")] = 0;
		found = slash && names_runtime(slash + 1);
	}
	fclose(maps);
	return found;
}

static int phdr_visit(struct dl_phdr_info *info, size_t size, void *found)
{
	const char *name = info->dlpi_name ? strrchr(info->dlpi_name, '/') : NULL;

	(void)size;
	if (name && names_runtime(name + 1))
		*(int *)found = 1;
	return 0;
}

static int mapped_in_phdr(void)
{
	int found = 0;

	dl_iterate_phdr(phdr_visit, &found);
	return found;
}

/* DLM_EVIDENCE_KEY=value in the runtime's description (where it was built
 * from: upstream repository, commit, patches) becomes evidence key: value. */
void report_provenance(void)
{
	extern char **environ;
	char key[128];
	char **item;
	size_t i;

	for (item = environ; *item; item++) {
		const char *text = *item + strlen("DLM_EVIDENCE_"), *equals;

		if (strncmp(*item, "DLM_EVIDENCE_", strlen("DLM_EVIDENCE_")) || !(equals = strchr(text, '=')))
			continue;
		for (i = 0; text + i < equals && i < sizeof(key) - 1; i++)
			key[i] = (char)tolower((unsigned char)text[i]);
		key[i] = 0;
		evidence(key, "%s", equals + 1);
	}
}

/* NOLOAD by soname; the probe's own reference is dropped again at once. */
static int loaded(const char *soname)
{
	void *probe = dlopen(soname, RTLD_LAZY | RTLD_NOLOAD);

	if (!probe)
		return 0;
	dlclose(probe);
	return 1;
}

/* DLM_WATCH_SONAMES (comma-separated): other objects whose presence explains the
 * runtime's, e.g. the one that holds it loaded; each gives loaded:SONAME. */
static void watch_sonames(const char *label)
{
	char list[512], key[300], *save = NULL, *name;

	snprintf(list, sizeof(list), "%s", getenv("DLM_WATCH_SONAMES") ? getenv("DLM_WATCH_SONAMES") : "");
	for (name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		snprintf(key, sizeof(key), label ? "loaded:%s@%s" : "loaded:%s", name, label);
		evidence(key, "%s", loaded(name) ? "true" : "false");
	}
}

long count_threads(void)
{
	DIR *tasks = opendir("/proc/self/task");
	struct dirent *entry;
	long count = 0;

	if (!tasks)
		return -1;
	while ((entry = readdir(tasks)))
		count += entry->d_name[0] != '.';
	closedir(tasks);
	return count;
}

long rss_kb(void)
{
	FILE *statm = fopen("/proc/self/statm", "r");
	long size, resident = -1;

	if (!statm)
		return -1;
	if (fscanf(statm, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(statm);
	return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static const char *truth(int value)
{
	return value < 0 ? "null" : value ? "true" : "false";
}

void check(const char *label)
{
	int maps = mapped_in_proc_maps(), phdr = mapped_in_phdr(), noload = loaded(runtime_soname);
	char key[64];

	drain_events(0);
#define LABELLED(name) (snprintf(key, sizeof(key), label ? "%s@%s" : "%s", name, label), key)
	evidence(LABELLED("mapped"), "%s", truth(maps < 0 ? phdr : maps));
	evidence(LABELLED("mapped_maps"), "%s", truth(maps));
	evidence(LABELLED("mapped_phdr"), "%s", truth(phdr));
	evidence(LABELLED("mapped_noload"), "%s", truth(noload));
	evidence(LABELLED("threads_live"), "%ld", count_threads());
	watch_sonames(label);
	if (getenv("DLM_THREAD_PATTERN")) { /* a real runtime: its threads are all we can see */
		long switches;

		evidence(LABELLED("listener_threads"), "%d",
			 count_listener_threads(getenv("DLM_THREAD_PATTERN"), &switches));
		/* grows between two checks when the listeners ran in between (a wake) */
		evidence(LABELLED("listener_switches"), "%ld", switches);
	} else if (getenv("DLM_THREADS_ADDED")) { /* unnamed threads: those beyond the driver's own */
		evidence(LABELLED("listener_threads"), "%ld", count_threads() - threads_at_start);
	} else { /* the model reports its own events */
		evidence(LABELLED("listeners_live"), "%d", seen.started - seen.exited);
		evidence(LABELLED("ctor_runs"), "%d", seen.ctor);
		evidence(LABELLED("dtor_runs"), "%d", seen.dtor);
		evidence(LABELLED("listeners_started"), "%d", seen.started);
		evidence(LABELLED("events_fired"), "%d", seen.fired);
		evidence(LABELLED("pin_errors"), "%d", seen.pin_errors);
	}
#undef LABELLED
}
