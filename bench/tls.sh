#!/bin/sh
# bench/tls.sh BIN_DIR — the TLS part of "make bench": whole submission
# sessions over implicit TLS (port 465, RFC 8314) against smtp-in beside
# Postfix's smtpd in the same run, and what one idle TLS session keeps in
# memory on each side.
#
# A session is what a mail client does to send one message: a new TCP
# connection, a full TLS 1.3 handshake (no resumption), EHLO, AUTH PLAIN,
# MAIL FROM the login, RCPT TO a remote address (authenticated relay),
# one message of 10 KB, QUIT.  bench/tlsclient.py runs BENCH_MSGS (500)
# of them, 10 at a time, in 10 forked processes; sessions/s = sessions /
# wall time.  It also reports its own CPU time and how busy the machine's
# CPUs were, to show whether the client or the machine was the limit.
# A second run ("hello") does only the connection, the handshake, EHLO and
# QUIT: what starting TLS costs on each side, AUTH and message left out.
#   posthorn  smtp-in submissions under systemd-socket-activate --inetd -a
#             (a process per connection), which execs smtp-tlsd (GnuTLS)
#             for the TLS and smtp-auth (argon2id) for the AUTH.
#   Postfix   a private instance (its own config, queue and data
#             directories), smtpd in wrapper mode (smtpd_tls_wrappermode),
#             TLS required, Cyrus SASL with a sasldb file of its own;
#             qmgr disabled, so messages stay queued, as with posthorn,
#             whose queue-run is not started.
# Both use the same self-signed ECDSA P-256 certificate.  Both queues live
# under /var/tmp, on the disk, never on tmpfs.  The peers take turns,
# BENCH_ROUNDS (3) times, and the table gives every run and the medians.
# Every run must leave exactly its sessions' messages in the queue.
#
# Note what is compared at AUTH: smtp-auth verifies an argon2id hash (64
# MiB, about 60 ms of CPU: see smtp-in(8)), while Cyrus's sasldb keeps
# the password in clear and compares it.  The table gives the cost of
# smtp-auth alone, measured here, so the difference can be read off.
#
# Idle memory: one TLS connection, handshake and EHLO, held open while
# the session's processes are read in /proc: smtp-in + smtp-tlsd, or
# Postfix's smtpd; VmRSS and Pss (smaps_rollup: shared library pages
# divided among the processes that map them) in kB.
#
# Runs as root (Postfix's master starts as root and drops to "postfix").
# Needs openssl, python3, systemd-socket-activate, Postfix, and for
# Postfix's AUTH saslpasswd2 (Debian sasl2-bin) and libsasl2-modules:
# without them Postfix's sessions run without AUTH, and the table says so.
# BENCH_MSGS=N sessions a run (500), BENCH_ROUNDS=N rounds (3),
# BENCH_PEERS="posthorn" or "postfix" runs one side only, BENCH_KEEP=1
# keeps the temporary directory (logs, queues) for a look.  Loopback
# only; every wait is bounded; everything started is stopped on exit,
# failure included.
set -eu

BIN=${1:?usage: bench/tls.sh BIN_DIR}
MSGS=${BENCH_MSGS:-500}
SIZE=10240			# bytes a message
CONC=10				# sessions at a time
ROUNDS=${BENCH_ROUNDS:-3}
PEERS=${BENCH_PEERS:-posthorn postfix}
DOMAIN=bench.example
LOGIN=user@$DOMAIN
PASSWORD='bench tls password'
RCPT=rcpt@remote.example	# not local on either side: relayed after AUTH
AUTH_SAMPLES=20			# smtp-auth runs timed alone
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$(cd "$BIN" && pwd)
CLIENT=$HERE/tlsclient.py
NCPU=$(nproc)

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_cmd openssl python3
case " $PEERS " in *" posthorn "*)
	need_cmd systemd-socket-activate
	need_built smtp-in smtp-tlsd smtp-auth mailuser ;;
esac
case " $PEERS " in *" postfix "*)
	[ -x /usr/sbin/postfix ] || die "Postfix is missing (sh t/deps.sh)"
	need_postfix_user
	;;
esac
bench_tmpdir posthorn-bench-tls

