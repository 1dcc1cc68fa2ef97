/*
 * test_conf_quick.c - `frpc tcp|udp` quick commands: frp's flag names, long
 * and short, their defaults, and the one-line error for each mistake. The
 * parser lives in frpc/, so it is compiled into this test directly.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../frpc/quick.c"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static struct frpc_conf *quick_ok(int argc, char **argv, const char **level,
				  const char **xdir)
{
	struct frpc_conf *c = NULL;
	char err[256] = "";
	int rc = frpc_quick_parse(argc, argv, &c, level, xdir, err,
				  sizeof(err));

	ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->n_proxies, 1);
	return c;
}

static void quick_err(int argc, char **argv, const char *want)
{
	struct frpc_conf *c = (struct frpc_conf *)&c;
	const char *level = NULL, *xdir = NULL;
	char err[256] = "";
	int rc = frpc_quick_parse(argc, argv, &c, &level, &xdir, err,
				  sizeof(err));

	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(!strcmp(err, want), "\n got: %s\nwant: %s", err, want);
	ck_assert_ptr_eq(c, (struct frpc_conf *)&c);
}

START_TEST(long_flags)
{
	char *argv[] = {"frpc", "udp", "--server-addr", "frps.example.com",
			"--server-port", "7001", "--token", "tok", "--user",
			"alice", "--protocol", "kcp", "--proxy-name", "dns",
			"--local-ip", "10.0.0.53", "--local-port", "53",
			"--remote-port", "6053", "--ue", "--uc", "--log-level",
			"debug", "--log-file", "/tmp/q.log", "--log-max-days",
			"9", "--disable-log-color", "--transports-dir", "/x"};
	const char *level = NULL, *xdir = NULL;
	struct frpc_conf *c = quick_ok(ARGC(argv), argv, &level, &xdir);

	ck_assert_str_eq(c->server_addr, "frps.example.com");
	ck_assert_int_eq(c->server_port, 7001);
	ck_assert_str_eq(c->auth_token, "tok");
	ck_assert_str_eq(c->user, "alice");
	ck_assert_str_eq(c->protocol, "kcp");
	ck_assert_str_eq(c->proxies[0].name, "dns");
	ck_assert_int_eq(c->proxies[0].type, CONF_PROXY_UDP);
	ck_assert_str_eq(c->proxies[0].type_name, "udp");
	ck_assert_str_eq(c->proxies[0].local_ip, "10.0.0.53");
	ck_assert_int_eq(c->proxies[0].local_port, 53);
	ck_assert_int_eq(c->proxies[0].remote_port, 6053);
	ck_assert(c->proxies[0].use_encryption);
	ck_assert(c->proxies[0].use_compression);
	ck_assert_str_eq(level, "debug");
	ck_assert_str_eq(xdir, "/x");
	ck_assert_str_eq(c->log.to, "/tmp/q.log");
	ck_assert_int_eq(c->log.max_days, 9);
	ck_assert(c->log.disable_print_color);
	conf_frpc_free(c);
}
END_TEST

START_TEST(short_flags_and_defaults)
{
	char *argv[] = {"frpc", "tcp", "-s", "1.2.3.4", "-P", "7100", "-t",
			"x", "-u", "bob", "-p", "tcp", "-n", "ssh", "-i",
			"127.0.0.2", "-l", "22", "-r", "6000"};
	char *minimal[] = {"frpc", "tcp", "-n", "web", "-l", "8080"};
	const char *level = NULL, *xdir = NULL;
	struct frpc_conf *c = quick_ok(ARGC(argv), argv, &level, &xdir);

	ck_assert_str_eq(c->server_addr, "1.2.3.4");
	ck_assert_int_eq(c->server_port, 7100);
	ck_assert_str_eq(c->auth_token, "x");
	ck_assert_str_eq(c->user, "bob");
	ck_assert_str_eq(c->proxies[0].name, "ssh");
	ck_assert_int_eq(c->proxies[0].type, CONF_PROXY_TCP);
	ck_assert_str_eq(c->proxies[0].local_ip, "127.0.0.2");
	ck_assert_int_eq(c->proxies[0].local_port, 22);
	ck_assert_int_eq(c->proxies[0].remote_port, 6000);
	ck_assert(!c->proxies[0].use_encryption);
	ck_assert_ptr_null(level);
	ck_assert_ptr_null(xdir);
	conf_frpc_free(c);
	/* frp's quick-command defaults: server 127.0.0.1:7000, local
	 * 127.0.0.1, remote port 0 (frps picks) */
	c = quick_ok(ARGC(minimal), minimal, &level, &xdir);
	ck_assert_str_eq(c->server_addr, "127.0.0.1");
	ck_assert_int_eq(c->server_port, 7000);
	ck_assert_str_eq(c->auth_token, "");
	ck_assert_str_eq(c->protocol, "tcp");
	ck_assert_str_eq(c->proxies[0].local_ip, "127.0.0.1");
	ck_assert_int_eq(c->proxies[0].remote_port, 0);
	ck_assert(c->login_fail_exit);
	conf_frpc_free(c);
}
END_TEST

