/*
 * test_conf_toml.c - our TOML front end: the tree it builds for every
 * construct frp's files use, and the exact one-line "NAME:LINE:COL: why"
 * for each class of error (TOML's strictness rules included).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_toml.h"

static struct conf_node *parse_ok(const char *text)
{
	struct conf_node *root = NULL;
	char err[512] = "";
	int rc = conf_toml_parse("t.toml", text, strlen(text), &root, err,
				 sizeof(err));

	ck_assert_msg(rc == 0, "parse failed: %s\n--- input:\n%s", err, text);
	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(root->kind, CONF_NODE_MAP);
	return root;
}

static void parse_err(const char *text, size_t len, const char *want)
{
	struct conf_node *root = (struct conf_node *)&root;
	char err[512] = "", full[600];
	int rc = conf_toml_parse("t.toml", text, len, &root, err, sizeof(err));

	snprintf(full, sizeof(full), "t.toml:%s", want);
	ck_assert_msg(rc == -EINVAL, "rc %d for:\n%s", rc, text);
	ck_assert_msg(!strcmp(err, full), "\n got: %s\nwant: %s\n--- input:\n%s",
		      err, full, text);
	ck_assert_ptr_eq(root, (struct conf_node *)&root);
	ck_assert_ptr_null(strchr(err, '\n'));
}

#define ERR(text, want) parse_err(text, strlen(text), want)

/* Node at a dotted path of map keys; "[i]" steps into a sequence. */
static const struct conf_node *at(const struct conf_node *n, const char *path)
{
	char buf[256], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && n;
	     tok = strtok_r(NULL, ".", &save)) {
		const struct conf_node *next = NULL;

		if (tok[0] == '[') {
			size_t i = strtoul(tok + 1, NULL, 10);

			ck_assert_int_eq(n->kind, CONF_NODE_SEQ);
			next = i < n->n ? n->kid[i] : NULL;
		} else {
			ck_assert_int_eq(n->kind, CONF_NODE_MAP);
			for (size_t i = 0; i + 1 < n->n; i += 2)
				if (!strcmp(n->kid[i]->text, tok))
					next = n->kid[i + 1];
		}
		n = next;
	}
	ck_assert_msg(n != NULL, "no node at %s", path);
	return n;
}

static void scalar_is(const struct conf_node *root, const char *path,
		      const char *text, bool quoted, int line, int col)
{
	const struct conf_node *n = at(root, path);

	ck_assert_int_eq(n->kind, CONF_NODE_SCALAR);
	ck_assert_str_eq(n->text, text);
	ck_assert_int_eq(n->quoted, quoted);
	ck_assert_int_eq(n->null, false);
	ck_assert_int_eq(n->line, line);
	ck_assert_int_eq(n->col, col);
}

