/*
 * test_dash_stats.c - the dashboard's stats model, stats file and
 * Prometheus text: live rates over a fake clock, daily buckets rolling,
 * the file surviving a round trip, bad files refused without changing
 * anything, and the exposition parsed back line by line.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "metrics.h"
#include "stats.h"
#include "statsfile.h"

START_TEST(test_rate_window)
{
	struct frps_traffic t = {0};
	uint64_t i, o;
	/* 1000 bytes in second 100: 100 B/s over the window that holds it. */
	frps_traffic_add(&t, 20000, 100, 1000, 500);
	frps_traffic_rate(&t, 100, &i, &o);
	ck_assert_uint_eq(i, 0); /* second 100 is not complete yet */
	frps_traffic_rate(&t, 101, &i, &o);
	ck_assert_uint_eq(i, 100);
	ck_assert_uint_eq(o, 50);
	frps_traffic_rate(&t, 110, &i, &o);
	ck_assert_uint_eq(i, 100);
	frps_traffic_rate(&t, 111, &i, &o);
	ck_assert_uint_eq(i, 0);
	ck_assert_uint_eq(o, 0);
	/* Each second lands in its own slot; old ones are cleared. */
	for (int s = 200; s < 215; s++)
		frps_traffic_add(&t, 20000, s, 10, 0);
	frps_traffic_rate(&t, 215, &i, &o);
	ck_assert_uint_eq(i, 10);
	ck_assert_uint_eq(t.in, 1150);
}
END_TEST

START_TEST(test_days_roll)
{
	struct frps_traffic t = {0};
	uint64_t in[FRPS_STATS_DAYS], out[FRPS_STATS_DAYS];
	frps_traffic_add(&t, 100, 1, 7, 70);
	frps_traffic_add(&t, 102, 2, 5, 50);
	frps_traffic_days(&t, 102, in, out);
	ck_assert_uint_eq(in[0], 5);
	ck_assert_uint_eq(in[1], 0);
	ck_assert_uint_eq(in[2], 7);
	ck_assert_uint_eq(out[2], 70);
	/* Read as of a later day without changing t. */
	frps_traffic_days(&t, 108, in, out);
	ck_assert_uint_eq(in[6], 5);
	ck_assert_uint_eq(in[0], 0);
	ck_assert_uint_eq(t.day_in[0], 5);
	ck_assert_uint_eq(frps_traffic_today_in(&t, 102), 5);
	ck_assert_uint_eq(frps_traffic_today_in(&t, 103), 0);
	/* A week later everything is gone. */
	frps_traffic_days(&t, 109, in, out);
	for (int d = 0; d < FRPS_STATS_DAYS; d++)
		ck_assert_uint_eq(in[d], 0);
}
END_TEST

static struct frps_stats *sample_stats(void)
{
	struct frps_stats *st = frps_stats_new();
	ck_assert_ptr_nonnull(st);
	struct frps_client_stats *c = frps_stats_client_online(
		st, "run1", "alice", "", "0.54.0", "h", "linux", "amd64",
		"127.0.0.1:5");
	ck_assert_ptr_nonnull(c);
	struct frps_proxy_stats *p =
		frps_stats_proxy_online(st, "web", "tcp", 6000, c);
	struct frps_proxy_stats *q =
		frps_stats_proxy_online(st, "we\"ird\\name", "udp", 6001, c);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(q);
	frps_stats_traffic(st, p, c, 1234, 56789);
	frps_stats_traffic(st, q, c, 10, 20);
	return st;
}

static char *tmp_path(void)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/test_dash_stats.%d.json", (int)getpid());
	return path;
}

