/*
 * fuzz_conf_toml.c - fuzz target for the TOML front end, the JSON front
 * end's position walker, the {{ .Envs.NAME }} expander and the format
 * selection in front of them (legacy INI detection, TOML then YAML).
 *
 * Built as $(BUILD)/fuzz/fuzz_conf_toml and run by tests/run.sh for a
 * bounded number of seeded mutations of TOML and JSON seeds (FUZZ_ITERS,
 * FUZZ_SEED); with file arguments it replays them. For libFuzzer: clang
 * -DFUZZING -fsanitize=fuzzer,address ... (see fuzz_msg.c).
 *
 * Properties: every input either parses into a well-formed tree (maps hold
 * key/value pairs with scalar keys, every node has a position inside the
 * input, scalars have text without NUL) or fails with one non-empty error
 * line that starts with the input's name and leaves *root untouched. The
 * expander either fails the same way or its output contains no "{{".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_doc.h"
#include "conf_json.h"
#include "conf_tmpl.h"
#include "conf_toml.h"

#define FUZZ_NAME "fuzz_conf_toml"
#include "fuzz_driver.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static long n_toml_ok, n_json_ok, n_tmpl_ok;

static int lines_in(const uint8_t *d, size_t n)
{
	int l = 1;

	for (size_t i = 0; i < n; i++)
		l += d[i] == '\n';
	return l;
}

static void check_tree(const struct conf_node *n, int max_line, int depth)
{
	CHECK(depth < 4000);
	CHECK(n->line >= 1 && n->line <= max_line && n->col >= 1);
	switch (n->kind) {
	case CONF_NODE_SCALAR:
		CHECK(n->text != NULL && n->n == 0);
		break;
	case CONF_NODE_MAP:
		CHECK(n->n % 2 == 0);
		for (size_t i = 0; i < n->n; i += 2)
			CHECK(n->kid[i]->kind == CONF_NODE_SCALAR &&
			      n->kid[i]->text);
		/* fall through */
	default:
		for (size_t i = 0; i < n->n; i++)
			check_tree(n->kid[i], max_line, depth + 1);
	}
}

static void check_err(const char *err, const char *name)
{
	CHECK(err[0] && !strchr(err, '\n'));
	CHECK(!strncmp(err, name, strlen(name)));
}

static const char *fake_env(const char *name, void *ctx)
{
	(void)ctx;
	if (!strcmp(name, "FRP_TOKEN"))
		return "tok{{en";   /* a value may hold braces: not re-expanded */
	if (!strcmp(name, "PORT"))
		return "7000";
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	int max_line = lines_in(data, size);
	struct conf_node *root = (struct conf_node *)&root;
	char err[512], *out = NULL;
	size_t outlen = 0;

	err[0] = '\0';
	if (conf_toml_parse("f.toml", buf, size, &root, err, sizeof(err)) == 0) {
		CHECK(root && root->kind == CONF_NODE_MAP);
		check_tree(root, max_line, 0);
		conf_node_free(root);
		n_toml_ok++;
	} else {
		CHECK(root == (struct conf_node *)&root);
		check_err(err, "f.toml");
	}
	root = (struct conf_node *)&root;
	err[0] = '\0';
	if (conf_json_parse("f.json", buf, size, &root, err, sizeof(err)) == 0) {
		check_tree(root, max_line, 0);
		conf_node_free(root);
		n_json_ok++;
	} else {
		CHECK(root == (struct conf_node *)&root);
		check_err(err, "f.json");
	}
	/* the whole front door: INI detection, templates, TOML then YAML */
	root = (struct conf_node *)&root;
	err[0] = '\0';
	if (conf_doc_parse("f.conf", buf, size, CONF_FMT_AUTO, fake_env, NULL,
			   &root, err, sizeof(err)) == 0) {
		if (root)
			conf_node_free(root);
	} else {
		check_err(err, "f.conf");
	}
	err[0] = '\0';
	struct conf_tmpl_map map = {0};

	if (conf_tmpl_expand("f.t", buf, size, fake_env, NULL, 1 << 20, &out,
			     &outlen, &map, err, sizeof(err)) == 0) {
		/* every position of the output maps into the input */
		if (map.n && conf_tmpl_map_index(&map, buf, size, out,
						 outlen) == 0) {
			for (size_t i = 0, line = 1, col = 1; i <= outlen;
			     i++) {
				int l = (int)line, c = (int)col;

				conf_tmpl_unmap(&map, &l, &c);
				CHECK(l >= 1 && l <= max_line && c >= 1);
				if (i < outlen && out[i] == '\n')
					line++, col = 1;
				else
					col++;
			}
		}
		CHECK(out && strlen(out) <= outlen);
		/* only the fake value may bring "{{" back in */
		if (!memmem(data, size, "FRP_TOKEN", 9))
			CHECK(!memmem(out, outlen, "{{", 2));
		free(out);
		n_tmpl_ok++;
	} else {
		check_err(err, "f.t");
	}
	conf_tmpl_map_free(&map);
	return 0;
}

