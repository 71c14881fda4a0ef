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
# "starttls" does the same on port 25 (mx) with EHLO and STARTTLS first,
# and "plain" EHLO and QUIT there without TLS: the cost of a session that
# TLS is to be compared with.  posthorn under systemd-socket-activate
# runs 465 only; the others both ports.
#
# Server CPU is given twice: "server ms", all CPUs' busy time less the
# client's (anything else running on the machine included), and "tree ms",
# the CPU time of the server's own process tree (the activator, the
# listener or Postfix's master, and all below them: lib.sh's tree_cpu), which
# the machine's other load does not inflate except through contention.
#   posthorn  smtp-in submissions under systemd-socket-activate --inetd -a
#             (a process per connection), which execs smtp-tlsd (GnuTLS)
#             for the TLS and smtp-auth (argon2id) for the AUTH: posthorn
#             before smtp-listen.
#   ph-exec   the same smtp-in started by smtp-listen -T: no zygote,
#             smtp-tlsd is exec'd per TLS session.
#   ph-zygote smtp-listen as installed: it runs smtp-tlsd -z and gives
#             each session its socket (POSTHORN_TLSD_FD), so that each
#             TLS session is a fork of it.
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
# Start-up: where the start of an exec'd smtp-tlsd goes, step by step
# (bench/tlsstart.c, compiled here with cc): loading GnuTLS and its
# libraries, its initialisation, a session, the priority string, the
# certificate and key, the last with GnuTLS's check of the pair and with
# smtp-tlsd's; BENCH_START_RUNS (200) fresh processes each, averaged, for
# the bench's ECDSA P-256 certificate and an RSA-2048 one.
#
# A child of the zygote, phase by phase (bench/tlschild.c, compiled here
# with cc): the parent's fork, the child's start, gnutls_init, the
# priorities, the handshake, the records, its exit; a child that exits at
# once; and the same handshake warm, without a fork.  BENCH_CHILD_RUNS
# (300) forks.
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
# BENCH_PEERS="posthorn ph-exec ph-zygote postfix" (the default) or any
# of them, BENCH_KINDS="full hello starttls plain" (the default) or any
# of them, BENCH_KEEP=1
# keeps the temporary directory (logs, queues) for a look.  Loopback
# only; every wait is bounded; everything started is stopped on exit,
# failure included.
set -eu

BIN=${1:?usage: bench/tls.sh BIN_DIR}
MSGS=${BENCH_MSGS:-500}
SIZE=10240			# bytes a message
CONC=10				# sessions at a time
ROUNDS=${BENCH_ROUNDS:-3}
PEERS=${BENCH_PEERS:-posthorn ph-exec ph-zygote postfix}
KINDS=${BENCH_KINDS:-full hello starttls plain}
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
	need_cmd systemd-socket-activate ;;
esac
case " $PEERS " in *" posthorn "*|*" ph-exec "*|*" ph-zygote "*)
	need_built smtp-in smtp-tlsd smtp-auth mailuser ;;
esac
case " $PEERS " in *" postfix "*)
	[ -x /usr/sbin/postfix ] || die "Postfix is missing (sh t/deps.sh)"
	need_postfix_user
	;;
esac
bench_tmpdir posthorn-bench-tls

# The listeners (smtp-listen) this script starts, stopped before the rest.
DOORS=
tls_cleanup() {
	for d in $DOORS; do
		stop_pid "$d" 100
	done
	bench_cleanup
}
trap tls_cleanup EXIT

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

