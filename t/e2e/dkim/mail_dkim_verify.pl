#!/usr/bin/perl
# mail_dkim_verify.pl KEYS < message — verify every DKIM-Signature of a
# message with Mail::DKIM, the public keys coming from the file KEYS
# ("NAME TXT-VALUE" lines, NAME being SELECTOR._domainkey.DOMAIN) instead
# of DNS: test_dkimsign.py's third, independent verifier.  Prints one
# line per signature: "a=ALGORITHM s=SELECTOR result=RESULT (DETAIL)".
use strict;
use warnings;
use Mail::DKIM::Verifier;
use Mail::DKIM::PublicKey;

my %keys;
open(my $fh, '<', $ARGV[0]) or die "$ARGV[0]: $!\n";
while (<$fh>) {
	chomp;
	my ($name, $value) = split(/ /, $_, 2);
	$keys{lc $name} = $value;
}
close($fh);

# No DNS: the key comes from the table, through Mail::DKIM's own parser.
{
	no warnings 'redefine';
	*Mail::DKIM::PublicKey::fetch_async = sub {
		my ($class, %p) = @_;
		my $txt = $keys{lc "$p{Selector}._domainkey.$p{Domain}"};
		my $on_success = ($p{Callbacks} || {})->{Success} || sub { $_[0] };
		my $key;
		if (defined $txt) {
			$key = $class->parse($txt);
			$key->{Selector} = $p{Selector};
			$key->{Domain} = $p{Domain};
			$key->check;
		}
		my $r = $on_success->($key);
		return sub { $r };
	};
}

binmode(STDIN);
my $dkim = Mail::DKIM::Verifier->new();
my $buf;
while (read(STDIN, $buf, 65536)) {
	$dkim->PRINT($buf);
}
$dkim->CLOSE();
foreach my $sig ($dkim->signatures) {
	printf("a=%s s=%s result=%s (%s)\n", $sig->algorithm, $sig->selector,
	    $sig->result, $sig->result_detail);
}
