/* dlm-suite's environment: C library family and version, read at run time, the
 * architecture and the compiler it was built for. */
#define _GNU_SOURCE
#include "suite.h"

#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif

char libc_family[16] = "unknown", libc_version[32] = "unknown";

/* Debian's name for the architecture this suite was compiled for: uname() cannot tell, since an
 * i386 userland on an x86-64 kernel reads x86_64 there. */
const char *compiled_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__i386__)
	return "i386";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__arm__) && defined(__ARM_PCS_VFP)
	return "armhf";
#elif defined(__arm__)
	return "armel";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
	return "ppc64el";
#elif defined(__s390x__)
	return "s390x";
#else
	return "unknown";
#endif
}

#ifndef __GLIBC__
static int find_interp(struct dl_phdr_info *info, size_t size, void *path)
{
	int i;

	(void)size;
	for (i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_INTERP) {
			snprintf(path, PATH_MAX, "%s", (const char *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr));
			return 1;
		}
	return 1; /* only the executable, which comes first, matters */
}
#endif

#ifndef __GLIBC__
/* musl has no version API: its loader prints "Version X" when run bare. */
static void read_musl_version(void)
{
	char interp[PATH_MAX] = "", text[512];
	int fds[2], status;
	ssize_t n, length = 0;
	pid_t child;
	char *version;

	dl_iterate_phdr(find_interp, interp);
	if (!interp[0] || pipe(fds) < 0)
		return;
	child = fork();
	if (child == 0) {
		dup2(fds[1], STDERR_FILENO);
		dup2(fds[1], STDOUT_FILENO);
		execl(interp, interp, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (child > 0 && (n = read(fds[0], text + length, sizeof(text) - 1 - (size_t)length)) > 0)
		length += n;
	text[length] = 0;
	close(fds[0]);
	if (child > 0)
		waitpid(child, &status, 0);
	version = strstr(text, "Version ");
	if (version && sscanf(version + 8, "%31[0-9.]", libc_version) == 1)
		snprintf(libc_family, sizeof(libc_family), "musl");
}
#endif

void read_libc(void)
{
#ifdef __GLIBC__
	snprintf(libc_family, sizeof(libc_family), "glibc");
	snprintf(libc_version, sizeof(libc_version), "%s", gnu_get_libc_version());
#else
	read_musl_version();
#endif
}

const char *compiler(void)
{
#if defined(__clang__)
	return "clang " __clang_version__;
#elif defined(__GNUC__)
	return "gcc " __VERSION__;
#else
	return "unknown";
#endif
}
