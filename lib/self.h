/* self.h — the programs that come with this one.  A program that starts
 * another of posthorn's (sendmail starts queue-inject, smtp-in starts
 * smtp-tlsd and smtp-auth) takes it from its own directory: an installed
 * set, or the set of a build directory under test, and never whatever
 * $PATH would find first. */
#ifndef POSTHORN_SELF_H
#define POSTHORN_SELF_H

#include <stddef.h>

/* DIR/name into buf, DIR being the directory of /proc/self/exe; when no
 * executable is there, DIR/../bin/name or DIR/../sbin/name if one of them
 * is (an installation splits PREFIX/sbin and PREFIX/bin).  0, or -1 with
 * errno (ENAMETOOLONG when it does not fit).  The caller's exec says
 * whether the program is really there. */
int	self_sibling(const char *name, char *buf, size_t size);

#endif