START_TEST(tree_of_frp_constructs)
{
	struct conf_node *r = parse_ok(
		"# comment\n"
		"serverAddr = \"127.0.0.1\" # trailing\n"
		"serverPort = 7000\n"
		"auth.token = 'lit\\eral'\n"
		"\"quoted key\" = true\n"
		"'lit key'.sub = false\n"
		"transport.kcp = { mode = \"fast\", sndWnd = 1_024, a.b = -5 }\n"
		"arr = [1, 0x1F, 0o17,\n"
		"  0b101, # comment inside\n"
		"  \"s\", ]\n"
		"\n"
		"[webServer]\n"
		"port = +7400\n"
		"[[proxies]]\n"
		"name = \"a\"\n"
		"transport.useEncryption = true\n"
		"[[proxies]]\n"
		"name = \"b\"\r\n"
		"[proxies.plugin]\n"
		"type = \"x\"\n");

	scalar_is(r, "serverAddr", "127.0.0.1", true, 2, 14);
	scalar_is(r, "serverPort", "7000", false, 3, 14);
	scalar_is(r, "auth.token", "lit\\eral", true, 4, 14);
	scalar_is(r, "quoted key", "true", false, 5, 16);
	scalar_is(r, "lit key.sub", "false", false, 6, 17);
	scalar_is(r, "transport.kcp.mode", "fast", true, 7, 26);
	scalar_is(r, "transport.kcp.sndWnd", "1024", false, 7, 43);
	scalar_is(r, "transport.kcp.a.b", "-5", false, 7, 56);
	ck_assert_int_eq(at(r, "arr")->kind, CONF_NODE_SEQ);
	ck_assert_uint_eq(at(r, "arr")->n, 5);
	scalar_is(r, "arr.[1]", "31", false, 8, 11);
	scalar_is(r, "arr.[2]", "15", false, 8, 17);
	scalar_is(r, "arr.[3]", "5", false, 9, 3);
	scalar_is(r, "arr.[4]", "s", true, 10, 3);
	scalar_is(r, "webServer.port", "7400", false, 13, 8);
	ck_assert_int_eq(at(r, "webServer")->line, 12);
	ck_assert_uint_eq(at(r, "proxies")->n, 2);
	scalar_is(r, "proxies.[0].name", "a", true, 15, 8);
	scalar_is(r, "proxies.[0].transport.useEncryption", "true", false, 16,
		  27);
	scalar_is(r, "proxies.[1].name", "b", true, 18, 8);
	scalar_is(r, "proxies.[1].plugin.type", "x", true, 20, 8);
	ck_assert_int_eq(at(r, "proxies.[1]")->line, 17);
	/* the key nodes carry their own positions */
	ck_assert_str_eq(r->kid[2]->text, "serverPort");
	ck_assert_int_eq(r->kid[2]->line, 3);
	ck_assert_int_eq(r->kid[2]->col, 1);
	conf_node_free(r);
}
END_TEST

START_TEST(strings_all_forms)
{
	struct conf_node *r = parse_ok(
		"a = \"tab\\there \\\"q\\\" \\\\ \\u00e9 \\U0001F600\"\n"
		"b = \"\"\"\n"
		"line1\n"
		"line2 \\\n"
		"    joined\"\"\"\n"
		"c = '''\n"
		"raw \\n ''x'''\n"
		"d = \"\"\"two quotes at the end\"\"\"\"\"\n"
		"e = \"\"\n"
		"f = \"é = 1\"\n"
		"g = 1 # é after a value\n"
		"h = \"x\"\n");

	scalar_is(r, "a", "tab\there \"q\" \\ \xc3\xa9 \xf0\x9f\x98\x80", true, 1,
		  5);
	scalar_is(r, "b", "line1\nline2 joined", true, 2, 5);
	scalar_is(r, "c", "raw \\n ''x", true, 6, 5);
	scalar_is(r, "d", "two quotes at the end\"\"", true, 8, 5);
	scalar_is(r, "e", "", true, 9, 5);
	scalar_is(r, "f", "\xc3\xa9 = 1", true, 10, 5);
	/* columns count characters: 'é' is one */
	scalar_is(r, "h", "x", true, 12, 5);
	conf_node_free(r);
}
END_TEST

START_TEST(tables_allowed_by_toml)
{
	/* A header may name a table that only existed as a parent, and may
	 * add sub-tables under one made by dotted keys. */
	struct conf_node *r = parse_ok("[a.b]\nx = 1\n[a]\ny = 2\n"
				       "[f]\napple.color = \"red\"\n"
				       "[f.apple.texture]\nsmooth = true\n"
				       "[[t.list]]\nv = 1\n[[t.list]]\nv = 2\n"
				       "[t.list.sub]\nw = 3\n");

	scalar_is(r, "a.b.x", "1", false, 2, 5);
	scalar_is(r, "a.y", "2", false, 4, 5);
	scalar_is(r, "f.apple.texture.smooth", "true", false, 8, 10);
	scalar_is(r, "t.list.[1].sub.w", "3", false, 14, 5);
	ck_assert_int_eq(at(r, "a")->line, 3); /* defined by its header */
	conf_node_free(r);
	r = parse_ok("");
	ck_assert_uint_eq(r->n, 0);
	conf_node_free(r);
	r = parse_ok("\xef\xbb\xbf# only a BOM and a comment");
	ck_assert_uint_eq(r->n, 0);
	conf_node_free(r);
}
END_TEST