# blast PEER PORT QUEUED_CMD ROOT_PID KIND: one client run, timed and
# checked.  full: the whole session; hello: TLS, EHLO and QUIT only;
# starttls: EHLO, STARTTLS, EHLO, QUIT; plain: EHLO, QUIT.  ROOT_PID is
# the server's process tree, whose CPU time the run is charged.
blast() {
	peer=$1 port=$2 queued=$3 root=$4 kind=$5
	login=$LOGIN want=$MSGS password=$PASSWORD how=
	[ "$kind" = full ] || login=- want=0
	[ "$peer" != postfix ] || [ -n "$PF_SASL" ] || password=-
	case $kind in starttls|plain) how=$kind ;; esac
	tree0=$(tree_cpu "$root")
	# In the background, so that a signal stops the run at once (the
	# trap runs only when a foreground command is done).
	# shellcheck disable=SC2086
	python3 "$CLIENT" blast "$port" "$MSGS" "$CONC" "$login" \
	    "$password" "$RCPT" "$SIZE" "$CERT" $how >"$T/client.out" \
	    2>"$T/client.err" &
	CL_PID=$!
	wait "$CL_PID" ||
	    { cat "$T/client.err" >&2; die "the client failed against $peer"; }
	CL_PID=
	tree1=$(tree_cpu "$root")
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
	    -v b="$busy" -v n="$NCPU" -v t0="$tree0" -v t1="$tree1" \
	    -v note="$note" 'BEGIN {
		srv = (m > 0) ? 1000 * (b / 100 * n * w - c) / m : 0
		if (srv < 0) srv = 0	# jiffies: a short run can round below
		tree = (m > 0) ? (t1 - t0) / m : 0
		printf "%-9s %-8s %8d %8.2f %10.1f %9.0f%% %4.0f%% %10.1f %8.2f%s\n",
		    p, k, m, w, m / w, 100 * c / w, b, srv, tree, note }' >>"$RESULTS"
	tail -n 1 "$RESULTS" >&2
}

# door_start KIND MODE: smtp-listen serving smtp-in MODE on a free port,
# exec (-T) or zygote, its sessions as nobody; sets DOOR_PORT and
# DOOR_PID.
door_start() {
	DOOR_PORT=$(free_port)
	chown -R nobody "$PH"
	flags=
	[ "$1" != exec ] || flags=-T
	# shellcheck disable=SC2086 # no flags, or one
	"$BIN/smtp-listen" -C "$PH/etc" -u nobody -c 1000 $flags "$2" \
	    "127.0.0.1:$DOOR_PORT" </dev/null >/dev/null \
	    2>"$T/door.$1.$2" &
	DOOR_PID=$!
	DOORS="$DOORS $DOOR_PID"
	wait_for "$T/door.$1.$2" "event=listening"
}

# idle PEER PORT [LISTENER_PID]: the memory of one idle TLS session, one
# line a process.
idle() {
	python3 "$CLIENT" idle "$2" "$CERT" "$1" ${3:+"$3"} >"$T/idle.$1" ||
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
	# posthorn as it was: the activator, an exec of smtp-in and of
	# smtp-tlsd per session
	BENCH_LISTENER=activator ph_listen submissions
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
for v in exec zygote; do
	case " $PEERS " in *" ph-$v "*)
		[ -f "$PH/etc/posthorn.conf" ] || {
			# ph_init and the user, as above, without the
			# activator.
			ph_init "$PH/etc/certs"
			cp "$CERT" "$PH/etc/certs/fullchain.pem"
			cp "$KEY" "$PH/etc/certs/privkey.pem"
			chmod 600 "$PH/etc/certs/privkey.pem"
			printf '%s\n' "$PASSWORD" | "$BIN/mailuser" -C "$PH/etc" \
			    add "$LOGIN" 2>"$T/mailuser.err" ||
			    { cat "$T/mailuser.err" >&2; die "mailuser add failed"; }
		}
		door_start "$v" submissions
		eval "PH_${v}_PORT=\$DOOR_PORT PH_${v}_PID=\$DOOR_PID"
		echo "bench: ph-$v, one idle TLS session:" >&2
		idle "ph-$v" "$DOOR_PORT" "$DOOR_PID"
		door_start "$v" mx
		eval "PH_${v}_PORT25=\$DOOR_PORT PH_${v}_PID25=\$DOOR_PID"
		echo "bench: ph-$v: smtp-listen ($v), smtp-in submissions on 127.0.0.1:$(eval echo \$PH_${v}_PORT), mx on 127.0.0.1:$(eval echo \$PH_${v}_PORT25)" >&2
		;;
	esac
