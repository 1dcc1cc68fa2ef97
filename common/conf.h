/*
 * conf.h - frps/frpc configuration (frp >= 0.52 key names) from TOML, YAML
 * or JSON files (format by extension, as frp; see conf_doc.h).
 *
 * Every format becomes one document tree, which is turned into typed structs
 * through a schema table (one row per key: name, type, offset, default,
 * validator). A loaded config is immutable; a reload parses a new one and
 * swaps.
 *
 * Errors: conf_*_load() return 0 or -errno and fill err with exactly one line
 * "FILE:LINE:COL: what is wrong" (LINE/COL 1-based, of the offending key or
 * value). Unknown keys, wrong types, out-of-range ports, duplicate proxy names
 * and unreadable files are errors; nothing is silently ignored.
 */
#ifndef CONF_H
#define CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xport.h"

/** Flattened options of one `transport.<protocol>` subtree, e.g.
 *  transport.kcp: {mode: fast2, sndWnd: 256} -> {"mode","fast2"},
 *  {"sndWnd","256"}. Nested maps flatten with dots ("a.b"). where[i] is
 *  "FILE:LINE:COL" of key i, for the host to prefix a plugin's error. */
struct conf_xport_opts {
	char *protocol;            /**< the subtree name, e.g. "kcp" */
	struct xport_option *opts; /**< key/value strings, owned */
	char **where;              /**< location of each key, owned */
	size_t n;
	char *at;                  /**< "FILE:LINE:COL" of the subtree's key */
};

/** transport.tls.*: the core TLS layer (common/tls.h). frpc uses enable,
 *  serverName and disableCustomTLSFirstByte; frps uses force. */
struct conf_tls {
	bool enable;              /**< frpc; default true (frp >= 0.50) */
	bool force;               /**< frps; refuse plain clients; default
				       false, true when trustedCaFile is set */
	char *cert_file;          /**< "" = none (frps: self-signed) */
	char *key_file;
	char *trusted_ca_file;    /**< "" = no verification of the peer */
	char *server_name;        /**< frpc; "" = serverAddr */
	bool disable_custom_first_byte; /**< frpc; default true (frp 0.54) */
};

struct conf_log {
	char *to;  /**< "console" (default) or a file path */
	int level; /**< XPORT_LOG_* (default info) */
	int max_days; /**< accepted for frp compatibility (default 3) */
	bool disable_print_color; /**< accepted for frp compatibility: we
				       never colour the log (default false) */
};

struct conf_web {
	char *addr;     /**< default "127.0.0.1" */
	int port;       /**< 0 = off (default) */
	char *user;     /**< "" = no auth */
	char *password;
};

struct conf_port_range {
	uint16_t start, end; /**< inclusive; {single: p} gives start=end=p */
};

enum conf_proxy_type { CONF_PROXY_TCP = 0, CONF_PROXY_UDP = 1 };

struct conf_proxy {
	char *name;
	enum conf_proxy_type type;
	char *type_name;  /**< "tcp" / "udp" as written */
	char *local_ip;   /**< default "127.0.0.1" */
	uint16_t local_port;
	int remote_port;  /**< 0 = frps picks a free port */
	bool use_encryption;  /**< transport.useEncryption */
	bool use_compression; /**< transport.useCompression (accepted; see README) */
};

