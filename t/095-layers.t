# src/ is layered (DESIGN.md §10): core -> registry -> lifecycle -> auth ->
# http -> the module glue.  Each .c has its own header, which declares only that
# file's functions; no file includes the header of a higher layer, and no
# function of a higher layer is called from a lower one.  The bridge is a
# separate program with one header of its own and is left out.
use strict;
use warnings;
use FindBin;
use Test::More;
my $root = "$FindBin::Bin/..";
my %layer = (core => 0, registry => 1, lifecycle => 2, auth => 3, http => 4);
my @names = qw(core registry lifecycle auth http glue);

sub slurp { local (@ARGV, $/) = @_; return -e $ARGV[0] ? <> : '' }

# comments and string literals out, so that neither names a function
sub code {
    my ($s) = @_;
    $s =~ s{/\*.*?\*/}{ }gs;
    $s =~ s{"(?:[^"\\\n]|\\.)*"}{""}g;
    return $s;
}

my (%files, %lay);
for my $d (sort keys %layer) {
    for my $f (glob("$root/src/$d/*.[ch]")) {
        (my $n = $f) =~ s{.*/}{};
        $files{$n} = $f;
        $lay{$n} = $layer{$d};
    }
}
$files{'ngx_http_hangar_module.c'} = "$root/ngx_http_hangar_module.c";
$lay{'ngx_http_hangar_module.c'} = 5;

my @c = sort grep { /\.c$/ } keys %files;
ok(@c >= 30, scalar(@c) . ' .c files');

my %src = map { $_ => code(slurp($files{$_})) } keys %files;
my %incs;
for my $n (keys %files) {
    (my $s = slurp($files{$n})) =~ s{/\*.*?\*/}{ }gs;
    $incs{$n} = [ $s =~ /^#\s*include\s+"([^"]+)"/mg ];
}

# functions defined in each .c (nginx style: the name starts its line)
my (%def, %static);
for my $c (@c) {
    while ($src{$c} =~ /^([\w ]*\w[ *]*)\n\**(ngx_http_hangar_\w+)\(/mg) {
        my ($type, $f) = ($1, $2);
        if ($type =~ /\bstatic\b/) {
            $static{$c}{$f} = 1;
        } else {
            $def{$f} = $c;
        }
    }
}
ok(keys(%def) >= 100, scalar(keys %def) . ' functions defined');

# each .c has its own header, includes it, and the header declares only the
# functions of that .c
for my $c (@c) {
    next if $c eq 'ngx_http_hangar_module.c';
    (my $h = $c) =~ s/\.c$/.h/;
    ok(exists $files{$h}, "$c has its own header");
    ok(slurp($files{$c}) =~ /#include "\Q$h\E"/, "$c includes $h")
        if exists $files{$h};
}

for my $h (sort grep { /\.h$/ } keys %files) {
    (my $c = $h) =~ s/\.h$/.c/;
    my $s = $src{$h};
    $s =~ s/^#\s*define(?:[^\n]*\\\n)*[^\n]*//mg;
    while ($s =~ /^(?:extern\s+)?[a-z][\w ]*?[ *]\**(ngx_http_hangar_\w+)\(/mg) {
        my $f = $1;
        my $in = $def{$f} // 'nowhere';
        is($in, $c, "$f, declared in $h, is defined in $c");
    }
}

# includes go to the same or a lower layer, and headers include no cycle
my %inc;
for my $n (sort keys %files) {
    for my $i (@{ $incs{$n} }) {
        $i =~ s{.*/}{};
        next unless exists $files{$i};
        $inc{$n}{$i} = 1;
        ok($lay{$i} <= $lay{$n},
           "$n ($names[$lay{$n}]) includes $i ($names[$lay{$i}])");
    }
}
my %state;
my @cycle;
sub visit {
    my ($n, @path) = @_;
    return if ($state{$n} // 0) == 2;
    if (($state{$n} // 0) == 1) {
        push @cycle, join(' -> ', @path, $n);
        return;
    }
    $state{$n} = 1;
    visit($_, @path, $n) for sort keys %{ $inc{$n} // {} };
    $state{$n} = 2;
}
visit($_) for sort grep { /\.h$/ } keys %files;
is(join("\n", @cycle), '', 'no include cycle between headers');

# calls go downward only
my $calls = 0;
for my $c (@c) {
    my %seen;
    while ($src{$c} =~ /\b(ngx_http_hangar_\w+)\s*\(/g) {
        my $f = $1;
        next if $seen{$f}++ || $static{$c}{$f};
        my $in = $def{$f} or next;
        next if $in eq $c;
        $calls++;
        ok($lay{$in} <= $lay{$c},
           "$c ($names[$lay{$c}]) calls $f of $in ($names[$lay{$in}])");
    }
}
ok($calls >= 100, "$calls calls between files");

# no two files call each other, inside a layer too: within a layer the
# files are ordered as well (a lower file that must tell a higher one
# something does it through a callback the higher one set)
my %edge;
for my $c (@c) {
    my %seen;
    while ($src{$c} =~ /\b(ngx_http_hangar_\w+)\s*\(/g) {
        my $f = $1;
        next if $seen{$f}++ || $static{$c}{$f};
        my $in = $def{$f} or next;
        $edge{$c}{$in}{$f} = 1 if $in ne $c;
    }
}
my @loops;
for my $a (sort keys %edge) {
    for my $b (sort keys %{ $edge{$a} }) {
        next unless $a lt $b && $edge{$b}{$a};
        (my $pair = "$a $b") =~ s/ngx_http_hangar_//g;
        push @loops, $pair;
    }
}
is(join(', ', @loops), '', 'no two files call each other');

# nor do three or more in a ring: the files form an order (a DAG)
my (%mark, @ring);
sub walk {
    my ($n, @path) = @_;
    return if ($mark{$n} // 0) == 2;
    if (($mark{$n} // 0) == 1) {
        shift @path while @path && $path[0] ne $n;
        push @ring, join(' -> ', map { s/ngx_http_hangar_//r } @path, $n);
        return;
    }
    $mark{$n} = 1;
    walk($_, @path, $n) for sort keys %{ $edge{$n} // {} };
    $mark{$n} = 2;
}
walk($_) for @c;
is(join("\n", @ring), '', 'no call cycle between files');

done_testing();
