#!/bin/sh
# deps.sh — install, with apt-get, the Debian 12 packages that building
# and testing posthorn needs, and only those that are missing.  "make
# check" runs it first, so a fresh machine goes from clone to green in one
# command; on a machine that has everything it prints nothing.
#
# gnutls-bin (gnutls-cli, certtool), openssl (s_client, req) and
# swaks's TLS modules (libnet-ssleay-perl, libio-socket-ssl-perl) are the
# TLS tests' clients and certificate makers.
#
# python3-dkim, opendkim and libmail-dkim-perl are the independent
# verifiers of dkimsign's signatures; opendkim's service is never started
# (the policy-rc.d below), the tests run "opendkim -t" only.
#
# nettle-dev and libgmp-dev: mailauth(8) verifies RSA signatures with
# nettle's hogweed (GnuTLS's own backend) and gmp, because a program
# linked to GnuTLS costs milliseconds more to start and mailauth runs for
# every incoming message (bench/mailauth.sh).  Their runtime libraries
# come with libgnutls30 anyway.
#
# python3-authres: an independent parser of RFC 8601
# Authentication-Results fields, which test_mailauth_check.py reads
# mailauth check's field back with.
#
# libmail-srs-perl (Mail::SRS) is the reference for SRS: the vectors of
# t/unit/srs_test.c come from it, and t/e2e/test_srs.py checks its
# addresses against aliases -r and smtp-in with the same secret.
#
# sasl2-bin and libsasl2-modules give the benchmark's Postfix Cyrus
# SASL, so that its TLS submission is measured with AUTH as ours is.
#
# logrotate: t/e2e/test_logfiles.py rotates logs with the file that
# install.sh installs without systemd (smtp-in/posthorn.logrotate).
#
# python3-prometheus-client's parser reads what mailq -m prints, in
# t/e2e/test_metrics.py: an independent check of the text format.
#
# groff-base and man-db: "make lint-man" and t/e2e/test_man.py read
# every page as man(1) does, and check that "man -k posthorn" finds them.
#
# git: t/e2e/test_secrets.py checks what "git add ." of a configuration
# directory commits once install-gitignore.sh has written its .gitignore.
#
# dnsmasq-base is the DNS server of the remote-delivery tests' network
# namespace (t/e2e/netns.py); it has no service of its own to start.
#
# clang and libclang-rt-dev (libFuzzer and the sanitizers' runtimes, only
# a recommendation of clang, which --no-install-recommends leaves out)
# build the fuzzing harnesses of fuzz/ that "make check" runs for a few
# seconds each and "make fuzz" for longer.
#
# publicsuffix: the Public Suffix List that DMARC's organizational
# domains come from (dkimsign/psl.c), checked in t/unit/dmarc_test.c.
#
# zlib1g-dev (what "libz-dev" names on Debian) builds tlsrpt(8), which
# gzips the TLS reports (RFC 8460); the tests gunzip them with Python.
#
# python3-spf ships the RFC 7208 test suite (rfc7208-tests.yml.gz) that
# t/e2e/test_spf_suite.py runs against mailauth spf; python3-yaml reads
# it, and python3-dnslib is the wire format of t/e2e/peers/zonedns.py,
# the DNS server that serves its zones (and fails as they ask).
#
# libunbound-dev and dns-root-data: smtp-out validates DNSSEC itself
# (DANE, RFC 7672) with libunbound and the root trust anchor.  ldnsutils
# (ldns-keygen, ldns-signzone) signs t/e2e/test_dane.py's test zone at run
# time, and nsd serves it in the test namespace (an authoritative server
# only: no recursion to disable; its service is never started, see the
# policy-rc.d below).
#
# spamc with spamd, clamdscan with clamav-daemon, and rspamd are the
# real daemons behind smtp-in's content filter recipes
# (smtp-in/filters/*.sh); t/e2e/test_filter_recipes.py starts each on
# loopback with a configuration of its own (clamd with a signature
# database the test makes: there is no network for freshclam), never as
# a service.
#
# dovecot-core is the real Dovecot behind AUTH's auth_dovecot
# (smtp-auth(8)) and, with dovecot-lmtpd, the LMTP server of
# domain.conf's lmtp (smtp-out -L): t/e2e/test_dovecot_auth.py and
# t/e2e/test_lmtp.py start "dovecot -F" with a configuration of their
# own in a temporary directory, never the system's service (the
# policy-rc.d below) nor its /etc/dovecot.
#
# dpkg-dev, debhelper and lintian build and check the Debian package
# ("make deb", debian/), and debootstrap makes the Debian 12 root that
# t/e2e/test_deb.py installs it in (once, cached in
# /var/cache/posthorn-deb); systemd-container's systemd-nspawn boots it
# to see the package's units start and stop.
#
# Postfix is here for the benchmark's smtp-source and the comparison
# instance; it must never become the system's MTA as a side effect, so it
# is installed unconfigured ("No configuration") and with a policy-rc.d
# that forbids starting any service during the install.
set -eu

PKGS="gcc make libc6-dev musl-tools pkg-config libsodium-dev libcmocka-dev
libgnutls28-dev mandoc swaks python3 python3-pytest python3-aiosmtpd
postfix strace systemd procps util-linux iproute2
python3-dkim opendkim libmail-dkim-perl openssl bc python3-authres
gnutls-bin libnet-ssleay-perl libio-socket-ssl-perl libmail-srs-perl
dnsmasq-base sasl2-bin libsasl2-modules logrotate git groff-base man-db
python3-prometheus-client clang libclang-rt-dev publicsuffix zlib1g-dev nettle-dev libgmp-dev
python3-spf python3-yaml python3-dnslib libunbound-dev dns-root-data ldnsutils nsd
libidn2-dev tzdata
spamassassin spamc spamd clamav-daemon clamdscan rspamd dovecot-core
dovecot-lmtpd dpkg-dev debhelper lintian debootstrap systemd-container"
POLICY=/usr/sbin/policy-rc.d
MARK="# posthorn t/deps.sh: temporary, removed after the install"

missing=
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || st=
	[ "$st" = "install ok installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing Debian packages:$missing" >&2
	echo "deps.sh: install them as root:" >&2
	echo "    apt-get install --no-install-recommends$missing" >&2
	exit 1
fi

echo "deps.sh: installing:$missing"

# Remove our policy-rc.d, and only ours, however we leave.
ours=
cleanup() {
	if [ -n "$ours" ] && grep -qF "$MARK" "$POLICY" 2>/dev/null; then
		rm -f "$POLICY"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if [ -e "$POLICY" ]; then
	# Somebody else's (Docker images ship one that exits 101): keep it.
	echo "deps.sh: keeping the existing $POLICY"
else
	printf '#!/bin/sh\n%s\nexit 101\n' "$MARK" >"$POLICY"
	chmod 755 "$POLICY"
	ours=1
fi

case " $missing " in
*" postfix "*)
	echo "postfix postfix/main_mailer_type select No configuration" |
	    debconf-set-selections
	;;
esac

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086 # the list is meant to split
apt-get install -q -y --no-install-recommends $missing
echo "deps.sh: done"
