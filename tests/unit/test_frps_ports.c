/*
 * test_frps_ports.c - frps port manager: allowPorts ranges, held ports,
 * automatic picks, per-client quota and frp's error texts.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "portmgr.h"

START_TEST(test_open_allows_everything_but_zero)
{
	struct portmgr *pm = portmgr_new(NULL, 0);
	ck_assert_ptr_nonnull(pm);
	ck_assert(!portmgr_allowed(pm, 0));
	ck_assert(portmgr_allowed(pm, 1));
	ck_assert(portmgr_allowed(pm, 80));
	ck_assert(portmgr_allowed(pm, 65535));
	ck_assert(!portmgr_allowed(pm, 65536));
	ck_assert(!portmgr_allowed(pm, -1));
	ck_assert_int_eq(portmgr_take(pm, 0), -EACCES);
	ck_assert_int_eq(portmgr_take(pm, 70000), -EACCES);
	/* An explicit port below 1024 may be asked for... */
	ck_assert_int_eq(portmgr_take(pm, 80), 0);
	/* ...but automatic picks stay out of the privileged range. */
	int p = portmgr_take_any(pm);
	ck_assert_int_eq(p, PORTMGR_AUTO_MIN_WHEN_OPEN);
	ck_assert_int_eq(portmgr_take_any(pm), PORTMGR_AUTO_MIN_WHEN_OPEN + 1);
	ck_assert_uint_eq(portmgr_used(pm), 3);
	portmgr_free(pm);
}
END_TEST

START_TEST(test_ranges_and_single)
{
	struct conf_port_range r[] = {{2000, 2002}, {3001, 3001}};
	struct portmgr *pm = portmgr_new(r, 2);
	ck_assert(!portmgr_allowed(pm, 1999));
	ck_assert(portmgr_allowed(pm, 2000));
	ck_assert(portmgr_allowed(pm, 2002));
	ck_assert(!portmgr_allowed(pm, 2003));
	ck_assert(!portmgr_allowed(pm, 3000));
	ck_assert(portmgr_allowed(pm, 3001));
	ck_assert(!portmgr_allowed(pm, 3002));
	ck_assert_int_eq(portmgr_take(pm, 1999), -EACCES);
	ck_assert_int_eq(portmgr_take(pm, 2000), 0);
	ck_assert(portmgr_in_use(pm, 2000));
	ck_assert_int_eq(portmgr_take(pm, 2000), -EADDRINUSE);
	portmgr_free(pm);
}
END_TEST

START_TEST(test_take_any_exhausts_and_wraps)
{
	struct conf_port_range r[] = {{2000, 2002}, {3001, 3001}};
	struct portmgr *pm = portmgr_new(r, 2);
	ck_assert_int_eq(portmgr_take(pm, 2000), 0);
	ck_assert_int_eq(portmgr_take_any(pm), 2001);
	ck_assert_int_eq(portmgr_take_any(pm), 2002);
	ck_assert_int_eq(portmgr_take_any(pm), 3001);
	ck_assert_int_eq(portmgr_take_any(pm), -ENOSPC);
	ck_assert_uint_eq(portmgr_used(pm), 4);
	/* A released port is found again after wrapping around. */
	portmgr_release(pm, 2001);
	ck_assert(!portmgr_in_use(pm, 2001));
	ck_assert_uint_eq(portmgr_used(pm), 3);
	ck_assert_int_eq(portmgr_take_any(pm), 2001);
	ck_assert_int_eq(portmgr_take_any(pm), -ENOSPC);
	portmgr_free(pm);
}
END_TEST

START_TEST(test_take_any_moves_on_after_failed_bind)
{
	/* A caller whose bind fails releases the port and asks again: it must
	 * get a different port, not the same one forever. */
	struct conf_port_range r[] = {{5000, 5003}};
	struct portmgr *pm = portmgr_new(r, 1);
	int a = portmgr_take_any(pm);
	portmgr_release(pm, a);
	int b = portmgr_take_any(pm);
	ck_assert_int_ne(a, b);
	ck_assert(b >= 5000 && b <= 5003);
	portmgr_free(pm);
}
END_TEST

