/*
 * conn.c - a new connection (a transport stream, or one yamux stream) until
 * its first message says what it is: Login -> a control, NewWorkConn -> a
 * work connection of the client with that run_id. Anything else, nothing
 * within FRPS_FIRST_MSG_TIMEOUT_S, or a malformed frame closes it. How many
 * may wait at once is capped server-wide so idle sockets cannot pile up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "chan.h"
#include "ctl.h"
#include "frps.h"
#include "log.h"

struct frps_conn {
	struct frps *s;
	struct ctl *ctl;
	struct frps_sess *sess; /* referenced, or NULL */
	struct event *timer;
	char peer[64];
	TAILQ_ENTRY(frps_conn) link;
};

/* Forget the conn; the ctl has been handed on or freed by the caller. */
static void conn_release(struct frps_conn *cn, bool keep_sess_ref)
{
	TAILQ_REMOVE(&cn->s->conns, cn, link);
	cn->s->nconns--;
	event_free(cn->timer);
	if (cn->sess && !keep_sess_ref)
		frps_sess_unref(cn->sess);
	free(cn);
}

static void conn_drop(struct frps_conn *cn)
{
	ctl_free(cn->ctl);
	conn_release(cn, false);
}

static void conn_msg(struct ctl *ctl, struct msg *m, void *arg)
{
	struct frps_conn *cn = arg;
	struct frps *s = cn->s;
	struct frps_sess *sess = cn->sess;
	if ((m->type == MSG_LOGIN || m->type == MSG_NEW_WORK_CONN) &&
	    frps_tls_refused(s, ctl, sess, m)) {
		conn_drop(cn);
		return;
	}
	switch (m->type) {
	case MSG_LOGIN:
		/* Hand-over: nothing reaches a callback until the new owner
		 * has set its own. */
		ctl_set_callbacks(ctl, NULL, NULL, NULL);
		conn_release(cn, true);
		frps_control_login(s, ctl, sess, &m->u.login);
		return;
	case MSG_NEW_WORK_CONN:
		ctl_set_callbacks(ctl, NULL, NULL, NULL);
		conn_release(cn, false);
		frps_control_work_conn(s, ctl, &m->u.new_work_conn);
		return;
	default:
		LOG_W("frps", "%s: unexpected first message %s, closing", cn->peer,
		      msg_type_name(m->type));
		conn_drop(cn);
		return;
	}
}

static void conn_err(struct ctl *ctl, int err, void *arg)
{
	(void)ctl;
	struct frps_conn *cn = arg;
	if (err)
		LOG_W("frps", "%s: bad first message: %s, closing", cn->peer,
		      strerror(-err));
	conn_drop(cn);
}

static void conn_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct frps_conn *cn = arg;
	LOG_W("frps", "%s: no message within %d s, closing", cn->peer,
	      FRPS_FIRST_MSG_TIMEOUT_S);
	conn_drop(cn);
}

void frps_conn_new(struct frps *s, struct chan *ch, struct frps_sess *sess)
{
	if (s->nconns >= FRPS_MAX_NEW_CONNS) {
		LOG_W("frps", "%s: too many connections waiting for a first "
			      "message, closing", ch->peer);
		goto fail;
	}
	struct frps_conn *cn = calloc(1, sizeof(*cn));
	if (!cn)
		goto fail;
	cn->s = s;
	snprintf(cn->peer, sizeof(cn->peer), "%s", ch->peer);
	cn->timer = evtimer_new(s->base, conn_timeout, cn);
	if (!cn->timer || evtimer_add(cn->timer, s->first_msg_tv) != 0) {
		if (cn->timer)
			event_free(cn->timer);
		free(cn);
		goto fail;
	}
	cn->sess = sess;
	if (sess)
		frps_sess_ref(sess);
	TAILQ_INSERT_TAIL(&s->conns, cn, link);
	s->nconns++;
	/* ctl_new delivers already-buffered bytes from the loop, never from
	 * in here, so cn is complete before conn_msg can run. */
	cn->ctl = ctl_new(ch, conn_msg, conn_err, cn);
	if (!cn->ctl)
		conn_release(cn, false);
	return;
fail:
	chan_close(ch, XPORT_CLOSE_ABORT);
}

void frps_conn_close_all(struct frps *s)
{
	struct frps_conn *cn;
	while ((cn = TAILQ_FIRST(&s->conns)))
		conn_drop(cn);
}