# The certificate both sides serve; the client checks it against itself
# and the name 127.0.0.1, where it connects.
CERT=$T/cert.pem
KEY=$T/key.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -days 2 -subj "/CN=mx.$DOMAIN" \
    -addext "subjectAltName=DNS:mx.$DOMAIN,IP:127.0.0.1" \
    -keyout "$KEY" -out "$CERT" >"$T/openssl.out" 2>&1 ||
    { cat "$T/openssl.out" >&2; die "openssl could not make the certificate"; }

IDLE=$T/idle
: >"$IDLE"

# blast PEER PORT QUEUED_CMD full|hello: one client run, timed and
# checked.  full: the whole session; hello: TLS, EHLO and QUIT only.
blast() {
	peer=$1 port=$2 queued=$3 kind=$4
	login=$LOGIN want=$MSGS password=$PASSWORD
	[ "$kind" = full ] || login=- want=0
	[ "$peer" != postfix ] || [ -n "$PF_SASL" ] || password=-
	# In the background, so that a signal stops the run at once (the
	# trap runs only when a foreground command is done).
	python3 "$CLIENT" blast "$port" "$MSGS" "$CONC" "$login" \
	    "$password" "$RCPT" "$SIZE" "$CERT" >"$T/client.out" \
	    2>"$T/client.err" &
	CL_PID=$!
	wait "$CL_PID" ||
	    { cat "$T/client.err" >&2; die "the client failed against $peer"; }
	CL_PID=
	out=$(cat "$T/client.out")
	# shellcheck disable=SC2086
	set -- $out
	wall=$1 cpu=$2 busy=$3 ok=$4 failed=$5
	shift 5
	n=$($queued)
	note=
	[ "$failed" -eq 0 ] || note="  (!) $failed failed: $*"
	[ "$n" -eq "$want" ] || note="$note  (!) $n queued, not $want"
	awk -v p="$peer" -v k="$kind" -v m="$ok" -v w="$wall" -v c="$cpu" \
	    -v b="$busy" -v n="$NCPU" -v note="$note" 'BEGIN {
		srv = (m > 0) ? 1000 * (b / 100 * n * w - c) / m : 0
		if (srv < 0) srv = 0	# jiffies: a short run can round below
		printf "%-9s %-6s %8d %8.2f %10.1f %9.0f%% %4.0f%% %10.1f%s\n",
		    p, k, m, w, m / w, 100 * c / w, b, srv, note }' >>"$RESULTS"
	tail -n 1 "$RESULTS" >&2
}

# idle PEER PORT: the memory of one idle TLS session, one line a process.
idle() {
	python3 "$CLIENT" idle "$2" "$CERT" "$1" >"$T/idle.$1" ||
	    die "could not read the memory of an idle $1 session"
	awk -v p="$1" '
		{ names = names (NR > 1 ? " + " : "") $1; rss += $3
		  if ($4 == "-") nopss = 1; else pss += $4 }
		END { printf "%-9s %-22s %9d %9s\n", p, names, rss,
		    nopss ? "-" : pss }' "$T/idle.$1" >>"$IDLE"
	sed 's/^/bench:   /' "$T/idle.$1" >&2
}

# --- posthorn: smtp-in submissions ------------------------------------------

AUTH_MS=
case " $PEERS " in *" posthorn "*)
	ph_init "$PH/etc/certs"
	cp "$CERT" "$PH/etc/certs/fullchain.pem"
	cp "$KEY" "$PH/etc/certs/privkey.pem"
	chmod 600 "$PH/etc/certs/privkey.pem"
	printf '%s\n' "$PASSWORD" |
	    "$BIN/mailuser" -C "$PH/etc" add "$LOGIN" 2>"$T/mailuser.err" ||
	    { cat "$T/mailuser.err" >&2; die "mailuser add $LOGIN failed"; }
	ph_listen submissions
	echo "bench: posthorn: smtp-in submissions ($BIN/smtp-in) on 127.0.0.1:$PH_PORT, queue $PH/spool (no queue-run)" >&2

	# smtp-auth alone: what one AUTH PLAIN costs it, start-up included.
	req="PLAIN $(printf '\0%s\0%s' "$LOGIN" "$PASSWORD" | base64 -w 0)"
	AUTH_MS=$(python3 - "$BIN/smtp-auth" "$PH/etc" "$req" "$AUTH_SAMPLES" <<-'EOF'
	import subprocess, sys, time
	prog, conf, req, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
	t0 = time.monotonic()
	for _ in range(n):
	    r = subprocess.run([prog, "-C", conf], input=(req + "\n").encode(),
	                       capture_output=True, timeout=10)
	    if r.returncode != 0:
	        sys.exit(f"smtp-auth: {r.returncode} {r.stdout!r} {r.stderr!r}")
	print(f"{(time.monotonic() - t0) * 1000 / n:.1f}")
	EOF
	) || die "smtp-auth does not accept $LOGIN"
	echo "bench: smtp-auth alone: $AUTH_MS ms per AUTH PLAIN" >&2

	echo "bench: posthorn, one idle TLS session:" >&2
	idle posthorn "$PH_PORT"
	;;
