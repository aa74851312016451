# Runs last (Apache::Test sorts test files): the error-log rule.  Any [error], [crit],
# [alert] or [emerg] line, or a crash line, in t/logs/error_log that no test announced
# with expect_error_log() fails here.  tools/run-tests checks the log once more after
# the server has stopped, for lines written at shutdown.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use OAS::Test;

plan tests => 1;

my @bad = error_log_clean();
print STDERR "# unexpected line in t/logs/error_log: $_\n" for @bad;   # seen even by a quiet harness
ok !@bad, 'error_log has no unexpected [error]/[crit]/[alert]/[emerg] or crash lines'
    . (@bad ? ' (' . scalar(@bad) . ' found)' : '');
