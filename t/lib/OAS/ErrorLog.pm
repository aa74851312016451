package OAS::ErrorLog;
# The error-log rule of the test suite: any [error], [crit], [alert] or [emerg] line,
# and any sign of a crash, in t/logs/error_log fails the run -- unless a test said
# that it expected it.
#
# Allow-list: t/logs/expected_errors, one Perl regex per line (blank lines and lines
# starting with # are ignored).  A test that provokes an error line on purpose adds a
# pattern for it first, with OAS::Test::expect_error_log(qr/.../); a line of the log
# that matches any pattern is not counted.  The file lives in t/logs, so it starts
# empty for every MPM run, as the log does.  Keep patterns narrow: the module's own
# log tag (e.g. qr/OAS\d+: client registry .* bad-registry\.json/), not qr/error/.
#
# This module needs no Apache::Test, so that tools/run-tests can apply the same rule
# to the log after the server stopped (lines written at shutdown included):
#   perl -It/lib -MOAS::ErrorLog -e 'exit !OAS::ErrorLog::check(@ARGV)' LOG [EXPECTED]
use strict;
use warnings;

# [Sat Nov 22 17:23:00.123456 2025] [ssl:error] [pid 1:tid 2] ...   (ErrorLogFormat default)
our $BAD_LEVEL = qr/^\[[^\]]*\]\s+\[(?:[^:\]\s]*:)?(?:error|crit|alert|emerg)\]/;

# signs of a crash, whatever the level they are logged at (AH00052 is a notice)
our @CRASH = (
    qr/\bexit signal\b/,
    qr/\bAH00052\b/,                      # child pid N exit signal ...
    qr/\bAH00060\b/,                      # seg fault or similar nasty error detected in the parent
    qr/Segmentation fault/,
    qr/\bcore dump/i,
    qr/\b(?:Address|Leak|Thread|Memory|UndefinedBehavior)Sanitizer\b/,
    qr/\bruntime error: /,                # UBSan
    qr/\*\*\* (?:stack smashing|buffer overflow) detected/,
    qr/\b(?:double free|free\(\): invalid|malloc\(\): |corrupted size vs\. prev_size)/,
    qr/\bAssertion .* failed\b/,
);

sub read_expected {
    my ($file) = @_;
    my @re;
    return @re unless defined $file && -e $file;
    open my $fh, '<', $file or die "OAS::ErrorLog: $file: $!\n";
    while (my $line = <$fh>) {
        chomp $line;
        next if $line =~ /^\s*(?:#|$)/;
        my $re = eval { qr/$line/ };
        die "OAS::ErrorLog: bad pattern in $file: $line ($@)\n" unless $re;
        push @re, $re;
    }
    return @re;
}

# is_bad_line($line): true if this line alone breaks the rule (no allow-list)
sub is_bad_line {
    my ($line) = @_;
    return 1 if $line =~ $BAD_LEVEL;
    for my $re (@CRASH) { return 1 if $line =~ $re }
    return 0;
}

# problems($log, $expected_file, $from_offset): the offending lines, allow-list applied
sub problems {
    my ($log, $expected_file, $from) = @_;
    return () unless defined $log && -e $log;
    my @expected = read_expected($expected_file);
    open my $fh, '<', $log or die "OAS::ErrorLog: $log: $!\n";
    seek $fh, $from, 0 if $from;
    my @bad;
    LINE: while (my $line = <$fh>) {
        chomp $line;
        next unless is_bad_line($line);
        for my $re (@expected) { next LINE if $line =~ $re }
        push @bad, $line;
    }
    return @bad;
}

# check($log, $expected_file): prints the offending lines to STDERR, true when clean
sub check {
    my ($log, $expected_file) = @_;
    my @bad = problems($log, $expected_file);
    print STDERR "unexpected line in $log: $_\n" for @bad;
    return !@bad;
}

1;
