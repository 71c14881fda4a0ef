/* hdr.h — the header block of a message as a list of fields, shared by
 * the signer (sign.c) and the verifier (verify.c): where each field
 * starts and ends, its name, and which instance of a repeated name a
 * signature's h= list means (RFC 6376 §5.4.2).  Nothing here hashes or
 * signs, so the verifier links it without the signer's keys.  hdr_read
 * reads a header block from a descriptor for both. */
#ifndef POSTHORN_DKIM_HDR_H
#define POSTHORN_DKIM_HDR_H

#include <stddef.h>

enum {
	/* Header fields of one message.  Real mail has a few dozen; a
	 * message with hundreds of Received fields is looping anyway. */
	HDR_FIELDS_MAX = 1000
};

struct hdr_field {
	size_t	off;		/* in the header block */
	size_t	len;		/* the field, without its closing line end */
	size_t	namelen;	/* the name, without WSP before the colon */
};

/* The header block of a message: its fields, in order. */
struct hdr {
	const char		*buf;
	size_t			 len;
	size_t			 n;
	const char		*eol;	/* "\r\n" or "\n", as line 1 ends */
	struct hdr_field	 f[HDR_FIELDS_MAX];
};

/* Read from fd into buf[cap] until the empty line that ends the header,
 * or the end of input (a message of header only).  *n: the bytes read;
 * *hlen: the header lines (with their line ends); *body: where the body
 * starts, after the empty line (RFC 6376 §3.4.3: the body starts after
 * the CRLF CRLF); what of the body came with the header is buf[*body ..
 * *n).  0, or -1 with errno: E2BIG when the header does not fit in cap
 * bytes, or read(2)'s. */
int	hdr_read(int fd, char *buf, size_t cap, size_t *n, size_t *hlen,
	    size_t *body);
/* Split buf[len] (the header lines, each with its line end, without the
 * empty line after them) into fields.  0, or -1 with E2BIG beyond
 * HDR_FIELDS_MAX fields. */
int	hdr_parse(struct hdr *, const char *buf, size_t len);
/* 1 if field i is named name[len] (case-insensitive), else 0. */
int	hdr_name_is(const struct hdr *, size_t i, const char *name,
	    size_t len);
/* The field that the occ-th (from 0) mention of name in an h= list
 * stands for: the occ-th instance from the bottom (RFC 6376 §5.4.2).
 * Its index, or -1 when the header has fewer instances (a name then
 * signs nothing, which is how oversigning works). */
long	hdr_pick(const struct hdr *, const char *name, size_t len,
	    size_t occ);

#endif
