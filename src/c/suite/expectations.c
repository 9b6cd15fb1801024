/* dlm-suite's expectations: first matching rule wins (same rule as dlmatrix.model.expectations). */
#define _GNU_SOURCE
#include "suite.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int compare_versions(const char *a, const char *b)
{
	while (*a || *b) {
		long x = strtol(a, (char **)&a, 10), y = strtol(b, (char **)&b, 10);

		if (x != y)
			return x < y ? -1 : 1;
		a += *a == '.';
		b += *b == '.';
		if (!isdigit((unsigned char)*a) && !isdigit((unsigned char)*b))
			break;
	}
	return 0;
}

static int version_in(const char *range, const char *version)
{
	char buf[256], *item, *save = NULL;

	if (!strcmp(range, "*"))
		return 1;
	snprintf(buf, sizeof(buf), "%s", range);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		int ok;

		while (*item == ' ')
			item++;
		if (!strncmp(item, ">=", 2))
			ok = compare_versions(version, item + 2) >= 0;
		else if (!strncmp(item, "<=", 2))
			ok = compare_versions(version, item + 2) <= 0;
		else if (!strncmp(item, "==", 2))
			ok = compare_versions(version, item + 2) == 0;
		else if (*item == '>')
			ok = compare_versions(version, item + 1) > 0;
		else if (*item == '<')
			ok = compare_versions(version, item + 1) < 0;
		else
			ok = compare_versions(version, item) == 0;
		if (!ok)
			return 0;
	}
	return 1;
}

const struct rule *expectation(const struct cell *cell)
{
	int i;

	for (i = 0; i < rule_count; i++) {
		const struct rule *rule = &rules[i];

		if (!fnmatch(rule->scenario, cell->scenario, 0) && !fnmatch(rule->runtime, cell->runtime, 0) &&
		    (!strcmp(rule->family, "*") || !strcmp(rule->family, libc_family)) &&
		    version_in(rule->versions, libc_version) && !fnmatch(rule->arch, compiled_arch(), 0))
			return rule;
	}
	return NULL;
}
