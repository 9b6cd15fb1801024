/* dlm-suite's catalog: the suite file (share/suite.tsv, or --suite FILE or -), cells and rules. */
#define _GNU_SOURCE
#include "suite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cell *cells;
struct rule *rules;
int cell_count, rule_count;

static int split_tabs(char *line, char **fields, int max)
{
	int count = 0;
	char *tab;

	line[strcspn(line, "\r\n")] = 0;
	while (count < max) {
		fields[count++] = line;
		tab = strchr(line, '\t');
		if (!tab)
			break;
		*tab = 0;
		line = tab + 1;
	}
	return count;
}

/* Room for one more element: the catalog has no fixed limit on cells or rules. */
static void *grow(void *array, int count, int *capacity, size_t size)
{
	if (count < *capacity)
		return array;
	*capacity = *capacity ? *capacity * 2 : 64;
	array = realloc(array, (size_t)*capacity * size);
	if (!array)
		fail("%s", "out of memory");
	return array;
}

/* A catalog from a file, or from standard input up to a DLM_SUITE_END line (or its end). */
void load_suite(const char *path)
{
	FILE *file = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *line = NULL, *f[11];
	size_t capacity = 0;
	int n, cell_room = 0, rule_room = 0;

	if (!file)
		fail("cannot read the suite file %s (build the suite with build.sh first)", path);
	if (file == stdin)
		setvbuf(stdin, NULL, _IONBF, 0); /* read no further than DLM_SUITE_END: the tokens follow it */
	while (getline(&line, &capacity, file) > 0) {
		if (!strncmp(line, DLM_SUITE_END, strlen(DLM_SUITE_END)) && file == stdin)
			break;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		n = split_tabs(line, f, 11);
		if (!strcmp(f[0], "cell") && n == 10) {
			struct cell *c;

			cells = grow(cells, cell_count, &cell_room, sizeof(*cells));
			c = &cells[cell_count++];
			c->scenario = copy(f[1]);
			c->runtime = copy(f[2]);
			c->timeout_ms = strtol(f[3], NULL, 10);
			c->driver = copy(f[4]);
			c->env = copy(f[5]);
			c->steps = copy(f[6]);
			c->description = copy(f[7]);
			c->min_attempts = atoi(f[8]);
			c->requires = copy(f[9]);
		} else if (!strcmp(f[0], "expect") && n == 11) {
			struct rule *r;

			rules = grow(rules, rule_count, &rule_room, sizeof(*rules));
			r = &rules[rule_count++];
			r->scenario = copy(f[1]);
			r->runtime = copy(f[2]);
			r->family = copy(f[3]);
			r->versions = copy(f[4]);
			r->outcome = copy(f[5]);
			r->reason = copy(f[6]);
			r->racy = !strncmp(f[7], "racy", 4);
			r->otherwise = copy(r->racy && f[7][4] == ':' ? f[7] + 5 : "pass");
			r->arch = copy(f[8]);
			r->evidence = copy(strcmp(f[9], "-") ? f[9] : "");
			r->rate_low = 0, r->rate_high = 1;
			if (strcmp(f[10], "-") && sscanf(f[10], "%lf,%lf", &r->rate_low, &r->rate_high) != 2)
				fail("malformed rate in the suite file: %s", f[10]);
		} else {
			fail("malformed line in the suite file: %s", f[0]);
		}
	}
	free(line);
	if (file != stdin)
		fclose(file);
}
