package Hangar::Jwt;

# Test keys, JWK sets and signed JWTs made with the openssl command line:
# RSA 2048 (RS256) and EC P-256 (ES256, the DER signature of "openssl dgst"
# turned into the raw r || s of JWS).
#     my $k = Hangar::Jwt::key('rsa', $dir, 'kid1');
#     my $jwks = Hangar::Jwt::jwks($k, ...);
#     my $t = Hangar::Jwt::token($k, {iss => ..., ...}, {extra header});

use strict;
use warnings;
use JSON::PP ();
use MIME::Base64 ();

our @EXPORT_OK = qw(key jwks token b64u);
use Exporter 'import';

my $json = JSON::PP->new->canonical;

sub b64u {
    my ($bytes) = @_;
    (my $s = MIME::Base64::encode_base64($bytes, '')) =~ tr{+/}{-_};
    $s =~ s/=+\z//;
    return $s;
}

sub run {
    my ($cmd) = @_;
    my $out = `$cmd 2>&1`;
    die "failed: $cmd\n$out" if $?;
    return $out;
}

sub hex_bytes {
    my ($hex) = @_;
    $hex =~ s/[^0-9a-fA-F]//g;
    $hex = "0$hex" if length($hex) % 2;
    return pack 'H*', $hex;
}

# type: rsa | ec; the private key is written to $dir/$kid.pem
sub key {
    my ($type, $dir, $kid) = @_;
    my $pem = "$dir/$kid.pem";
    my %k = (type => $type, kid => $kid, pem => $pem);

    if ($type eq 'rsa') {
        run("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $pem");
        my $text = run("openssl rsa -in $pem -noout -text");
        my ($mod) = $text =~ /modulus:\s*\n((?:\s+[0-9a-f:]+\n)+)/;
        my ($e) = $text =~ /publicExponent:\s*(\d+)/;
        my $n = hex_bytes($mod);
        $n =~ s/\A\x00+//;
        my $eb = pack('N', $e);
        $eb =~ s/\A\x00+//;
        $k{jwk} = { kty => 'RSA', kid => $kid, use => 'sig', alg => 'RS256',
                    n => b64u($n), e => b64u($eb) };
        $k{alg} = 'RS256';

    } else {
        run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $pem");
        my $text = run("openssl ec -in $pem -noout -text");
        my ($pub) = $text =~ /pub:\s*\n((?:\s+[0-9a-f:]+\n)+)/;
        my $point = hex_bytes($pub);
        die "not an uncompressed point" unless length($point) == 65;
        $k{jwk} = { kty => 'EC', kid => $kid, crv => 'P-256', use => 'sig',
                    x => b64u(substr($point, 1, 32)),
                    y => b64u(substr($point, 33, 32)) };
        $k{alg} = 'ES256';
    }

    return \%k;
}

sub jwks {
    return $json->encode({ keys => [ map { $_->{jwk} } @_ ] });
}

# DER ECDSA-Sig-Value (SEQUENCE { INTEGER r, INTEGER s }) -> r || s
sub der_to_raw {
    my ($der) = @_;
    my @b = unpack 'C*', $der;
    my $i = 2;
    $i++ if $b[1] & 0x80;           # never for P-256, but be safe
    my @out;
    for (1, 2) {
        die "bad DER" unless $b[$i++] == 0x02;
        my $len = $b[$i++];
        my $int = pack 'C*', @b[$i .. $i + $len - 1];
        $i += $len;
        $int =~ s/\A\x00+//;
        push @out, ("\x00" x (32 - length $int)) . $int;
    }
    return join '', @out;
}

# the signature of $input with the key (RS256 or ES256)
sub sign {
    my ($k, $input) = @_;
    my $in = "$k->{pem}.in";
    open my $fh, '>', $in or die "$in: $!";
    binmode $fh;
    print {$fh} $input;
    close $fh;
    my $sig = `openssl dgst -sha256 -sign $k->{pem} $in`;
    die "openssl dgst failed" if $?;
    unlink $in;
    return $k->{type} eq 'ec' ? der_to_raw($sig) : $sig;
}

# $header: extra/overriding header fields (alg => 'none' etc.)
sub token {
    my ($k, $claims, $header) = @_;
    my %h = (alg => $k->{alg}, typ => 'JWT', kid => $k->{kid}, %{ $header // {} });
    delete $h{$_} for grep { !defined $h{$_} } keys %h;
    my $input = b64u($json->encode(\%h)) . '.' . b64u($json->encode($claims));
    return "$input." . b64u(sign($k, $input));
}

1;
