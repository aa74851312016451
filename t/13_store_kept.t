# The count of records on disk kept at a clean stop (issue 18 item 4; docs/stores.md):
# after a clean stop the next start takes the count from PATH.count instead of reading
# every record (OAS09403 at debug says which way it went), the count is the same as
# before the stop, and the file is gone once the server answers; after kill -9 of every
# process no count is kept, and the start reads every record as before.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use OAS::TokenTest;

plan tests => 10, need_module('oauth_as'), need_module('ssl');

my $store_base = Apache::Test::vars('t_logs') . '/store/tokens';
my $count_file = "$store_base.count";

sub disk_and_purged {
    my $s = oas_status()->{store} || {};
    return ($s->{disk_entries} // -1, $s->{purged} // 0);
}

for (1 .. 5) { cc_token('m2m', scope => 'read') }
my ($before) = disk_and_purged();
ok $before >= 5, "the store holds records on disk ($before)";

my $mark = error_log_mark();
ok stop_start(), 'stop and start: the server is back';
my $line = wait_for_log(qr/OAS09403: token store \Q$store_base\E: /, $mark) // '';
like $line, qr/took the count of records on disk kept at the last clean stop/,
     'after a clean stop the start took the kept count (no record read)';
ok !-e $count_file, "... and $count_file is gone once the server answers (a crash from "
   . 'now on leaves no count)';
my ($after, $purged) = disk_and_purged();
# the parent's first purge runs at start: what it dropped (expired tokens of earlier
# test files) was in the kept count, and is counted as purged
ok t_cmp($after + $purged, $before, "the disk entries are those before the stop ($after "
         . "+ $purged purged since start, before $before)");
ok t_cmp(cc_token('m2m')->{status}, 200, 'tokens are issued');

($before) = disk_and_purged();
$mark = error_log_mark();
ok kill9_all_and_start(), 'kill -9 of every process and start: the server is back';
$line = wait_for_log(qr/OAS09403: token store \Q$store_base\E: /, $mark) // '';
like $line, qr/read every record on disk to count them/,
     'after kill -9 no count was kept: the start read every record';
($after) = disk_and_purged();
ok $after <= $before && $after >= 6, "the disk entries are counted ($after, before $before; "
   . 'expired ones dropped by the start)';
ok t_cmp(cc_token('m2m')->{status}, 200, 'tokens are issued');
