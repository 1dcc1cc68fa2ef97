/*
 * version.h - versions we report. The frp protocol version goes into Login /
 * LoginResp "version" fields: frp peers read it, so it names the frp release
 * whose wire format we speak.
 */
#ifndef VERSION_H
#define VERSION_H

#define FRPC_C_VERSION "0.1.0"
#define FRP_WIRE_VERSION "0.54.0"

#endif