done

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
	port25=$(free_port)
	{
		cat <<-EOF
		# qmgr is left out on purpose: messages stay in incoming/.
		$port25   inet  n       -       n       -       -       smtpd
		  -o smtpd_tls_security_level=may
		  -o smtpd_sasl_auth_enable=no
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
	PF_PORT25=$port25
	;;
esac

# --- the runs ------------------------------------------------------------------

# The peers take turns so that a slow minute of the disk (or of the host
# of a virtual machine) does not fall on one side only.
# run PEER PORT465 PORT25 QUEUED_CMD ROOT ROOT25 KIND: one run of KIND
# against PEER, on the port that KIND needs (none: nothing).
run() {
	case $7 in
	full|hello) [ -n "$2" ] || return 0
		blast "$1" "$2" "$4" "$5" "$7" ;;
	*)	[ -n "$3" ] || return 0
		blast "$1" "$3" "$4" "$6" "$7" ;;
	esac
}

r=1
while [ $r -le "$ROUNDS" ]; do
	for kind in $KINDS; do
		if [ -n "${PH_PORT-}" ]; then
			ph_wipe
			run posthorn "$PH_PORT" "" ph_queued "$ACT_PID" "" "$kind"
		fi
		for v in exec zygote; do
			[ -n "$(eval echo \${PH_${v}_PORT-})" ] || continue
			ph_wipe
			eval "run ph-$v \$PH_${v}_PORT \$PH_${v}_PORT25 ph_queued \
			    \$PH_${v}_PID \$PH_${v}_PID25 $kind"
		done
		if [ -n "${PF_PORT-}" ]; then
			pf_wipe
			run postfix "$PF_PORT" "$PF_PORT25" pf_queued "$PF_UP" \
			    "$PF_UP" "$kind"
		fi
	done
	r=$((r + 1))
done
if [ -n "${PH_PORT-}" ]; then
	ph_wipe
	ph_check_sessions
fi
bad='tls-failed\|tls-error\|tls-crashed\|tlsd-exit\|session-killed\|event=refused'
if cat "$T"/door.* 2>/dev/null | grep -q "$bad"; then
	echo "bench: (!) failures under smtp-listen:" >&2
	cat "$T"/door.* | grep "$bad" | head -n 3 >&2
fi
[ -z "${PF_PORT-}" ] || pf_wipe

# --- start-up, step by step ---------------------------------------------------

# tls_priority's default (lib/conf.h)
prio='SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1:+GROUP-X448:+GROUP-FFDHE2048:+GROUP-FFDHE3072:+GROUP-FFDHE4096:+GROUP-FFDHE6144:+GROUP-FFDHE8192:%SERVER_PRECEDENCE'
START_RUNS=${BENCH_START_RUNS:-200}
START=$T/start
: >"$START"
if command -v cc >/dev/null 2>&1 &&
    cc -std=c11 -O2 -D_GNU_SOURCE -o "$T/tlsstart" "$HERE/tlsstart.c" -ldl \
    2>"$T/tlsstart.err"; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=mx.$DOMAIN" \
	    -keyout "$T/rsakey.pem" -out "$T/rsacert.pem" >/dev/null 2>&1 ||
	    die "openssl could not make the RSA certificate"
	for key in ecdsa rsa; do
		if [ $key = ecdsa ]; then c=$CERT k=$KEY; else
			c=$T/rsacert.pem k=$T/rsakey.pem; fi
		: >"$T/start.check"
		: >"$T/start.keyid"
		i=0
		while [ $i -lt "$START_RUNS" ]; do
			for how in check keyid; do
				GNUTLS_NO_IMPLICIT_INIT=1 "$T/tlsstart" "$c" "$k" \
				    "$prio" $how >>"$T/start.$how" ||
				    die "tlsstart failed"
			done
			i=$((i + 1))
		done
		for how in check keyid; do
			awk -v key="$key" -v how="$how" '
				NR % 2 == 1 { for (i = 1; i <= 5; i++) ms[i] += $i; n++ }
				NR % 2 == 0 { for (i = 1; i <= 5; i++) pf[i] += $i }
				END { printf "%-6s %-6s", key, how
				    for (i = 1; i <= 5; i++)
					printf " %6.2f (%3d)", ms[i] / n, pf[i] / n
				    printf "\n" }' "$T/start.$how" >>"$START"
		done
	done
else
	echo "bench: (!) no cc, or bench/tlsstart.c does not build: no start-up steps" >&2
fi

# --- a child of the zygote, phase by phase -------------------------------------

