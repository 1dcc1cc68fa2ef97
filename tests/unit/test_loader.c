/*
 * test_loader.c - the transport plugin loader against good and broken
 * plugins (tests/fakeplugins, built into $(BUILD)/fakeplugins).
 *
 * The fakes are found in $XPORT_FAKEPLUGIN_DIR, else in ../fakeplugins
 * relative to this binary ($(BUILD)/tests/test_loader).
 */
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "xport_loader.h"

extern char **environ;

static char fake_dir[PATH_MAX + 32];

static void find_fake_dir(void)
{
	const char *env = getenv("XPORT_FAKEPLUGIN_DIR");
	if (env && *env) {
		snprintf(fake_dir, sizeof(fake_dir), "%s", env);
		return;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(fake_dir, sizeof(fake_dir), "%s/../fakeplugins", exe);
}

static void setup(void)
{
	find_fake_dir();
	xport_registry_reset();
}

static int load_fake(const char *name, char *err, size_t errlen)
{
	char path[sizeof(fake_dir) + 64];
	snprintf(path, sizeof(path), "%s/%s.so", fake_dir, name);
	struct stat st;
	ck_assert_msg(stat(path, &st) == 0,
		      "%s missing (build with `make unit`, or set "
		      "XPORT_FAKEPLUGIN_DIR)",
		      path);
	return xport_load_file(path, xport_host_default(), err, errlen);
}

/* Each refusal: the expected errno, a reason in err, exactly one log line
 * naming the file and the reason, nothing registered. */
static void expect_refused(const char *name, int want, const char *needle)
{
	char err[256] = "";
	char logpath[] = "/tmp/test_loader_log.XXXXXX";
	int fd = mkstemp(logpath);
	ck_assert_int_ne(fd, -1);
	close(fd);
	ck_assert_int_eq(log_open(logpath), 0);
	log_set_level(XPORT_LOG_INFO);
	int rc = load_fake(name, err, sizeof(err));
	log_close();
	log_set_level(XPORT_LOG_ERROR + 1);
	ck_assert_msg(rc == want, "%s: rc %d, want %d (%s)", name, rc, want,
		      err);
	ck_assert_msg(strstr(err, needle) != NULL,
		      "%s: reason \"%s\" lacks \"%s\"", name, err, needle);
	ck_assert_uint_eq(xport_count(), 0);
	FILE *f = fopen(logpath, "r");
	ck_assert_ptr_nonnull(f);
	char line[1024];
	int lines = 0, good = 0;
	while (fgets(line, sizeof(line), f)) {
		lines++;
		good += strstr(line, name) && strstr(line, needle) &&
			strstr(line, "[E]");
	}
	fclose(f);
	unlink(logpath);
	ck_assert_msg(lines == 1 && good == 1,
		      "%s: want one error line with the reason, got %d lines",
		      name, lines);
}

START_TEST(t_good_registers)
{
	char err[256] = "";
	ck_assert_int_eq(load_fake("fake_good", err, sizeof(err)), 0);
	ck_assert_uint_eq(xport_count(), 1);
	const struct xport_ops *ops = xport_find("fake");
	ck_assert_ptr_nonnull(ops);
	ck_assert_str_eq(ops->name, "fake");
	ck_assert_ptr_eq(xport_at(0), ops);
	ck_assert_ptr_null(xport_at(1));
	ck_assert_ptr_null(xport_find("tcp"));
	ck_assert_ptr_null(xport_find(NULL));
}
END_TEST

START_TEST(t_refuse_missing_symbol)
{
	expect_refused("fake_nosym", -ENOEXEC, XPORT_ENTRY_SYMBOL);
}
END_TEST

START_TEST(t_refuse_null_ops)
{
	expect_refused("fake_nullops", -EINVAL, "no ops table");
}
END_TEST

START_TEST(t_refuse_small_table)
{
	expect_refused("fake_small", -EINVAL, "too small");
}
END_TEST

START_TEST(t_refuse_major)
{
	expect_refused("fake_major", -EPROTONOSUPPORT, "major");
}
END_TEST

START_TEST(t_refuse_newer_minor)
{
	expect_refused("fake_minor", -EPROTONOSUPPORT, "newer");
}
END_TEST

START_TEST(t_refuse_libevent)
{
	expect_refused("fake_libevent", -ELIBBAD, "libevent");
}
END_TEST

START_TEST(t_accept_libevent_patch)
{
	char err[256] = "";
	ck_assert_int_eq(load_fake("fake_patch", err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(xport_find("fake_patch"));
}
END_TEST

START_TEST(t_refuse_duplicate)
{
	char err[256] = "";
	ck_assert_int_eq(load_fake("fake_good", err, sizeof(err)), 0);
	const struct xport_ops *first = xport_find("fake");
	ck_assert_int_eq(load_fake("fake_dup", err, sizeof(err)), -EEXIST);
	ck_assert_msg(strstr(err, "already") != NULL, "reason: %s", err);
	/* and the same file twice */
	ck_assert_int_eq(load_fake("fake_good", err, sizeof(err)), -EEXIST);
	ck_assert_uint_eq(xport_count(), 1);
	ck_assert_ptr_eq(xport_find("fake"), first);
}
END_TEST

START_TEST(t_refuse_not_a_plugin)
{
	char err[256] = "";
	char dir[] = "/tmp/test_loader.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/junk.so", dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("not an ELF object\n", f);
	fclose(f);
	int rc = xport_load_file(path, xport_host_default(), err, sizeof(err));
	ck_assert_int_eq(rc, -ELIBBAD);
	snprintf(path, sizeof(path), "%s/absent.so", dir);
	rc = xport_load_file(path, xport_host_default(), err, sizeof(err));
	ck_assert_int_eq(rc, -ENOENT);
	/* NULL err is allowed (the loader logs anyway) */
	rc = xport_load_file(path, xport_host_default(), NULL, 0);
	ck_assert_int_eq(rc, -ENOENT);
	ck_assert_uint_eq(xport_count(), 0);
	snprintf(path, sizeof(path), "%s/junk.so", dir);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* In name order: fake_dup registers "fake", fake_good is then a duplicate,
 * fake_patch loads, every other fake is refused. */
START_TEST(t_load_dir)
{
	ck_assert_int_eq(xport_load_dir(fake_dir, xport_host_default()), 2);
	ck_assert_uint_eq(xport_count(), 2);
	ck_assert_ptr_nonnull(xport_find("fake"));
	ck_assert_ptr_nonnull(xport_find("fake_patch"));
	ck_assert_ptr_null(xport_find("fake_major"));
	xport_registry_reset();
	ck_assert_uint_eq(xport_count(), 0);
	ck_assert_ptr_null(xport_find("fake"));
	/* the explicit directory wins in load_default */
	ck_assert_int_eq(xport_load_default(fake_dir, xport_host_default()), 2);
	xport_registry_reset();
	ck_assert_int_eq(xport_load_dir("/nonexistent/transports",
					xport_host_default()),
			 -ENOENT);
}
END_TEST

/* Without a flag, plugins come from "transports/" next to the executable:
 * run a copy of this binary from a scratch dir holding transports/ with
 * one good plugin; the copy reports what it loaded in its exit status. */
static int child_main(void)
{
	log_set_level(XPORT_LOG_ERROR + 1);
	int n = xport_load_default(NULL, xport_host_default());
	if (n != 1 || !xport_find("fake"))
		return 100 + (n < 0 ? 0 : n);
	return 0;
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
	int in = open(from, O_RDONLY);
	ck_assert_int_ne(in, -1);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ck_assert_int_ne(out, -1);
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	ck_assert_int_eq(n, 0);
	close(in);
	close(out);
}

START_TEST(t_load_default_exe_dir)
{
	char dir[] = "/tmp/test_loader.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char exe[64], tdir[64], so[128], from[sizeof(fake_dir) + 32];
	snprintf(exe, sizeof(exe), "%s/test_loader", dir);
	snprintf(tdir, sizeof(tdir), "%s/transports", dir);
	snprintf(so, sizeof(so), "%s/fake_good.so", tdir);
	snprintf(from, sizeof(from), "%s/fake_good.so", fake_dir);
	copy_file("/proc/self/exe", exe, 0700);
	ck_assert_int_eq(mkdir(tdir, 0700), 0);
	copy_file(from, so, 0600);
	char *argv[] = {exe, "--child-load-default", NULL};
	pid_t pid;
	ck_assert_int_eq(posix_spawn(&pid, exe, NULL, NULL, argv, environ), 0);
	int status = 0;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	unlink(so);
	rmdir(tdir);
	unlink(exe);
	rmdir(dir);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child: status %d", status);
}
END_TEST

START_TEST(t_check_ops_direct)
{
	const struct xport_host *h = xport_host_default();
	char err[256];
	ck_assert_int_eq(xport_check_ops(NULL, h, err, sizeof(err)), -EINVAL);
	/* a host with another libevent minor refuses a table it would take
	 * otherwise: the comparison is against the host table given */
	struct xport_host other = *h;
	other.libevent_version = h->libevent_version ^ 0x00010000u;
	xport_registry_reset();
	char path[sizeof(fake_dir) + 32];
	snprintf(path, sizeof(path), "%s/fake_good.so", fake_dir);
	ck_assert_int_eq(xport_load_file(path, &other, err, sizeof(err)),
			 -ELIBBAD);
	ck_assert_int_eq(xport_load_file(path, h, err, sizeof(err)), 0);
	struct xport_ops copy = *xport_find("fake");
	ck_assert_int_eq(xport_check_ops(&copy, h, err, sizeof(err)), 0);
	copy.dial = NULL;
	ck_assert_int_eq(xport_check_ops(&copy, h, err, sizeof(err)), -EINVAL);
	copy = *xport_find("fake");
	copy.name = "Bad Name";
	ck_assert_int_eq(xport_check_ops(&copy, h, err, sizeof(err)), -EINVAL);
	copy.name = NULL;
	ck_assert_int_eq(xport_check_ops(&copy, h, err, sizeof(err)), -EINVAL);
	copy = *xport_find("fake");
	copy.size = 4; /* cannot even hold the version fields */
	ck_assert_int_eq(xport_check_ops(&copy, h, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(t_registry_full)
{
	static struct xport_ops tables[17];
	static char names[17][8];
	char err[256];
	const struct xport_ops *good;
	ck_assert_int_eq(load_fake("fake_good", err, sizeof(err)), 0);
	good = xport_find("fake");
	xport_registry_reset();
	int rc = 0, i;
	for (i = 0; i < 17 && rc == 0; i++) {
		tables[i] = *good;
		snprintf(names[i], sizeof(names[i]), "t%d", i);
		tables[i].name = names[i];
		rc = xport_register(&tables[i], err, sizeof(err));
	}
	ck_assert_int_eq(rc, -ENOSPC);
	ck_assert_int_eq(i, 17);
	ck_assert_uint_eq(xport_count(), 16);
	ck_assert_ptr_eq(xport_find("t15"), &tables[15]);
	ck_assert_ptr_null(xport_find("t16"));
}
END_TEST

START_TEST(t_host_default)
{
	const struct xport_host *h = xport_host_default();
	ck_assert_ptr_eq(h, xport_host_default());
	ck_assert_uint_eq(h->size, sizeof(struct xport_host));
	ck_assert_uint_eq(h->abi_major, XPORT_ABI_MAJOR);
	ck_assert_uint_eq(h->abi_minor, XPORT_ABI_MINOR);
	ck_assert_uint_eq(h->libevent_version, event_get_version_number());
	ck_assert_ptr_nonnull(h->log);
	ck_assert_ptr_nonnull(h->now_ms);
	uint64_t a = h->now_ms();
	usleep(20000);
	uint64_t b = h->now_ms();
	ck_assert_uint_ge(b, a + 10);
	h->log(XPORT_LOG_DEBUG, "test", "host log reaches the sink: %d", 1);
}
END_TEST

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--child-load-default") == 0)
		return child_main();
	log_set_level(XPORT_LOG_ERROR + 1); /* refusals are expected here */
	Suite *s = suite_create("xport_loader");
	TCase *tc = tcase_create("loader");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, t_good_registers);
	tcase_add_test(tc, t_refuse_missing_symbol);
	tcase_add_test(tc, t_refuse_null_ops);
	tcase_add_test(tc, t_refuse_small_table);
	tcase_add_test(tc, t_refuse_major);
	tcase_add_test(tc, t_refuse_newer_minor);
	tcase_add_test(tc, t_refuse_libevent);
	tcase_add_test(tc, t_accept_libevent_patch);
	tcase_add_test(tc, t_refuse_duplicate);
	tcase_add_test(tc, t_refuse_not_a_plugin);
	tcase_add_test(tc, t_load_dir);
	tcase_add_test(tc, t_load_default_exe_dir);
	tcase_add_test(tc, t_check_ops_direct);
	tcase_add_test(tc, t_registry_full);
	tcase_add_test(tc, t_host_default);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