START_TEST(test_file_round_trip)
{
	char err[256];
	struct frps_stats *st = sample_stats();
	const char *path = tmp_path();
	ck_assert_int_eq(frps_statsfile_save(st, path, err, sizeof(err)), 0);

	struct frps_stats *st2 = frps_stats_new();
	ck_assert_int_eq(frps_statsfile_load(st2, path, err, sizeof(err)), 0);
	struct frps_proxy_stats *p = frps_stats_proxy_find(st2, "web");
	ck_assert_ptr_nonnull(p);
	ck_assert(!p->online);
	ck_assert_str_eq(p->type, "tcp");
	ck_assert_str_eq(p->user, "alice");
	ck_assert_uint_eq(p->traffic.in, 1234);
	ck_assert_uint_eq(p->traffic.out, 56789);
	ck_assert_uint_eq(frps_traffic_today_out(&p->traffic, frps_stats_today()),
			  56789);
	ck_assert_ptr_nonnull(frps_stats_proxy_find(st2, "we\"ird\\name"));
	ck_assert_uint_eq(st2->total.in, 1244);
	ck_assert_uint_eq(st2->proxies_offline, 2);
	/* The proxy comes back online under the same name: counts go on. */
	struct frps_proxy_stats *p2 =
		frps_stats_proxy_online(st2, "web", "tcp", 6000, NULL);
	ck_assert_ptr_eq(p, p2);
	frps_stats_traffic(st2, p2, NULL, 1, 1);
	ck_assert_uint_eq(p2->traffic.in, 1235);
	ck_assert_uint_eq(st2->proxies_offline, 1);
	/* Pruning takes only offline, unreferenced entries. */
	ck_assert_uint_eq(frps_stats_prune_offline(st2), 1);
	ck_assert_ptr_null(frps_stats_proxy_find(st2, "we\"ird\\name"));
	ck_assert_ptr_nonnull(frps_stats_proxy_find(st2, "web"));
	unlink(path);
	frps_stats_free(st);
	frps_stats_free(st2);
}
END_TEST

START_TEST(test_file_bad)
{
	char err[256];
	struct frps_stats *st = sample_stats();
	const char *path = tmp_path();
	ck_assert_int_eq(frps_statsfile_save(st, path, err, sizeof(err)), 0);
	FILE *f = fopen(path, "rb");
	char buf[8192];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	ck_assert_uint_gt(n, 100);

	struct frps_stats *st2 = frps_stats_new();
	/* Truncated at every length: refused, nothing applied. */
	for (size_t cut = 0; cut < n - 2; cut++) {
		err[0] = '\0';
		ck_assert_int_eq(frps_statsfile_parse(st2, buf, cut, err, sizeof(err)),
				 -EINVAL);
		ck_assert(err[0] != '\0');
		ck_assert_uint_eq(st2->total.in, 0);
		ck_assert_ptr_null(frps_stats_proxy_find(st2, "web"));
	}
	static const char *bad[] = {
		"[]",
		"{\"format\":\"frps-stats\",\"version\":2,\"proxies\":[]}",
		"{\"format\":\"other\",\"version\":1,\"proxies\":[]}",
		"{\"format\":\"frps-stats\",\"version\":1,\"proxies\":[],"
		"\"total\":{\"in\":-1,\"out\":0,\"day0\":1,\"dayIn\":[0,0,0,0,0,0,0],"
		"\"dayOut\":[0,0,0,0,0,0,0]}}",
		"{\"format\":\"frps-stats\",\"version\":1,\"proxies\":[],"
		"\"total\":{\"in\":1,\"out\":0,\"day0\":1,\"dayIn\":[0,0,0],"
		"\"dayOut\":[0,0,0,0,0,0,0]}}",
		/* a good total, then a bad proxy: the total must not apply */
		"{\"format\":\"frps-stats\",\"version\":1,"
		"\"total\":{\"in\":5,\"out\":0,\"day0\":1,\"dayIn\":[0,0,0,0,0,0,0],"
		"\"dayOut\":[0,0,0,0,0,0,0]},"
		"\"proxies\":[{\"name\":\"a\",\"type\":\"tcp\",\"user\":\"\","
		"\"traffic\":{\"in\":1,\"out\":1,\"day0\":1,\"dayIn\":[0,0,0,0,0,0,0],"
		"\"dayOut\":[0,0,0,0,0,0,0]}},{\"name\":\"\",\"type\":\"tcp\"}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(frps_statsfile_parse(st2, bad[i], strlen(bad[i]),
						      err, sizeof(err)),
				 -EINVAL);
		ck_assert_uint_eq(st2->total.in, 0);
		ck_assert_ptr_null(frps_stats_proxy_find(st2, "a"));
	}
	ck_assert_int_eq(frps_statsfile_load(st2, "/nonexistent/x", err,
					     sizeof(err)),
			 -ENOENT);
	unlink(path);
	frps_stats_free(st);
	frps_stats_free(st2);
}
END_TEST

START_TEST(test_default_path)
{
	char *p = frps_statsfile_default_path("", "/etc/frp/frps.yaml");
	ck_assert_str_eq(p, "/etc/frp/frps.yaml.stats.json");
	free(p);
	p = frps_statsfile_default_path("/x/s.json", "/etc/frp/frps.yaml");
	ck_assert_str_eq(p, "/x/s.json");
	free(p);
	p = frps_statsfile_default_path(NULL, NULL);
	ck_assert_str_eq(p, "/var/lib/frps/stats.json");
	free(p);
}
END_TEST