esac

# --- Postfix: smtpd in wrapper mode, Cyrus SASL (sasldb) ------------------------

PF_SASL=
case " $PEERS " in *" postfix "*)
	pf_init
	mkdir -p "$PF/etc/sasl" "$PF/sasldb"
	cp "$CERT" "$PF/etc/cert.pem"
	cp "$KEY" "$PF/etc/key.pem"
	chmod 600 "$PF/etc/key.pem"
	# Cyrus SASL: a sasldb of our own, read by smtpd as "postfix" (not
	# under etc/, where postfix-script wants every file owned by root).
	# Its auxprop splits the login user@DOMAIN into user and realm.
	if command -v saslpasswd2 >/dev/null 2>&1 &&
	    postconf -a 2>/dev/null | grep -qx cyrus &&
	    ls /usr/lib/*/sasl2/libsasldb.so* >/dev/null 2>&1 &&
	    ls /usr/lib/*/sasl2/libplain.so* >/dev/null 2>&1; then
		printf '%s' "$PASSWORD" | saslpasswd2 -p -c -f "$PF/sasldb/sasldb2" \
		    -u "$DOMAIN" "${LOGIN%@*}" ||
		    die "saslpasswd2 could not make $PF/sasldb/sasldb2"
		chown postfix "$PF/sasldb/sasldb2"
		chmod 600 "$PF/sasldb/sasldb2"
		cat >"$PF/etc/sasl/smtpd.conf" <<-EOF
		pwcheck_method: auxprop
		auxprop_plugin: sasldb
		sasldb_path: $PF/sasldb/sasldb2
		mech_list: PLAIN LOGIN
		EOF
		PF_SASL=yes
	else
		echo "bench: (!) no Cyrus SASL (saslpasswd2: Debian sasl2-bin; libsasl2-modules): Postfix runs WITHOUT AUTH" >&2
	fi
	port=$(free_port)
	{
		cat <<-EOF
		# A private Postfix for bench/tls.sh: submissions (wrapper-mode TLS,
		# then AUTH) on 127.0.0.1:$port; keeps what it accepts (no qmgr).
		EOF
		pf_main_cf "mx.$DOMAIN"
		cat <<-EOF
		relay_domains =
		in_flow_delay = 0
		smtpd_tls_chain_files = $PF/etc/key.pem, $PF/etc/cert.pem
		smtpd_tls_protocols = >=TLSv1.2
		smtpd_tls_mandatory_protocols = >=TLSv1.2
		smtpd_tls_loglevel = 0
		EOF
	} >"$PF/etc/main.cf"
	if [ -n "$PF_SASL" ]; then
		cat >>"$PF/etc/main.cf" <<-EOF
		smtpd_sasl_type = cyrus
		smtpd_sasl_path = smtpd
		cyrus_sasl_config_path = $PF/etc/sasl
		smtpd_sasl_security_options = noanonymous
		smtpd_sasl_local_domain =
		# Not 127.0.0.0/8: only AUTH may relay, as on posthorn's 465.
		mynetworks = 192.0.2.1/32
		# As posthorn: relay only after AUTH, and as one's own address.
		smtpd_relay_restrictions = permit_sasl_authenticated, reject
		smtpd_sender_login_maps = inline:{$LOGIN=$LOGIN}
		smtpd_sender_restrictions = reject_sender_login_mismatch
		EOF
		auth=yes
	else
		cat >>"$PF/etc/main.cf" <<-EOF
		# No SASL here: the client is trusted by address instead.
		mynetworks = 127.0.0.0/8
		smtpd_relay_restrictions = permit_mynetworks, reject
		EOF
		auth=no
	fi
	{
		cat <<-EOF
		# qmgr is left out on purpose: messages stay in incoming/.
		$port     inet  n       -       n       -       -       smtpd
		  -o smtpd_tls_wrappermode=yes
		  -o smtpd_tls_security_level=encrypt
		  -o smtpd_sasl_auth_enable=$auth
		tlsmgr    unix  -       -       n       1000?   1       tlsmgr
		EOF
		pf_master_cf
	} >"$PF/etc/master.cf"
	pf_start "$port"
	echo "bench: Postfix $(postconf -c "$PF/etc" -h mail_version) smtpd (wrapper-mode TLS, AUTH: $auth) on 127.0.0.1:$port, queue $Q (qmgr disabled)" >&2
	echo "bench: Postfix, one idle TLS session:" >&2
	idle postfix "$port"
	PF_PORT=$port
	;;
