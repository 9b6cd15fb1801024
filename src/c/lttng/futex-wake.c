/* dlm-futex-wake FILE...: does to each LTTng-UST wait file (/dev/shm/lttng-ust-wait-MAJOR-UID)
 * what a session daemon of that ABI generation does when it starts: set the futex word to 1 and
 * wake every waiter.  Debian ships one generation of lttng-tools per release; an application of
 * another generation waits on a file of its own major number, which that daemon never touches,
 * so its listeners would never run.  Prints how many files it woke. */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FUTEX_WAKE 1 /* <linux/futex.h>, absent from musl-gcc's headers */

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
	printf("@ futexes_woken %d\n", woken);
	return 0;
}
