/* dlm-suite's small helpers: failing, copying, the clock, JSON strings, signal names. */
#define _GNU_SOURCE
#include "suite.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void fail(const char *fmt, const char *arg)
{
	fprintf(stderr, "dlm-suite: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(2);
}

char *copy(const char *text)
{
	char *result = strdup(text ? text : "");

	if (!result)
		fail("%s", "out of memory");
	return result;
}

double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void json_string(FILE *out, const char *text, size_t length)
{
	size_t i;

	fputc('"', out);
	for (i = 0; i < length; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

void json_cstring(FILE *out, const char *text)
{
	if (text)
		json_string(out, text, strlen(text));
	else
		fputs("null", out);
}

const char *signal_name(int sig)
{
	static char other[16];

	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGBUS: return "SIGBUS";
	case SIGABRT: return "SIGABRT";
	case SIGILL: return "SIGILL";
	case SIGFPE: return "SIGFPE";
	case SIGKILL: return "SIGKILL";
	case SIGTERM: return "SIGTERM";
	case SIGTRAP: return "SIGTRAP";
	case SIGSYS: return "SIGSYS";
	default: snprintf(other, sizeof(other), "SIG%d", sig); return other;
	}
}
