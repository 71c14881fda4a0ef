/* danestart.c — what smtp-out's DNSSEC context costs to set up, for
 * bench/dane.sh: one process that loads the configuration and, unless
 * given -n, calls dane_init (libunbound context, forwarders from
 * /etc/resolv.conf, the trust anchor file read and the validator made
 * ready), then exits.  No query is sent: what a lookup costs is the
 * resolver's round trips, not ours.  perf stat of "danestart" against
 * "danestart -n" is the set-up's price per smtp-out process. */

#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "dane.h"

int
main(int argc, char **argv)
{
	struct conf c;
	char err[512];

	memset(&c, 0, sizeof(c));
	if (conf_load(&c, conf_dir(NULL), err, sizeof(err)) == -1) {
		fprintf(stderr, "danestart: %s\n", err);
		return 78;
	}
	if (argc > 1 && strcmp(argv[1], "-n") == 0)
		return 0;
	if (dane_init(&c, err, sizeof(err)) == -1) {
		fprintf(stderr, "danestart: %s\n", err);
		return 78;
	}
	return 0;
}