START_TEST(errors)
{
	char *no_name[] = {"frpc", "tcp", "-l", "22"};
	char *no_local[] = {"frpc", "udp", "-n", "x"};
	char *bad_port[] = {"frpc", "tcp", "-n", "x", "-l", "70000"};
	char *bad_sport[] = {"frpc", "tcp", "-n", "x", "-l", "1", "-P", "0"};
	char *bad_rport[] = {"frpc", "tcp", "-n", "x", "-l", "1", "-r",
			     "12ab"};
	char *unknown[] = {"frpc", "tcp", "-n", "x", "-l", "1",
			   "--bandwidth-limit", "1MB"};
	char *unknown_s[] = {"frpc", "tcp", "-n", "x", "-lx", "1"};
	char *unknown_c[] = {"frpc", "tcp", "-n", "x", "-l", "1", "-qz"};
	char *tls[] = {"frpc", "tcp", "-n", "x", "-l", "1", "--tls-enable"};
	char *missing[] = {"frpc", "tcp", "-n", "x", "-l", "1", "-r"};
	char *extra[] = {"frpc", "tcp", "-n", "x", "-l", "1", "more"};
	char *http[] = {"frpc", "http", "-n", "x", "-l", "80"};

	quick_err(ARGC(no_name), no_name,
		  "frpc tcp: --proxy-name (-n) is required");
	quick_err(ARGC(no_local), no_local,
		  "frpc udp: --local-port (-l) is required");
	quick_err(ARGC(bad_port), bad_port,
		  "--local-port: \"70000\" is not a number in 1-65535");
	quick_err(ARGC(bad_sport), bad_sport,
		  "--server-port: \"0\" is not a number in 1-65535");
	quick_err(ARGC(bad_rport), bad_rport,
		  "--remote-port: \"12ab\" is not a number in 0-65535");
	quick_err(ARGC(unknown), unknown,
		  "frpc tcp: unknown or unsupported flag --bandwidth-limit "
		  "(see frpc tcp --help)");
	quick_err(ARGC(unknown_s), unknown_s,
		  "--local-port: \"x\" is not a number in 1-65535");
	/* in a cluster the message names the letter, not the word */
	quick_err(ARGC(unknown_c), unknown_c,
		  "frpc tcp: unknown or unsupported flag -q (see frpc tcp "
		  "--help)");
	quick_err(ARGC(tls), tls,
		  "frpc tcp: unknown or unsupported flag --tls-enable (see "
		  "frpc tcp --help)");
	quick_err(ARGC(missing), missing, "frpc tcp: -r needs a value");
	quick_err(ARGC(extra), extra, "frpc tcp: unexpected argument \"more\"");
	quick_err(ARGC(http), http,
		  "frpc http: only the tcp and udp quick commands are "
		  "supported");
	ck_assert(frpc_quick_cmd("tcp") && frpc_quick_cmd("udp") &&
		  frpc_quick_cmd("stcp") && !frpc_quick_cmd("verify") &&
		  !frpc_quick_cmd("-c"));
}
END_TEST

START_TEST(help)
{
	char *argv[] = {"frpc", "tcp", "-h"};
	struct frpc_conf *c = (struct frpc_conf *)&c;
	const char *level = NULL, *xdir = NULL;
	char err[64] = "";

	ck_assert_int_eq(frpc_quick_parse(ARGC(argv), argv, &c, &level, &xdir,
					  err, sizeof(err)), 1);
	ck_assert_ptr_eq(c, (struct frpc_conf *)&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("conf_quick");
	TCase *t = tcase_create("quick");
	SRunner *sr;
	int failed;

	tcase_add_test(t, long_flags);
	tcase_add_test(t, short_flags_and_defaults);
	tcase_add_test(t, errors);
	tcase_add_test(t, help);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
