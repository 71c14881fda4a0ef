#!/usr/bin/perl
# mail_dkim_sign.pl KEYFILE SELECTOR DOMAIN [T [X]] < message > signed
# Sign a message with Mail::DKIM (rsa-sha256, relaxed/relaxed), the
# third independent signer of t/e2e/test_mailauth_dkim.py; T and X set
# t= and x= (a signature that has expired, or is dated in the future).
use strict;
use warnings;
use Mail::DKIM::Signer;
use Mail::DKIM::TextWrap;

my ($key, $sel, $dom, $t, $x) = @ARGV;
my $s = Mail::DKIM::Signer->new(
	Algorithm => 'rsa-sha256',
	Method => 'relaxed',
	Domain => $dom,
	Selector => $sel,
	KeyFile => $key,
	($t ? (Timestamp => $t) : ()),
	($x ? (Expiration => $x) : ()));
local $/;
binmode STDIN;
binmode STDOUT;
my $m = <STDIN>;
$m =~ s/\r?\n/\r\n/g;
$s->PRINT($m);
$s->CLOSE;
print $s->signature->as_string, "\r\n", $m;
