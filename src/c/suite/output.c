/* dlm-suite's output: verdicts, the JSON lines and the table. */
#define _GNU_SOURCE
#include "suite.h"

#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#define EXCERPT 2000

static void print_evidence(FILE *json, const struct capture *out)
{
	const char *line = out->data, *end = out->data + out->length;
	int first = 1;

	fputc('{', json);
	while (line < end) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		const char *key, *value;
		size_t key_len, value_len;
		char *num_end;

		if (!eol)
			eol = end;
		if (eol - line > 2 && line[0] == '@' && line[1] == ' ') {
			key = line + 2;
			value = memchr(key, ' ', (size_t)(eol - key));
			if (value) {
				key_len = (size_t)(value - key);
				value++;
				value_len = (size_t)(eol - value);
				fputs(first ? "" : ",", json);
				first = 0;
				json_string(json, key, key_len);
				fputc(':', json);
				strtol(value, &num_end, 10);
				if ((value_len == 4 && !strncmp(value, "true", 4)) ||
				    (value_len == 5 && !strncmp(value, "false", 5)) ||
				    (value_len == 4 && !strncmp(value, "null", 4)) ||
				    (num_end == eol && num_end != value))
					fwrite(value, 1, value_len, json);
				else
					json_string(json, value, value_len);
			}
		}
		line = eol + 1;
	}
	fputc('}', json);
}

/* The tail of what the driver printed that is not evidence. */
static void print_excerpt(FILE *json, const struct capture *c, int skip_evidence)
{
	char text[EXCERPT + 1];
	size_t used = 0;
	const char *line = c->data, *end = c->data + c->length;

	while (line < end) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		size_t length;

		eol = eol ? eol + 1 : end;
		length = (size_t)(eol - line);
		if (!(skip_evidence && line[0] == '@' && length > 1 && line[1] == ' ')) {
			if (length > EXCERPT)
				line = eol - EXCERPT, length = EXCERPT;
			if (used + length > EXCERPT) {
				memmove(text, text + (used + length - EXCERPT), EXCERPT - length);
				used = EXCERPT - length;
			}
			memcpy(text + used, line, length);
			used += length;
		}
		line = eol;
	}
	json_string(json, text, used);
}

static int allowed(const char *result, const struct rule *rule)
{
	return rule && (!strcmp(result, rule->outcome) || (rule->racy && !strcmp(result, rule->otherwise)));
}

/* The attempt shown for a cell: the first that missed the expectation, else the
 * first that hit it (a racy crash rather than an attempt that ended otherwise), else the first. */
static const struct attempt *representative(const struct attempt *attempts, int count, const struct rule *rule)
{
	int i;

	for (i = 0; i < count; i++)
		if (!allowed(attempts[i].result, rule))
			return &attempts[i];
	for (i = 0; i < count; i++)
		if (!strcmp(attempts[i].result, rule->outcome))
			return &attempts[i];
	return &attempts[0];
}

static int count_of(const struct attempt *attempts, int count, const char *result)
{
	int i, n = 0;

	for (i = 0; i < count; i++)
		n += !strcmp(attempts[i].result, result);
	return n;
}

/* Whether out holds the evidence line "@ KEY VALUE" exactly. */
static int has_evidence_line(const struct capture *out, const char *key, const char *value)
{
	const char *line = out->data, *end = out->data + out->length;
	size_t key_len = strlen(key), value_len = strlen(value);

	while (line < end) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));

		if (!eol)
			eol = end;
		if ((size_t)(eol - line) == 3 + key_len + value_len && !strncmp(line, "@ ", 2) &&
		    !strncmp(line + 2, key, key_len) && line[2 + key_len] == ' ' &&
		    !strncmp(line + 3 + key_len, value, value_len))
			return 1;
		line = eol + 1;
	}
	return 0;
}

/* Whether the attempt shows every KEY=VALUE of the rule's evidence conditions. */
static int shows_evidence(const struct capture *out, const char *wanted)
{
	char conditions[2048], *item, *save = NULL;

	snprintf(conditions, sizeof(conditions), "%s", wanted);
	for (item = strtok_r(conditions, " ", &save); item; item = strtok_r(NULL, " ", &save)) {
		char *equals = strchr(item, '=');

		if (!equals)
			return 0;
		*equals = 0;
		if (!has_evidence_line(out, item, equals + 1))
			return 0;
	}
	return 1;
}

/* A race's verdict: seen in at least DLM_RACY_MIN_ATTEMPTS attempts' worth, at its declared rate. */
static const char *racy_verdict(int hits, int count, const struct rule *rule)
{
	double share = (double)hits / count;

	if (!hits || count < DLM_RACY_MIN_ATTEMPTS)
		return "not-reproduced";
	return share < rule->rate_low || share > rule->rate_high ? "unexpected" : "ok";
}

/* The same judgement as dlmatrix.model.outcomes.verdict, then the rule's evidence conditions. */
const char *verdict_of(const struct attempt *attempts, int count, const struct rule *rule)
{
	const char *expected = rule ? rule->outcome : NULL, *first = attempts[0].result, *verdict;
	int i, all_allowed = 1, uniform = count_of(attempts, count, first) == count;

	for (i = 0; i < count; i++)
		all_allowed &= allowed(attempts[i].result, rule);
	if (uniform && !strcmp(first, "skipped"))
		return expected && !strcmp(expected, "skipped") ? "skipped" : "not-run";
	if (uniform && (!strcmp(first, "build-error") || !strcmp(first, "error")))
		return expected && !strcmp(first, expected) ? "not-run" : "unexpected";
	if (rule && rule->racy && all_allowed)
		verdict = racy_verdict(count_of(attempts, count, expected), count, rule);
	else if (!uniform)
		return "flaky";
	else
		verdict = expected && !strcmp(first, expected) ? "ok" : "unexpected";
	if (!strcmp(verdict, "ok") && !shows_evidence(&representative(attempts, count, rule)->out, rule->evidence))
		return "unexpected"; /* the outcome declared, but not for the reason the rule gives */
	return verdict;
}