START_TEST(err_strictness)
{
	ERR("a = 1\na = 2\n", "2:1: \"a\" is defined twice (first at 1:1)");
	ERR("[t]\nx = 1\n[t]\n", "3:2: \"t\" is defined twice (first at 1:2)");
	ERR("a.b = 1\n[a]\n", "2:2: \"a\" is already defined by dotted keys "
			      "(first at 1:1)");
	ERR("a.b = 1\na.b.c = 2\n", "2:3: \"a.b\" already holds a value "
				    "(first at 1:3)");
	ERR("[a.b]\n[a]\nb.c = 1\n", "3:1: \"b\" is a table defined elsewhere "
				     "and cannot be extended with dotted keys "
				     "(first at 1:4)");
	ERR("t = {x = 1}\nt.y = 2\n", "2:1: \"t\" is an inline table and "
				      "cannot be extended (first at 1:1)");
	ERR("t = {x = 1}\n[t.sub]\n", "2:2: \"t\" is an inline table and "
				      "cannot be extended (first at 1:1)");
	ERR("t = {x = 1}\n[t]\n", "2:2: \"t\" is already defined as an inline "
				  "table (first at 1:1)");
	ERR("[t]\n[[t]]\n", "2:3: \"t\" is already defined and is not an array "
			    "of tables (first at 1:2)");
	ERR("a = [1]\n[[a]]\n", "2:3: \"a\" is already defined and is not an "
				"array of tables (first at 1:1)");
	ERR("a = 1\n[a.b]\n", "2:2: \"a\" already holds a value (first at "
			      "1:1)");
	ERR("t = {x = 1, x = 2}\n", "1:13: \"x\" is defined twice (first at "
				    "1:6)");
}
END_TEST

START_TEST(err_syntax)
{
	ERR("serverPort: 7000\n", "1:11: expected '=' after the key, got ':'");
	ERR("a = \n", "1:5: expected a value, got the end of the line");
	ERR("a = [1,,2]\n", "1:8: expected a value, got ','");
	ERR("a = ]\n", "1:5: expected a value, got ']'");
	ERR("a = 1 2\n", "1:7: expected the end of the line after a value, got "
			 "'2'");
	ERR("a = abc\n", "1:5: \"abc\" is not a valid value (strings need "
			 "quotes)");
	ERR("a = truex\n", "1:5: \"truex\" is not a valid value (strings need "
			   "quotes)");
	ERR("= 1\n", "1:1: expected a key, got '='");
	ERR("a. = 1\n", "1:4: expected a key, got '='");
	ERR("[a\n", "1:3: expected ']' to close the table header, got the end "
		    "of the line");
	ERR("[[a]\n", "1:4: expected ']]' to close the table header, got "
		      "']'");
	ERR("[a] x = 1\n", "1:5: expected the end of the line after a table "
			   "header, got 'x'");
	ERR("a = \"abc\n", "1:5: unterminated string");
	ERR("a = 'abc\n", "1:5: unterminated string");
	ERR("a = \"\"\"abc\n", "1:5: unterminated string");
	ERR("\"\"\"k\"\"\" = 1\n", "1:1: a key cannot be a multi-line string");
	ERR("a = \"\\q\"\n", "1:6: unknown escape sequence \"\\q\"");
	ERR("a = \"\\u12\"\n", "1:6: \\u needs 4 hex digits");
	ERR("a = \"\\u0000\"\n", "1:6: a value must not contain a NUL "
				 "character");
	ERR("a = \"\\uD800\"\n", "1:6: \\uD800 is not a Unicode scalar value");
	ERR("a = \"x \\ y\"\n", "1:8: unknown escape sequence \"\\ \"");
	ERR("a = [1, 2\n", "2:1: expected ',' or ']' in an array, got the end "
			   "of the file");
	ERR("a = [1 2]\n", "1:8: expected ',' or ']' in an array, got '2'");
	ERR("a = {x = 1\n", "1:11: expected ',' or '}' in an inline table, got "
			    "the end of the line");
	ERR("a = {x = 1,}\n", "1:12: no trailing ',' is allowed in an inline "
			      "table");
	ERR("a = {x = 1,\ny = 2}\n", "1:12: expected a key, got the end of the "
				     "line");
}
END_TEST