START_TEST(test_seed_spreads_picks)
{
	struct portmgr *pm = portmgr_new(NULL, 0);
	portmgr_seed(pm, 40000);
	int p = portmgr_take_any(pm);
	ck_assert_int_eq(p, PORTMGR_AUTO_MIN_WHEN_OPEN + 40000);
	/* Near the top it wraps to the bottom of the automatic range. */
	portmgr_seed(pm, 65535u - PORTMGR_AUTO_MIN_WHEN_OPEN);
	ck_assert_int_eq(portmgr_take_any(pm), 65535);
	ck_assert_int_eq(portmgr_take_any(pm), PORTMGR_AUTO_MIN_WHEN_OPEN);
	portmgr_free(pm);

	struct conf_port_range r[] = {{6000, 6001}};
	pm = portmgr_new(r, 1);
	portmgr_seed(pm, 123456789u);
	p = portmgr_take_any(pm);
	ck_assert(p == 6000 || p == 6001);
	int q = portmgr_take_any(pm);
	ck_assert(q == 6000 || q == 6001);
	ck_assert_int_ne(p, q);
	portmgr_free(pm);
}
END_TEST

START_TEST(test_invalid_ranges_allow_nothing)
{
	struct conf_port_range r[] = {{0, 10}, {20, 10}};
	struct portmgr *pm = portmgr_new(r, 2);
	ck_assert(!portmgr_allowed(pm, 5));
	ck_assert(!portmgr_allowed(pm, 15));
	ck_assert(!portmgr_allowed(pm, 1024));
	ck_assert_int_eq(portmgr_take_any(pm), -ENOSPC);
	portmgr_free(pm);
}
END_TEST

START_TEST(test_release_of_unheld_is_ignored)
{
	struct portmgr *pm = portmgr_new(NULL, 0);
	portmgr_release(pm, 4000);
	portmgr_release(pm, 0);
	portmgr_release(pm, 99999);
	ck_assert_uint_eq(portmgr_used(pm), 0);
	ck_assert_int_eq(portmgr_take(pm, 4000), 0);
	portmgr_release(pm, 4000);
	portmgr_release(pm, 4000);
	ck_assert_uint_eq(portmgr_used(pm), 0);
	portmgr_free(pm);
	portmgr_free(NULL);
}
END_TEST

START_TEST(test_full_range_edges)
{
	struct conf_port_range r[] = {{1, 65535}};
	struct portmgr *pm = portmgr_new(r, 1);
	/* An explicit list that covers everything may hand out low ports. */
	ck_assert_int_eq(portmgr_take_any(pm), 1);
	ck_assert_int_eq(portmgr_take(pm, 65535), 0);
	ck_assert_int_eq(portmgr_take(pm, 65535), -EADDRINUSE);
	portmgr_free(pm);
}
END_TEST

START_TEST(test_quota)
{
	ck_assert_int_eq(portmgr_quota_check(0, 1000, 1), 0);
	ck_assert_int_eq(portmgr_quota_check(-1, 5, 1), 0);
	ck_assert_int_eq(portmgr_quota_check(2, 0, 1), 0);
	ck_assert_int_eq(portmgr_quota_check(2, 1, 1), 0);
	ck_assert_int_eq(portmgr_quota_check(2, 2, 1), -EDQUOT);
	ck_assert_int_eq(portmgr_quota_check(2, 1, 2), -EDQUOT);
}
END_TEST

START_TEST(test_error_texts)
{
	ck_assert_str_eq(portmgr_strerror(-EACCES), "port not allowed");
	ck_assert_str_eq(portmgr_strerror(-EADDRINUSE), "port already used");
	ck_assert_str_eq(portmgr_strerror(-ENOSPC), "no available port");
	ck_assert_str_eq(portmgr_strerror(-EDQUOT),
			 "exceed the max_ports_per_client");
	ck_assert_str_eq(portmgr_strerror(-EIO), "port unavailable");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("frps_ports");
	TCase *tc = tcase_create("portmgr");
	tcase_add_test(tc, test_open_allows_everything_but_zero);
	tcase_add_test(tc, test_ranges_and_single);
	tcase_add_test(tc, test_take_any_exhausts_and_wraps);
	tcase_add_test(tc, test_take_any_moves_on_after_failed_bind);
	tcase_add_test(tc, test_seed_spreads_picks);
	tcase_add_test(tc, test_invalid_ranges_allow_nothing);
	tcase_add_test(tc, test_release_of_unheld_is_ignored);
	tcase_add_test(tc, test_full_range_edges);
	tcase_add_test(tc, test_quota);
	tcase_add_test(tc, test_error_texts);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
