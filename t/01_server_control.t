# The server-control helpers of OAS::Test work with mod_oauth_as loaded, in this MPM:
# graceful restart (USR1), restart (HUP), stop/start, and SIGKILL of every httpd
# process followed by a start.  Each time the server must come back on both ports.
# (The module's own behaviour across these events is tested by the store tests.)
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;

plan tests => 14, need_module('oauth_as');

my $pid = server_pid();
ok $pid, "server pid $pid";

my $gen = generation();
ok graceful_restart(), 'graceful restart (SIGUSR1)';
ok t_cmp(server_pid(), $pid, 'same parent after graceful restart');
ok generation() > $gen, 'new generation after graceful restart';

$gen = generation();
ok restart(), 'restart (SIGHUP)';
ok t_cmp(server_pid(), $pid, 'same parent after restart');
ok generation() > $gen, 'new generation after restart';

ok stop_start(), 'stop and start';
my $pid2 = server_pid();
ok $pid2 && $pid2 != $pid, "new parent $pid2 after stop/start";

my @kids = child_pids();
ok scalar(@kids), 'the parent has children: ' . join(' ', @kids);
ok kill9_all_and_start(), 'SIGKILL to every httpd process, then start';
my $pid3 = server_pid();
ok $pid3 && $pid3 != $pid2, "new parent $pid3 after kill -9";
ok !(grep { kill 0, $_ } $pid2, @kids), 'no process of the killed server is left';

my $r = get('/index.html');
ok t_cmp($r->{status}, 200, 'HTTPS answers after all that');