#ifndef FUZZING
static const char *const seeds[] = {
	"serverAddr = \"127.0.0.1\"\nserverPort = 7000\n"
	"auth.token = \"{{ .Envs.FRP_TOKEN }}\"\n"
	"includes = [\"./confd/*.toml\"]\n"
	"log = { to = 'x.log', level = \"debug\" }\n"
	"[transport]\nprotocol = \"kcp\"\nkcp.sndWnd = 0x100\n"
	"[[proxies]]\nname = \"ssh\"\ntype = \"tcp\"\nlocalPort = 22\n"
	"remotePort = {{ .Envs.PORT }}\ntransport.useEncryption = true\n"
	"[[proxies]]\nname = \"dns\"\ntype = \"udp\"\nlocalPort = 53\n"
	"[proxies.plugin]\ntype = 'x'\n",
	"a = \"\"\"\nmulti \\\nline\"\"\"\nb = '''lit\n'''\n"
	"c = [1, [2, 3], {x = 1}, \"\\u00e9\\U0001F600\"]\n"
	"\"q.k\".'l' = -1_000\n[t.u]\n[[t.v]]\n[t.v.w]\nx = true\n",
	"{\"serverPort\": 7000, \"auth\": {\"token\": \"x\"},\n"
	" \"proxies\": [{\"name\": \"a\", \"type\": \"tcp\", \"localPort\": 1,"
	" \"k\": null}, [true, false, -1, \"\\u00e9\"]]}\n",
	"[common]\nserver_addr = 1.2.3.4\n{{ .Envs.X }} {{ if }} {{ .Envs.PORT}}\n",
};

int main(int argc, char **argv)
{
	static uint8_t buf[1 << 16];
	static const char *const tokens[] = {
		"=", ".", "[", "]", "[[", "]]", "{", "}", ",", "\n", " ", "#",
		"\"", "'", "\"\"\"", "'''", "\\", "\\u", "0x", "_", "-", "+",
		"1.5", "inf", "1979-05-27", "true", "a.b", "{{", "}}",
		"{{ .Envs.PORT }}", ":", "null", "\r\n", "\xc3", "\xff"};
	size_t ntok = sizeof(tokens) / sizeof(tokens[0]);
	long iters;

	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			LLVMFuzzerTestOneInput(buf, slurp(argv[i], buf,
							  sizeof(buf)));
		return 0;
	}
	iters = fuzz_setup(100000);
	for (long it = 0; it < iters; it++) {
		const char *s = seeds[it % 4];
		size_t n = strlen(s);
		memcpy(buf, s, n);
		fuzz_mutate(buf, &n, sizeof(buf), 8, true, tokens, ntok);
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("fuzz_conf_toml: %ld inputs ok; parsed: %ld TOML, %ld JSON, "
	       "%ld templates\n", iters, n_toml_ok, n_json_ok, n_tmpl_ok);
	return 0;
}
#endif
