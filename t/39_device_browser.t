# The device verification page (oauth-as-device, RFC 8628 §3.3) in a real browser:
# headless Debian Chromium driven by playwright-core (t/browser/device.js), as
# t/21_browser.t does for the approval page.  A device (this file) starts two grants
# at the vhost oas_device (t/conf/device.conf.in); alice opens the first one's
# verification_uri_complete, finds the code filled in, continues to the approval page
# (screenshots: t/logs/device-code-page.png, t/logs/device-approval-page.png, copied
# to build/test-logs/MPM/ by tools/run-tests), and approves; she types the second
# code by hand and denies it with the keyboard only.  This file then polls the token
# endpoint as the device.  Event MPM only; a missing prerequisite is a failure.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use JSON::PP ();
use File::Spec ();
use File::Temp ();
use FindBin ();

plan tests => 35, need_module('ssl'), need_module('oauth_as'), need_apache_mpm('event');

my $DP    = Apache::Test::vars('oas_device_port');
my $GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
my $dir   = File::Spec->rel2abs("$FindBin::Bin/browser");
my $logs  = Apache::Test::vars('t_logs');
my ($shot1, $shot2) = ("$logs/device-code-page.png", "$logs/device-approval-page.png");

sub have { my ($cmd) = @_; system("command -v $cmd >/dev/null 2>&1") == 0 }
sub poll {
    my ($dc) = @_;
    return post_form('/oauth/token', { grant_type => $GRANT, client_id => 'tv',
                                       device_code => $dc }, port => $DP);
}

ok(-x '/usr/bin/chromium', '/usr/bin/chromium is there');
ok(have('node') && have('npm'), 'node and npm are there');
unless (-d "$dir/node_modules/playwright-core") {
    my $out = `cd '$dir' && timeout 300 npm ci --no-audit --no-fund --loglevel=error 2>&1`;
    diag "npm ci: $out" if $?;
}
ok(-f "$dir/node_modules/playwright-core/package.json", 'playwright-core installed in t/browser');

my $d1 = post_form('/oauth/device_authorization', { client_id => 'tv', scope => 'read write' },
                   port => $DP)->{json} || {};
my $d2 = post_form('/oauth/device_authorization', { client_id => 'tv', scope => 'read' },
                   port => $DP)->{json} || {};
ok($d1->{verification_uri_complete} && $d2->{user_code}, 'two device grants started');
my $typed = lc join '', split /-/, $d2->{user_code} // '';

unlink $shot1, $shot2;
my $xdg = File::Temp::tempdir('oas-xdg-XXXXXX', TMPDIR => 1, CLEANUP => 1);
local $ENV{XDG_CONFIG_HOME} = "$xdg/config";
local $ENV{XDG_CACHE_HOME}  = "$xdg/cache";
my $json = `timeout 180 node '$dir/device.js' '$d1->{verification_uri_complete}' '$typed' '$shot1' '$shot2' 2>'$logs/device-browser-stderr.txt'`;
my $rc = $? >> 8;
my $r = eval { JSON::PP->new->decode((grep { /^\{/ } split /\n/, $json // '')[-1] // '') } || {};
ok($rc == 0 && !$r->{error}, 'device.js ran the browser through both scenarios')
    or diag "exit $rc: " . ($r->{error} // $json // '') . ' at ' . ($r->{errorUrl} // '-');
diag 'browser: ' . ($r->{browser} // '?');

# --- 1. the code form, prefilled ------------------------------------------------------
my $c = $r->{codePage} || {};
is($c->{status}, 200, 'code page: 200 after Basic login');
ok(-s $shot1, "screenshot kept: $shot1");
is($c->{lang}, 'en', 'html lang');
is($c->{codeInput}, $d1->{user_code}, 'the input labelled Code holds the user code');
like($c->{text}, qr/alice/, 'names the signed-in user');
is_deeply($c->{buttons}, ['Continue'], 'one button: Continue');
like(join(' ', @{ $c->{footer} || [] }), qr/Device sign-in <help> & support/,
     'the OAuthASApprovalPage footer, shown as text');
is($c->{xfo}, 'DENY', 'X-Frame-Options DENY');
like($c->{csp} // '', qr/frame-ancestors 'none'/, "CSP frame-ancestors 'none'");
like($c->{aria} // '', qr/textbox "Code"/, 'accessibility tree: a textbox named Code');

# --- 2. the approval page -------------------------------------------------------------------
my $a = $r->{approvalPage} || {};
is($a->{status}, 200, 'approval page: 200');
ok(-s $shot2, "screenshot kept: $shot2");
like(($a->{h1} || [])->[0] // '', qr/Living-room TV/, 'the heading names the client');
is(scalar @{ $a->{listItems} || [] }, 2, 'one item per requested scope');
like(($a->{listItems} || [])->[0] // '', qr/^read\b.*Read your data/, 'read: Read your data');
like($a->{text}, qr/the device that shows the code \Q$d1->{user_code}\E gets this access/,
     'says where the access goes, with the code to compare');
is_deeply($a->{buttons}, ['Approve', 'Deny'], 'Approve and Deny');
is($a->{focused}, 'approve', 'Approve has the focus');
is($a->{xfo}, 'DENY', 'X-Frame-Options DENY');

my $ap = $r->{approved} || {};
is($ap->{status}, 200, 'Approve: 200');
like($ap->{text}, qr/You approved/, 'the page confirms');
my $t = poll($d1->{device_code} // 'x');
is($t->{status}, 200, 'the device polls and gets its tokens');
is(($t->{json} || {})->{scope}, 'read write', 'scope read write');

# --- 3. typed by hand, denied with the keyboard ------------------------------------------------
my $e = $r->{emptyForm} || {};
is($e->{codeInput}, '', 'the bare verification_uri: an empty code field');
is($e->{focused}, 'user_code', 'which has the focus');
my $ta = $r->{typedApproval} || {};
is($ta->{status}, 200, "'$typed' typed, Enter: the approval page");
is(scalar @{ $ta->{listItems} || [] }, 1, 'for the second grant (scope read)');
is($r->{focusAfterTab}, 'deny', 'Tab moves to Deny');
like(($r->{denied} || {})->{text} // '', qr/You denied/, 'Enter on Deny: denied');
$t = poll($d2->{device_code} // 'x');
is(($t->{json} || {})->{error}, 'access_denied', 'the device learns access_denied');