struct frpc_conf {
	char *path;               /**< file it came from (NULL when none) */
	char *server_addr;        /**< default "0.0.0.0" */
	uint16_t server_port;     /**< default 7000 */
	char *user;               /**< default "" */
	char *client_id;          /**< default "" */
	bool login_fail_exit;     /**< default true */
	char *auth_method;        /**< "token" (only one supported) */
	char *auth_token;         /**< default "" */
	char *protocol;           /**< transport.protocol, default "tcp" */
	bool tcp_mux;             /**< default true */
	int tcp_mux_keepalive_interval; /**< seconds, default 30 */
	int pool_count;           /**< default 1 */
	int heartbeat_interval;   /**< seconds; default 30; -1 = no application
				       heartbeat (frp's meaning) */
	int heartbeat_timeout;    /**< seconds; default 90; -1 = off */
	int dial_server_timeout;  /**< seconds, default 10 */
	struct conf_tls tls;      /**< transport.tls.* */
	int drain_timeout;        /**< transport.drainTimeout: seconds an old
				       link's connections may run after a
				       switch; default 600, 0 = no bound */
	char *fallback_protocol;  /**< transport.fallbackProtocol, "" = off */
	int fallback_timeout;     /**< seconds without a login answer before
				       falling back, default 5 */
	int fallback_retry_interval; /**< seconds between tries to move back,
					  default 300 */
	struct conf_xport_opts *xport; /**< one per transport.<name> map */
	size_t n_xport;
	struct conf_log log;
	struct conf_web web;      /**< admin API */
	struct conf_proxy *proxies;
	size_t n_proxies;
};

struct frps_conf {
	char *path;
	char *bind_addr;          /**< default "0.0.0.0" */
	uint16_t bind_port;       /**< default 7000 */
	uint16_t kcp_bind_port;   /**< 0 = off (default) */
	char *proxy_bind_addr;    /**< default = bind_addr */
	char *auth_method;        /**< "token" */
	char *auth_token;
	struct conf_port_range *allow_ports; /**< empty = all allowed */
	size_t n_allow_ports;
	int max_ports_per_client; /**< 0 = unlimited */
	bool tcp_mux;             /**< default true */
	int tcp_mux_keepalive_interval; /**< default 30 */
	int max_pool_count;       /**< default 5 */
	int heartbeat_timeout;    /**< seconds, default 90; -1 = off */
	int user_conn_timeout;    /**< seconds, default 10 */
	bool enable_prometheus;   /**< default false */
	int login_time_window;    /**< seconds a Login timestamp may be off,
				       default 900 (our extension key:
				       auth.timestampWindow) */
	struct conf_tls tls;      /**< transport.tls.* */
	struct conf_xport_opts *xport;
	size_t n_xport;
	struct conf_log log;
	struct conf_web web;      /**< dashboard */
	char *stats_file;         /**< webServer.statsFile; "" = next to the
				       config file (see frps/statsfile.h) */
};

/** Parse path into a new config. On error *out is untouched. */
int conf_frpc_load(const char *path, struct frpc_conf **out, char *err,
		   size_t errlen);
int conf_frps_load(const char *path, struct frps_conf **out, char *err,
		   size_t errlen);
/** A config with every default and no file (frps/frpc without -c). */
struct frpc_conf *conf_frpc_defaults(void);
struct frps_conf *conf_frps_defaults(void);
void conf_frpc_free(struct frpc_conf *c);
void conf_frps_free(struct frps_conf *c);

/** Options for transport `protocol` (NULL when the file has none). */
const struct conf_xport_opts *conf_xport_find(const struct conf_xport_opts *v,
					      size_t n, const char *protocol);

/** Append a proxy built outside a file (frpc's `tcp`/`udp` quick
 *  commands): p's strings are copied; type follows type_name. 0, -EINVAL
 *  (err "what is wrong") or -ENOMEM. */
int conf_frpc_add_proxy(struct frpc_conf *c, const struct conf_proxy *p,
			char *err, size_t errlen);

/** Check that every transport.<name> subtree names a transport that
 *  is_known() accepts (the loaded plugins; core layers such as tls are
 *  schema sections and never reach here). 0, or -ENOENT with one line
 *  "FILE:LINE:COL: ..." in err for the first unknown one. */
int conf_xport_check(const struct conf_xport_opts *v, size_t n,
		     bool (*is_known)(const char *name), char *err,
		     size_t errlen);

/** Replace a string field (for command-line overrides). 0/-ENOMEM. */
int conf_set_str(char **field, const char *value);

/** True when port is allowed by ranges (n == 0 allows everything). */
bool conf_port_allowed(const struct conf_port_range *r, size_t n, int port);

#endif
