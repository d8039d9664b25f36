#!/usr/bin/perl
# The Storable oracle for the Rust decoder's tests: Perl's own Storable reads
# the file, and this prints the object graph in a canonical JSON form the Rust
# side (tests/vep_storable.rs) also produces from its Document.
#
#   storable_oracle.pl dump FILE           graph of FILE (.gz is gunzipped)
#   storable_oracle.pl native IN OUT       re-store IN in native byte order
#   storable_oracle.pl synthetic NET NATIVE  every opcode VEP may use, both orders
#   storable_oracle.pl tied OUT | code OUT   files the decoder must refuse
#   storable_oracle.pl model FILE          the region file's features, shaped as
#                                          the Rust model (tests/vep_convert.rs)
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
use Digest::MD5 ();
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
        # Past 127 classes SX_IX_BLESS takes the long index form; a class
        # name past 127 bytes the long SX_BLESS form.
        many_classes => [ (map { bless {}, "Class$_" } 1 .. 200), bless({}, 'Class150'),
            bless({}, 'Long::' . ('X' x 200)), bless({}, 'Long::' . ('X' x 200)) ],
        vstring => v1.22.333,
        blessed_scalar => bless(\(my $bs = 'inside'), 'ScalarClass'),
        empty_hash => {},
        empty_array => [],
    };
    weaken($d->{weak});
    return $d;
}

# --- The feature model, read straight off the Perl objects. ---

sub int_or_undef { defined $_[0] && $_[0] ne '' ? 0 + $_[0] : undef }
sub str_or_undef { defined $_[0] ? "$_[0]" : undef }
sub xref { defined $_[0] && $_[0] ne '' && $_[0] ne '-' ? "$_[0]" : undef }
sub truth { $_[0] ? JSON::PP::true : JSON::PP::false }

sub seq_of {
    my ($s) = @_;
    return undef unless defined $s;
    if (ref $s) {
        $s = $s->{primary_seq} if exists $s->{primary_seq};
        $s = $s->{seq};
    }
    return defined $s && $s ne '' ? "$s" : undef;
}

sub exon_model {
    my ($e) = @_;
    return {
        stable_id => str_or_undef($e->{stable_id}),
        start => 0 + $e->{start}, end => 0 + $e->{end}, strand => 0 + $e->{strand},
        phase => int_or_undef($e->{phase}) // -1, end_phase => int_or_undef($e->{end_phase}) // -1,
    };
}