static size_t fake_links(void *arg, const char *run_id,
			 struct frps_link_view *out, size_t max)
{
	(void)arg;
	if (strcmp(run_id, "run1") != 0 || max < 2)
		return 0;
	memset(out, 0, 2 * sizeof(*out));
	strcpy(out[0].transport, "kcp");
	out[0].has_stats = true;
	out[0].xs.srtt_ms = 42;
	out[0].xs.retransmits = 7;
	out[0].xs.fec_recovered = 3;
	strcpy(out[1].transport, "tcp");
	out[1].draining = true;
	out[1].has_stats = true;
	return 2;
}

/* A small exposition parser: returns the value of the sample whose
 * "name{labels}" part equals key, and checks every line's form on the
 * way (comments are HELP/TYPE; a sample's TYPE came before it). */
static int prom_lookup(const char *text, const char *key, double *val)
{
	char typed[64][64];
	int ntyped = 0, found = 0;
	const char *line = text;
	while (*line) {
		const char *nl = strchr(line, '\n');
		ck_assert_ptr_nonnull(nl); /* every line ends with \n */
		char buf[512];
		size_t n = (size_t)(nl - line);
		ck_assert_uint_lt(n, sizeof(buf));
		memcpy(buf, line, n);
		buf[n] = '\0';
		line = nl + 1;
		if (strncmp(buf, "# HELP ", 7) == 0)
			continue;
		char name[64], type[16];
		if (sscanf(buf, "# TYPE %63s %15s", name, type) == 2) {
			ck_assert(strcmp(type, "gauge") == 0 ||
				  strcmp(type, "counter") == 0);
			ck_assert_int_lt(ntyped, 64);
			strcpy(typed[ntyped++], name);
			continue;
		}
		char *sp = strrchr(buf, ' ');
		ck_assert_ptr_nonnull(sp);
		*sp = '\0';
		char *end;
		double v = strtod(sp + 1, &end);
		ck_assert(*end == '\0' && end != sp + 1);
		size_t nl2 = strcspn(buf, "{");
		ck_assert_int_gt(ntyped, 0);
		ck_assert(strlen(typed[ntyped - 1]) == nl2 &&
			  strncmp(typed[ntyped - 1], buf, nl2) == 0);
		if (strcmp(buf, key) == 0) {
			*val = v;
			found++;
		}
	}
	return found;
}

START_TEST(test_metrics_text)
{
	struct frps_stats *st = sample_stats();
	struct evbuffer *b = evbuffer_new();
	ck_assert_int_eq(frps_metrics_render(st, fake_links, NULL, b), 0);
	evbuffer_add(b, "", 1);
	const char *text = (const char *)evbuffer_pullup(b, -1);
	double v = -1;
	ck_assert_int_eq(prom_lookup(text, "frp_server_client_counts", &v), 1);
	ck_assert(v == 1);
	ck_assert_int_eq(prom_lookup(text, "frp_server_traffic_out{name=\"web\",type=\"tcp\"}", &v), 1);
	ck_assert(v == 56789);
	ck_assert_int_eq(prom_lookup(text, "frp_server_traffic_in{name=\"we\\\"ird\\\\name\",type=\"udp\"}", &v), 1);
	ck_assert(v == 10);
	ck_assert_int_eq(prom_lookup(text, "frp_server_proxy_counts{type=\"udp\"}", &v), 1);
	ck_assert(v == 1);
	ck_assert_int_eq(prom_lookup(text, "frps_link_srtt_seconds{client=\"run1\",transport=\"kcp\"}", &v), 1);
	ck_assert(v > 0.0419 && v < 0.0421);
	ck_assert_int_eq(prom_lookup(text, "frps_kcp_fec_recovered_total{client=\"run1\",transport=\"kcp\"}", &v), 1);
	ck_assert(v == 3);
	ck_assert_int_eq(prom_lookup(text, "frps_link_draining{client=\"run1\",transport=\"tcp\"}", &v), 1);
	ck_assert(v == 1);
	/* Only the current link counts per transport. */
	ck_assert_int_eq(prom_lookup(text, "frps_transport_links{transport=\"kcp\"}", &v), 1);
	ck_assert_int_eq(prom_lookup(text, "frps_transport_links{transport=\"tcp\"}", &v), 0);
	evbuffer_free(b);
	frps_stats_free(st);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dash_stats");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_rate_window);
	tcase_add_test(tc, test_days_roll);
	tcase_add_test(tc, test_file_round_trip);
	tcase_add_test(tc, test_file_bad);
	tcase_add_test(tc, test_default_path);
	tcase_add_test(tc, test_metrics_text);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf ? 1 : 0;
}