esac

# --- the runs ------------------------------------------------------------------

# The peers take turns so that a slow minute of the disk (or of the host
# of a virtual machine) does not fall on one side only.
r=1
while [ $r -le "$ROUNDS" ]; do
	for kind in full hello; do
		if [ -n "${PH_PORT-}" ]; then
			ph_wipe
			blast posthorn "$PH_PORT" ph_queued "$kind"
		fi
		if [ -n "${PF_PORT-}" ]; then
			pf_wipe
			blast postfix "$PF_PORT" pf_queued "$kind"
		fi
	done
	r=$((r + 1))
done
if [ -n "${PH_PORT-}" ]; then
	ph_wipe
	ph_check_sessions
fi
[ -z "${PF_PORT-}" ] || pf_wipe

# --- the table ---------------------------------------------------------------

pf_auth=
[ -z "${PF_PORT-}" ] || [ -n "$PF_SASL" ] ||
    pf_auth="
(!) Postfix ran WITHOUT AUTH (no Cyrus SASL here): its sessions skip AUTH."
cat <<EOF

posthorn bench, TLS: $MSGS sessions a run, $CONC at a time, each a new
connection, TLS 1.3 handshake (ECDSA P-256, no resumption), AUTH PLAIN,
one message of $SIZE bytes relayed to a remote address, QUIT; on
$(uname -n), $NCPU CPUs; queues in /var/tmp (fsynced), nothing delivered.
client cpu = the client's CPU time / wall time (100% = one CPU);
busy = all CPUs, client included (100% = all $NCPU busy); server ms = the
CPU time of everything but the client, per session (anything else that
ran on the machine meanwhile included).$pf_auth

full  = the whole session above; hello = connection, TLS 1.3 handshake,
EHLO and QUIT only (what starting TLS costs, without AUTH or a message).

peer      run    sessions  seconds  sessions/s  client cpu  busy  server ms
EOF
cat "$RESULTS"
printf '\nmedian of %s rounds:\n' "$ROUNDS"
printf 'run    posthorn/s  postfix/s  posthorn/postfix  server ms: posthorn  postfix\n'
for kind in full hello; do
	awk -v k="$kind" -v a="$(med posthorn $kind 5)" \
	    -v b="$(med postfix $kind 5)" -v sa="$(med posthorn $kind 8)" \
	    -v sb="$(med postfix $kind 8)" 'BEGIN {
		r = (a != "-" && b != "-" && b > 0) ? sprintf("%.2f", a / b) : "-"
		printf "%-6s %10s %10s %17s %19s %8s\n", k, a, b, r, sa, sb }'
done
[ -z "$AUTH_MS" ] || cat <<EOF
posthorn's AUTH: smtp-auth alone takes $AUTH_MS ms a run (argon2id, 64 MiB;
mean of $AUTH_SAMPLES); Postfix's Cyrus sasldb compares a password kept in clear.
EOF
cat <<EOF

one idle TLS session (handshake and EHLO done), kB:
peer      processes                  VmRSS       Pss
EOF
cat "$IDLE"