START_TEST(err_values)
{
	ERR("a = 1.5\n", "1:5: floating-point numbers are not supported (no "
			 "setting takes one): \"1.5\"");
	ERR("a = 1e3\n", "1:5: floating-point numbers are not supported (no "
			 "setting takes one): \"1e3\"");
	ERR("a = inf\n", "1:5: floating-point numbers are not supported (no "
			 "setting takes one): \"inf\"");
	ERR("a = 1979-05-27\n", "1:5: dates and times are not supported (no "
				"setting takes one)");
	ERR("a = 07:32:00\n", "1:5: dates and times are not supported (no "
			      "setting takes one)");
	ERR("a = 0123\n", "1:5: leading zeros are not allowed in \"0123\"");
	ERR("a = 1__0\n", "1:5: \"1__0\" is not a valid value");
	ERR("a = 1_\n", "1:5: \"1_\" is not a valid value");
	ERR("a = 0x\n", "1:5: \"0x\" is not a valid value");
	ERR("a = 0xG\n", "1:5: \"0xG\" is not a valid value");
	ERR("a = 0b102\n", "1:5: \"0b102\" is not a valid value");
	ERR("a = -0x1\n", "1:5: a sign is not allowed before 0x");
	ERR("a = 9223372036854775808\n", "1:5: integer \"9223372036854775808\" "
					 "does not fit in 64 bits");
	struct conf_node *r = parse_ok("a = -9223372036854775808\n"
				       "b = 9223372036854775807\nc = -0\n");

	scalar_is(r, "a", "-9223372036854775808", false, 1, 5);
	scalar_is(r, "b", "9223372036854775807", false, 2, 5);
	scalar_is(r, "c", "0", false, 3, 5);
	conf_node_free(r);
}
END_TEST

START_TEST(err_text)
{
	ERR("a = 1\nb = \"x\x01\"\n", "2:7: control character 0x01 is not "
				     "allowed (write it as an escape in a "
				     "\"string\")");
	ERR("# c\x7f\n", "1:4: control character 0x7f is not allowed (write it "
			 "as an escape in a \"string\")");
	ERR("a = 1\rb = 2\n", "1:6: control character 0x0d is not allowed "
			     "(write it as an escape in a \"string\")");
	ERR("a = \"\xc3\x28\"\n", "1:6: invalid UTF-8 (byte 0xc3)");
	ERR("a = \"\xed\xa0\x80\"\n", "1:6: invalid UTF-8 (byte 0xed)");
	parse_err("a = \"x\0y\"\n", 10, "1:7: control character 0x00 is not "
					"allowed (write it as an escape in a "
					"\"string\")");
}
END_TEST

START_TEST(err_limits)
{
	static char big[64 * 1100];
	size_t o = 0;
	int i;

	/* nesting */
	o = (size_t)sprintf(big, "a = ");
	for (i = 0; i < 40; i++)
		big[o++] = '[';
	big[o] = '\0';
	ERR(big, "1:38: nesting is too deep");
	/* key parts */
	o = 0;
	for (i = 0; i < 33; i++)
		o += (size_t)sprintf(big + o, "k.");
	sprintf(big + o, "k = 1\n");
	ERR(big, "1:65: a key has more than 32 parts");
	/* keys per table */
	o = 0;
	for (i = 0; i < 1025; i++)
		o += (size_t)sprintf(big + o, "k%d = 1\n", i);
	ERR(big, "1025:1: more than 1024 keys in one table");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("conf_toml");
	TCase *t = tcase_create("toml");
	SRunner *sr;
	int failed;

	tcase_add_test(t, tree_of_frp_constructs);
	tcase_add_test(t, strings_all_forms);
	tcase_add_test(t, tables_allowed_by_toml);
	tcase_add_test(t, err_strictness);
	tcase_add_test(t, err_syntax);
	tcase_add_test(t, err_values);
	tcase_add_test(t, err_text);
	tcase_add_test(t, err_limits);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
