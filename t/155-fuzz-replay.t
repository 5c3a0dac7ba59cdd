# The fuzz corpus (t/fuzz/corpus/<target>: seeds and every input that
# once found a defect) replayed through the libFuzzer targets, built with
# clang-14 under AddressSanitizer and UndefinedBehaviorSanitizer: each
# input must run clean.  "make fuzz" explores further (see the README).
use strict;
use warnings;
use FindBin;
use Test::More;

my $REPO = "$FindBin::Bin/..";
my @targets = qw(json yaml client bridge jwt mcp);

my $out = `make -s -j2 -C $REPO fuzz-replay 2>&1`;
is($?, 0, 'make fuzz-replay builds the targets and replays the corpus')
    or diag($out);

for my $t (@targets) {
    my @inputs = glob "$REPO/t/fuzz/corpus/$t/*";
    ok(@inputs >= 3, "fuzz-$t has a corpus (" . scalar(@inputs) . " inputs)");
    like($out, qr/^fuzz-$t: \d+ inputs replayed$/m, "fuzz-$t: every input ran clean");
}

done_testing();