void print_cell_json(const struct cell *cell, const struct rule *rule, const struct attempt *attempts,
		     int count, const char *verdict)
{
	const struct attempt *a = representative(attempts, count, rule);
	char outcome[48];
	int i;

	snprintf(outcome, sizeof(outcome), "%s", a->result);
	outcome[strcspn(outcome, ":")] = 0;
	printf("{\"type\":\"cell\",\"scenario\":");
	json_cstring(stdout, cell->scenario);
	printf(",\"runtime\":");
	json_cstring(stdout, cell->runtime);
	printf(",\"result\":\"%s\",\"outcome\":\"%s\",\"signal\":", a->result, outcome);
	if (a->signal > 0)
		printf("\"%s\"", signal_name(a->signal));
	else
		printf("null");
	printf(",\"exit_code\":");
	if (a->exit_code >= 0)
		printf("%d", a->exit_code);
	else
		printf("null");
	printf(",\"duration_s\":%.4f,\"expected\":", a->duration);
	json_cstring(stdout, rule ? rule->outcome : NULL);
	printf(",\"reason\":");
	json_cstring(stdout, rule ? rule->reason : "no expectation rule matches this cell (matrix/expectations.yaml, or the runtime plug-in's own)");
	printf(",\"verdict\":\"%s\",\"evidence\":", verdict);
	print_evidence(stdout, &a->out);
	printf(",\"stdout\":");
	print_excerpt(stdout, &a->out, 1);
	printf(",\"stderr\":");
	print_excerpt(stdout, &a->err, 0);
	printf(",\"loader\":");
	if (a->ld.length)
		json_string(stdout, a->ld.data, a->ld.length);
	else
		printf("null");
	printf(",\"attempts\":[");
	for (i = 0; i < count; i++) {
		printf("%s{\"result\":\"%s\",\"duration_s\":%.4f", i ? "," : "", attempts[i].result,
		       attempts[i].duration);
		if (attempts[i].lane > 0) /* a serial group's attempt: its lane's uid, or it took turns */
			printf(",\"lane\":%ld}", attempts[i].lane);
		else
			printf("%s}", attempts[i].lane < 0 ? ",\"lane\":\"serial\"" : "");
	}
	printf("]}\n");
	fflush(stdout);
}

void print_cell_row(const struct cell *cell, const struct rule *rule, const struct attempt *attempts,
		    int count, const char *verdict)
{
	const struct attempt *a = representative(attempts, count, rule);
	int i, same = 0;

	for (i = 0; i < count; i++)
		same += !strcmp(attempts[i].result, a->result);
	printf("%-24s %-10s %-14s %-14s %-10s %4d/%-4d %8.3fs\n", cell->scenario, cell->runtime, a->result,
	       rule ? rule->outcome : "-", verdict, same, count, a->duration);
	fflush(stdout);
}

void print_env(int json, int list)
{
	struct utsname host;

	uname(&host);
	if (json) {
		printf("{\"type\":\"env\",\"libc\":{\"family\":");
		json_cstring(stdout, libc_family);
		printf(",\"version\":");
		json_cstring(stdout, libc_version);
		printf("},\"compiler\":");
		json_cstring(stdout, compiler());
		printf(",\"kernel\":");
		json_cstring(stdout, host.release);
		printf(",\"machine\":");
		json_cstring(stdout, host.machine);
		printf(",\"arch\":");
		json_cstring(stdout, compiled_arch());
		printf(",\"timeout_factor\":%g}\n", timeout_factor);
	} else {
		printf("dlmatrix suite: %s %s on %s, built by %s, kernel %s %s%s\n\n", libc_family, libc_version,
		       compiled_arch(), compiler(), host.release, host.machine,
		       timeout_factor != 1 ? " (timeouts scaled for emulation)" : "");
		if (list)
			printf("%-24s %-10s %-14s %s\n", "SCENARIO", "RUNTIME", "EXPECTED", "DESCRIPTION");
		else
			printf("%-24s %-10s %-14s %-14s %-10s %9s %9s\n", "SCENARIO", "RUNTIME", "RESULT",
			       "EXPECTED", "VERDICT", "SAME", "TIME");
	}
	fflush(stdout);
}

void print_listing(const struct cell *cell, const struct rule *rule, int json)
{
	if (!json) {
		printf("%-24s %-10s %-14s %s\n", cell->scenario, cell->runtime, rule ? rule->outcome : "-",
		       cell->description);
		return;
	}
	printf("{\"type\":\"listing\",\"scenario\":");
	json_cstring(stdout, cell->scenario);
	printf(",\"runtime\":");
	json_cstring(stdout, cell->runtime);
	printf(",\"expected\":");
	json_cstring(stdout, rule ? rule->outcome : NULL);
	printf(",\"reason\":");
	json_cstring(stdout, rule ? rule->reason : NULL);
	printf(",\"description\":");
	json_cstring(stdout, cell->description);
	printf("}\n");
}
