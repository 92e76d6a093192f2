/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - tests/testlib.h: a minimal test harness
 *
 * Each test program is a list of functions registered with TEST(); the
 * CHECK macros record a failure with file:line and carry on within the test
 * (so one run shows every broken expectation), REQUIRE stops the test.
 * The exit code is 0 only if every test passed; "SKIP" is exit code 77
 * (CTest's SKIP_RETURN_CODE) when nothing ran and something was skipped.
 */
#ifndef QREMAP_TESTLIB_H
#define QREMAP_TESTLIB_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct test_case {
	const char *name;
	void (*fn)(void);
};

extern int test_failures;
extern bool test_skipped;

#define TEST_SKIP_CODE 77

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
			test_failures++;                                                           \
		}                                                                                  \
	} while (0)

#define REQUIRE(cond)                                                                              \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond); \
			test_failures++;                                                           \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define CHECK_INT(a, b)                                                                            \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (a_ != b_) {                                                                    \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n",          \
			        __FILE__, __LINE__, #a, #b, a_, b_);                               \
			test_failures++;                                                           \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (!a_ || !b_ || strcmp(a_, b_)) {                                                \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n",      \
			        __FILE__, __LINE__, #a, #b, a_ ? a_ : "(null)",                    \
			        b_ ? b_ : "(null)");                                               \
			test_failures++;                                                           \
		}                                                                                  \
	} while (0)

#define CHECK_CONTAINS(hay, needle)                                                                \
	do {                                                                                       \
		const char *h_ = (hay), *n_ = (needle);                                            \
		if (!h_ || !strstr(h_, n_)) {                                                      \
			fprintf(stderr, "%s:%d: CHECK failed: \"%s\" contains \"%s\"\n", __FILE__, \
			        __LINE__, h_ ? h_ : "(null)", n_);                                 \
			test_failures++;                                                           \
		}                                                                                  \
	} while (0)

#define SKIP(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "SKIP: " __VA_ARGS__);                                             \
		fputc('\n', stderr);                                                               \
		test_skipped = true;                                                               \
		return;                                                                            \
	} while (0)

int test_main(int argc, char **argv, const struct test_case *tests, size_t n);
int test_run_capture(const char *const *argv, char **out, char **errout);
bool test_is_root(void);
const char *test_tmpdir(const char *tag);
void test_rmtree(const char *dir);
char *test_read_file(const char *path);
bool test_flow_once(const char *ip, bool tcp, unsigned i, int timeout_ms);
int test_flows(const char *ip, int n, int timeout_ms);

/* Each test program ends with: TEST_MAIN(test_a, test_b, ...) */
#define TEST_MAIN(...)                                                                             \
	int main(int argc, char **argv)                                                            \
	{                                                                                          \
		void (*fns[])(void) = {__VA_ARGS__};                                               \
		static const char names[] = #__VA_ARGS__;                                          \
		struct test_case tc[sizeof(fns) / sizeof(fns[0])];                                 \
		static char buf[sizeof(names)];                                                    \
		char *save = NULL, *tok;                                                           \
		size_t i = 0;                                                                      \
		memcpy(buf, names, sizeof(names));                                                 \
		for (tok = strtok_r(buf, ", \n\t", &save);                                         \
		     tok && i < sizeof(fns) / sizeof(fns[0]);                                      \
		     tok = strtok_r(NULL, ", \n\t", &save), i++) {                                 \
			tc[i].name = tok;                                                          \
			tc[i].fn = fns[i];                                                         \
		}                                                                                  \
		return test_main(argc, argv, tc, i);                                               \
	}

#endif /* QREMAP_TESTLIB_H */