sub transcript_model {
    my ($chrom, $t) = @_;
    my $c = $t->{_variation_effect_feature_cache} || {};
    my $tl = $t->{translation};
    my $preds = $c->{protein_function_predictions} || {};
    my @preds;
    for my $key (sort keys %$preds) {
        my $m = $preds->{$key};
        next unless ref $m;
        my ($prefix) = split /_/, $key;
        push @preds, {
            analysis => str_or_undef($m->{analysis}) // $prefix,
            sub_analysis => str_or_undef($m->{sub_analysis}),
            translation_md5 => str_or_undef($m->{translation_md5}),
            matrix_md5 => Digest::MD5::md5_hex($m->{matrix} // ''),
            compressed => truth($m->{matrix_compressed}),
        };
    }
    return {
        chrom => $chrom,
        start => 0 + $t->{start}, end => 0 + $t->{end}, strand => 0 + $t->{strand},
        stable_id => "$t->{stable_id}",
        version => int_or_undef($t->{version}),
        biotype => $t->{biotype} // '',
        source => str_or_undef($t->{source}),
        source_cache => str_or_undef($t->{_source_cache}),
        is_canonical => truth($t->{is_canonical}),
        gene_stable_id => str_or_undef($t->{_gene_stable_id} // ($t->{_gene} ? $t->{_gene}{stable_id} : undef)),
        gene_symbol => xref($t->{_gene_symbol}),
        gene_symbol_source => xref($t->{_gene_symbol_source}),
        gene_hgnc_id => xref($t->{_gene_hgnc_id}),
        gene_phenotype => truth($t->{_gene_phenotype}),
        map({ substr($_, 1) => xref($t->{$_}) } qw(_ccds _refseq _protein _swissprot _trembl _uniparc)),
        map({ $_ => int_or_undef($t->{$_}) }
            qw(cdna_coding_start cdna_coding_end coding_region_start coding_region_end)),
        attributes => [ map { [ "$_->{code}", "$_->{value}" ] }
            grep { defined $_->{code} && defined $_->{value} } @{ $t->{attributes} || [] } ],
        exons => [ map { exon_model($_) } @{ $t->{_trans_exon_array} } ],
        introns => [ map { [ 0 + $_->{start}, 0 + $_->{end} ] } @{ $c->{introns} || [] } ],
        translation => $tl ? {
            stable_id => str_or_undef($tl->{stable_id}),
            version => int_or_undef($tl->{version}),
            start => 0 + $tl->{start}, end => 0 + $tl->{end},
            start_exon => $tl->{start_exon} ? str_or_undef($tl->{start_exon}{stable_id}) : undef,
            end_exon => $tl->{end_exon} ? str_or_undef($tl->{end_exon}{stable_id}) : undef,
        } : undef,
        map({ $_ => seq_of($c->{$_}) } qw(translateable_seq peptide five_prime_utr three_prime_utr)),
        codon_table => int_or_undef($c->{codon_table}) // 1,
        protein_features => [ map { {
            start => 0 + $_->{start}, end => 0 + $_->{end},
            analysis => $_->{analysis} ? str_or_undef($_->{analysis}{_display_label}) : undef,
            hseqname => str_or_undef($_->{hseqname}),
        } } @{ $c->{protein_features} || [] } ],
        seq_edits => [ map { {
            code => str_or_undef($_->{code}), start => 0 + $_->{start}, end => 0 + $_->{end},
            alt_seq => $_->{alt_seq} // '',
        } } @{ $c->{seq_edits} || [] } ],
        predictions => \@preds,
    };
}

sub regulatory_model {
    my ($chrom, $r) = @_;
    my $ct = $r->{cell_types} || {};
    return {
        chrom => $chrom,
        start => 0 + $r->{start}, end => 0 + $r->{end}, strand => 0 + $r->{strand},
        stable_id => "$r->{stable_id}",
        feature_type => $r->{feature_type} // '',
        epigenome_count => int_or_undef($r->{epigenome_count} // $r->{cell_type_count}),
        cell_types => [ map { [ $_, $ct->{$_} // '' ] } sort keys %$ct ],
    };
}

sub motif_model {
    my ($chrom, $m) = @_;
    my $bm = $m->{binding_matrix};
    my $el = $bm ? $bm->{elements} || {} : {};
    my $orf = $m->{overlapping_RegulatoryFeature};
    return {
        chrom => $chrom,
        start => 0 + $m->{start}, end => 0 + $m->{end}, strand => 0 + $m->{strand},
        stable_id => str_or_undef($m->{stable_id}),
        score => defined $m->{score} ? 0 + $m->{score} : undef,
        binding_matrix => $bm ? {
            stable_id => str_or_undef($bm->{stable_id}),
            name => str_or_undef($bm->{name}),
            threshold => defined $bm->{threshold} ? 0 + $bm->{threshold} : undef,
            elements => [ map { my $p = $_; [ 0 + $p, [ map { [ $_, 0 + $el->{$p}{$_} ] } sort keys %{ $el->{$p} } ] ] }
                sort { $a <=> $b } keys %$el ],
            transcription_factors => [ map { str_or_undef($_->{display_name} // $_->{production_name}) }
                @{ $bm->{associated_transcription_factor_complexes} || [] } ],
        } : undef,
        cell_types => ref $m->{cell_types} eq 'ARRAY' ? [ @{ $m->{cell_types} } ] : [ sort keys %{ $m->{cell_types} || {} } ],
        overlapping_regulatory_feature => ref $orf ? str_or_undef($orf->{stable_id}) : str_or_undef($orf),
        seq => seq_of($m->{_variation_effect_feature_cache} ? $m->{_variation_effect_feature_cache}{seq} : undef),
        display_label => str_or_undef($m->{display_label}),
    };
}

sub model {
    my ($d) = @_;
    my (@t, @r, @m);
    for my $chrom (sort keys %$d) {
        my $v = $d->{$chrom};
        if (ref $v eq 'ARRAY') {
            push @t, map { transcript_model($chrom, $_) } @$v;
        } else {
            push @r, map { regulatory_model($chrom, $_) } @{ $v->{RegulatoryFeature} || [] };
            push @m, map { motif_model($chrom, $_) } @{ $v->{MotifFeature} || [] };
        }
    }
    return { transcripts => \@t, regulatory => \@r, motifs => \@m };
}

my ($mode, @args) = @ARGV;
die "usage: $0 dump FILE | native IN OUT | synthetic NET NATIVE | tied OUT | code OUT\n"
    unless defined $mode;
if ($mode eq 'dump') {
    my $d = load($args[0]);
    print JSON::PP->new->canonical->encode(target($d)), "\n";
} elsif ($mode eq 'model') {
    print JSON::PP->new->canonical->encode(model(load($args[0]))), "\n";
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