CHILD=$T/child
: >"$CHILD"
if command -v cc >/dev/null 2>&1 &&
    cc -std=c11 -O2 -o "$T/tlschild" "$HERE/tlschild.c" -lgnutls \
    2>"$T/tlschild.err"; then
	"$T/tlschild" "$CERT" "$KEY" "$prio" "${BENCH_CHILD_RUNS:-300}" \
	    >"$CHILD" || die "tlschild failed"
else
	echo "bench: (!) no cc, or bench/tlschild.c does not build: no child phases" >&2
fi

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
EHLO and QUIT only (what starting TLS costs, without AUTH or a message);
starttls = the same on port 25 after EHLO and STARTTLS; plain = EHLO and
QUIT on port 25 without TLS.  tree ms = the CPU time of the server's
process tree per session.

peer      run      sessions  seconds  sessions/s  client cpu  busy  server ms  tree ms
EOF
cat "$RESULTS"
printf '\nmedian of %s rounds (x postfix: sessions/s over those of Postfix):\n' \
    "$ROUNDS"
printf 'run       peer        sessions/s  x postfix  server ms  tree ms\n'
for kind in $KINDS; do
	pf=$(med postfix "$kind" 5)
	for p in $PEERS; do
		awk -v k="$kind" -v p="$p" -v a="$(med "$p" "$kind" 5)" \
		    -v b="$pf" -v sa="$(med "$p" "$kind" 8)" \
		    -v ta="$(med "$p" "$kind" 9)" 'BEGIN {
			if (a == "-") exit
			r = (b != "-" && b > 0) ? sprintf("%.2f", a / b) : "-"
			printf "%-9s %-11s %10s %10s %10s %8s\n", k, p, a, r, sa, ta }'
	done
done
# What TLS adds to a session: STARTTLS less plain, both on port 25.
printf '\nTLS over a plain session (starttls less plain, medians of tree ms):\n'
for p in $PEERS; do
	awk -v p="$p" -v a="$(med "$p" starttls 9)" -v b="$(med "$p" plain 9)" \
	    'BEGIN { if (a != "-" && b != "-")
		printf "%-11s %6.2f ms  (%s - %s)\n", p, a - b, a, b }'
done
[ -z "$AUTH_MS" ] || cat <<EOF
posthorn's AUTH: smtp-auth alone takes $AUTH_MS ms a run (argon2id, 64 MiB;
mean of $AUTH_SAMPLES); Postfix's Cyrus sasldb compares a password kept in clear.
EOF
[ ! -s "$START" ] || cat <<EOF

start of a GnuTLS server process, step by step: ms of CPU (page faults),
mean of $START_RUNS fresh processes (bench/tlsstart.c); cert: the chain and key
read and parsed; pair "check": with GnuTLS's signature check of the pair,
"keyid" without it (smtp-tlsd compares key IDs instead):
key    pair     load (dlopen)   global_init   gnutls_init   priority      cert
$(cat "$START")
(an exec'd smtp-tlsd pays all of these, plus the exec of a dynamically
linked program; a child of the zygote only gnutls_init and its fork: the
zygote holds the priorities parsed and the default chain and key loaded.)
EOF
[ ! -s "$CHILD" ] || cat <<EOF

a child of the zygote, phase by phase: ms of CPU (page faults), mean of
${BENCH_CHILD_RUNS:-300} forks of a process that has GnuTLS initialised, the ECDSA
chain and key loaded and the priorities parsed (bench/tlschild.c); each
child does a TLS 1.3 handshake (X25519), one record each way and _exit:
      fork   start      gnutls_init  priorities  handshake    records     exit       child total
$(awk '$1 == "fork" { printf "fork  %-6s", $2; for (i = 3; i < NF; i += 2) printf " %-11s", $i " " $(i + 1); printf "\n" }' "$CHILD")
a child that exits at once (fork, start, exit, child total):
$(awk '$1 == "bare" { printf "bare  %-6s", $2; for (i = 3; i < NF; i += 2) printf " %-11s", $i " " $(i + 1); printf "\n" }' "$CHILD")
the same handshake and records warm, without a fork: $(awk '$1 == "warm" { print $2 }' "$CHILD") ms
EOF
cat <<EOF

one idle TLS session (handshake and EHLO done), kB:
peer      processes                  VmRSS       Pss
EOF
cat "$IDLE"
