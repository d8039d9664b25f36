#!/usr/bin/perl
# The Storable oracle for the Rust decoder's tests: Perl's own Storable reads
# the file, and this prints the object graph in a canonical JSON form the Rust
# side (tests/vep_storable.rs) also produces from its Document.
#
#   storable_oracle.pl dump FILE           graph of FILE (.gz is gunzipped)
#   storable_oracle.pl native IN OUT       re-store IN in native byte order
#   storable_oracle.pl synthetic NET NATIVE  every opcode VEP may use, both orders
#   storable_oracle.pl tied OUT | code OUT   files the decoder must refuse
#
# Canonical form: undef -> null; a string -> {"s": hex of its bytes (UTF-8
# when Perl flags it so)}; an integer -> {"i": "decimal"}; a float ->
# {"f": "IEEE-754 bits as decimal"}; a reference -> {"ref": T}, where T is
# {"seen": n} for a referent met before, else {"id": n, "class": name-or-null,
# "v": body}; ids count referents in depth-first order with hash keys sorted
# by their bytes, so both sides number them alike.
use strict;
use warnings;
use B ();
use Hash::Util ();
use JSON::PP ();
use Scalar::Util qw(blessed refaddr reftype weaken);
use Storable qw(fd_retrieve retrieve nstore store);

my %seen;
my $next_id = 0;

sub key_bytes {
    my ($k) = @_;
    utf8::encode($k) if utf8::is_utf8($k);
    return $k;
}

sub scalar_form {
    my ($v) = @_;
    return undef unless defined $v;
    my $flags = B::svref_2object(\$_[0])->FLAGS;
    if ($flags & B::SVf_POK) {
        my $s = $v;
        utf8::encode($s) if utf8::is_utf8($s);
        return { s => unpack('H*', $s) };
    }
    return { i => "$v" } if $flags & B::SVf_IOK;
    return { f => '' . unpack('Q>', pack('d>', $v)) } if $flags & B::SVf_NOK;
    die "unclassifiable scalar\n";
}

sub value {
    return { ref => target($_[0]) } if ref $_[0];
    return scalar_form($_[0]);
}

sub target {
    my ($r) = @_;
    my $addr = refaddr($r);
    return { seen => $seen{$addr} } if exists $seen{$addr};
    my $id = $seen{$addr} = $next_id++;
    my $type = reftype($r);
    my $body;
    if ($type eq 'HASH') {
        my @keys = sort { key_bytes($a) cmp key_bytes($b) } keys %$r;
        $body = { h => [ map { [ unpack('H*', key_bytes($_)), value($r->{$_}) ] } @keys ] };
    } elsif ($type eq 'ARRAY') {
        $body = { a => [ map { value($_) } @$r ] };
    } elsif ($type eq 'REF') {
        $body = { ref => target($$r) };
    } elsif ($type eq 'SCALAR' || $type eq 'VSTRING') {
        $body = scalar_form($$r);
    } else {
        die "unsupported referent $type\n";
    }
    return { id => $id, class => blessed($r), v => $body };
}

sub load {
    my ($file) = @_;
    if ($file =~ /\.gz$/) {
        open(my $fh, '-|', 'gzip', '-dc', $file) or die "gzip $file: $!\n";
        my $d = fd_retrieve($fh);
        close $fh;
        return $d;
    }
    return retrieve($file);
}

package Overloaded {
    use overload '""' => sub { 'overloaded' }, fallback => 1;
}

sub synthetic {
    my $shared = { name => 'shared', list => [ 1, 2, 3 ] };
    my $node = bless { id => 'ENST1' }, 'Bio::EnsEMBL::Transcript';
    $node->{self} = $node;                                   # a cycle
    my $ex = bless { start => 5, end => 10 }, 'Bio::EnsEMBL::Exon';
    my %restricted = (a => 1, b => 2);
    Hash::Util::lock_ref_keys(\%restricted, qw(a b c));      # c is a placeholder
    my $strong = { weak_target => 1 };
    my $scalar = 'pointed at';
    my @holes;
    $holes[3] = 'x';                                         # undef elements
    my $d = {
        small   => [ -128, -1, 0, 1, 127, 128, 255, 256 ],
        ints    => [ 2**31 - 1, -2**31, 2**31, -2**31 - 1, 2**53, -2**62 ],
        floats  => [ 0.5, -3.25, 1e-300, 1.5e20, 3.14159265358979 ],
        strings => [ '', 'a', 'x' x 300, "tab\there", "caf\x{e9}", "\x{263a} smile" ],
        long_utf8 => "\x{263a}" x 200,
        "k\x{e9}y" => 'latin1 key',
        "\x{263a}" => 'utf8 key',
        restricted => \%restricted,
        shared_a => $shared,
        shared_b => $shared,
        blessed => [ $node, $ex, bless({ n => 1 }, 'Bio::EnsEMBL::Exon') ],
        ref_to_scalar => \$scalar,
        ref_to_scalar_again => \$scalar,
        ref_to_ref => \\'deep',
        holes => \@holes,
        yes => !!1,
        no => !!0,
        undef => undef,
        strong => $strong,
        weak => $strong,
        overloaded => bless({ v => 1 }, 'Overloaded'),
        many_classes => [ map { bless {}, "Class$_" } 1 .. 200 ],
        empty_hash => {},
        empty_array => [],
    };
    weaken($d->{weak});
    return $d;
}

my ($mode, @args) = @ARGV;
die "usage: $0 dump FILE | native IN OUT | synthetic NET NATIVE | tied OUT | code OUT\n"
    unless defined $mode;
if ($mode eq 'dump') {
    my $d = load($args[0]);
    print JSON::PP->new->canonical->encode(target($d)), "\n";
} elsif ($mode eq 'native') {
    store(load($args[0]), $args[1]) or die "store: $!\n";
} elsif ($mode eq 'synthetic') {
    my $d = synthetic();
    nstore($d, $args[0]) or die "nstore: $!\n";
    store($d, $args[1]) or die "store: $!\n";
} elsif ($mode eq 'tied') {
    require Tie::Hash;
    tie my %t, 'Tie::StdHash';
    $t{a} = 1;
    nstore({ tied => \%t }, $args[0]) or die "nstore: $!\n";
} elsif ($mode eq 'code') {
    no warnings "once";
    local $Storable::Deparse = 1;
    nstore({ code => sub { 42 } }, $args[0]) or die "nstore: $!\n";
} else {
    die "unknown mode $mode\n";
}
