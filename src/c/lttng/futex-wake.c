/* dlm-futex-wake [FILE...]: does to each LTTng-UST wait file (/dev/shm/lttng-ust-wait-MAJOR-UID)
 * what a session daemon of that ABI generation does when it starts: set the futex word to 1 and
 * wake every waiter.  Debian ships one generation of lttng-tools per release; an application of
 * another generation waits on a file of its own major number, which that daemon never touches,
 * so its listeners would never run.  With no FILE, every wait file of this uid.  Prints how many
 * files it woke.
 * Compiled with -DDLM_FRESH it is dlm-lttng-fresh, run before each LTTng attempt as the attempt's uid
 * (DLM_SETUP_COMMAND): every LTTng-UST application of a uid waits for a session daemon on one
 * such file, and a daemon that ever started leaves it set, so no two attempts share a uid
 * (DLM_SERIAL: lanes, or turns); it removes this uid's, which gives the attempt a fresh futex: its
 * listeners wait on it, and its own daemon's start wakes them.  Both are programs, not scripts:
 * under qemu-user every program started (a shell, id, rm) is translated anew. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FUTEX_WAKE 1 /* <linux/futex.h>, absent from musl-gcc's headers */
#define SHM "/dev/shm/"
#define PREFIX "lttng-ust-wait-"

/* Whether name is PREFIX MAJOR-UID for this uid (the shell's lttng-ust-wait-*-UID). */
static int ours(const char *name, const char *suffix)
{
	size_t length = strlen(name), tail = strlen(suffix);

	return !strncmp(name, PREFIX, strlen(PREFIX)) && length > strlen(PREFIX) + tail &&
	       !strcmp(name + length - tail, suffix);
}

/* Applies act to each wait file of this uid; how many it did. */
static int each_own(int (*act)(const char *))
{
	char suffix[32], path[PATH_MAX];
	struct dirent *entry;
	DIR *shm = opendir(SHM);
	int done = 0;

	if (!shm)
		return 0;
	snprintf(suffix, sizeof(suffix), "-%u", (unsigned)getuid());
	while ((entry = readdir(shm)))
		if (ours(entry->d_name, suffix)) {
			snprintf(path, sizeof(path), SHM "%s", entry->d_name);
			done += act(path);
		}
	closedir(shm);
	return done;
}

#ifdef DLM_FRESH
static int removed(const char *path)
{
	return unlink(path) == 0;
}

int main(void)
{
	each_own(removed);
	return 0;
}
#else
static int wake(const char *path)
{
	int fd = open(path, O_RDWR);
	int32_t *word;

	if (fd < 0)
		return 0;
	word = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (word == MAP_FAILED)
		return 0;
	__atomic_store_n(word, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	munmap(word, (size_t)sysconf(_SC_PAGESIZE));
	return 1;
}

int main(int argc, char **argv)
{
	int i, woken = 0;

	for (i = 1; i < argc; i++)
		woken += wake(argv[i]);
	if (argc == 1)
		woken = each_own(wake);
	printf("@ futexes_woken %d\n", woken);
	return 0;
}
#endif
