# The authorization endpoint in a real browser: headless Debian Chromium driven by
# playwright-core (t/browser/flow.js; package.json pins the version).  alice logs in
# with Basic auth, sees the approval page (screenshot: t/logs/approval-page.png, which
# tools/run-tests copies to build/test-logs/MPM/), approves with the mouse, denies,
# approves with the keyboard only, gets an implicit-grant token in the fragment, and
# the page refuses to be framed.  The browser lands on t/htdocs/cb.html, served by the
# vhost oas_browser (t/conf/authorize.conf.in) under the registered redirect URIs
# (Chromium's --host-rules maps app.example and spa.example to it).  This file then
# redeems the codes at the token endpoint.
#
# Runs in the event MPM only (the browser sees the same endpoint in every MPM; one
# Chromium run is enough).  Needs /usr/bin/chromium (tools/install-deps) and node/npm;
# `npm ci` in t/browser when node_modules is missing (the npm registry is reachable
# in CI).  A missing prerequisite is a failure, not a skip.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use JSON::PP ();
use File::Spec ();
use File::Temp ();
use FindBin ();
use Time::HiRes qw(time);

plan tests => 63, need_module('ssl'), need_module('oauth_as'), need_apache_mpm('event');

my $T0     = time;
my $ISS    = 'https://localhost:' . https_port();
my $APP_CB = 'https://app.example/cb';
my $dir    = File::Spec->rel2abs("$FindBin::Bin/browser");
my $logs   = Apache::Test::vars('t_logs');
my $shot   = "$logs/approval-page.png";
my $state  = 'br' . int(rand 1e9);

sub check {
    my ($got, $exp, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    return ref $exp eq 'Regexp' ? like($got, $exp, $name) : is($got, $exp, $name);
}

sub have { my ($cmd) = @_; system("command -v $cmd >/dev/null 2>&1") == 0 }

# --- prerequisites: chromium, node, playwright-core ---------------------------------
ok(-x '/usr/bin/chromium', '/usr/bin/chromium is there (tools/install-deps: chromium)');
ok(have('node') && have('npm'), 'node and npm are there');
unless (-d "$dir/node_modules/playwright-core") {
    # HOME of the test user; npm's cache goes there.  The lock file pins the version.
    my $out = `cd '$dir' && timeout 300 npm ci --no-audit --no-fund --loglevel=error 2>&1`;
    diag "npm ci: $out" if $?;
}
ok(-f "$dir/node_modules/playwright-core/package.json", 'playwright-core installed in t/browser')
    or diag 'cannot drive the browser: the tests below fail';

# --- the browser run ----------------------------------------------------------------
unlink $shot;
my $cb_port = Apache::Test::vars('oas_browser_port');
my $xdg = File::Temp::tempdir('oas-xdg-XXXXXX', TMPDIR => 1, CLEANUP => 1);
local $ENV{XDG_CONFIG_HOME} = "$xdg/config";
local $ENV{XDG_CACHE_HOME}  = "$xdg/cache";
my $cmd = "timeout 180 node '$dir/flow.js' '$ISS' '$cb_port' '$shot' '$state' 2>'$logs/browser-stderr.txt'";
my $json = `$cmd`;
my $rc = $? >> 8;
my $r = eval { JSON::PP->new->decode((grep { /^\{/ } split /\n/, $json // '')[-1] // '') } || {};
ok($rc == 0 && !$r->{error}, 'flow.js ran the browser through every scenario')
    or diag "exit $rc: " . ($r->{error} // $json // '') . ' at ' . ($r->{errorUrl} // '-')
           . "\n" . do { open my $fh, '<', "$logs/browser-stderr.txt"; local $/; <$fh> // '' };
diag "browser: " . ($r->{browser} // '?');

# --- 1. the approval page, as the browser saw it -------------------------------------
my $p = $r->{approvePage} || {};
check($p->{status}, 200, 'approval page: 200 after Basic login');
ok(-s $shot, "screenshot kept: $shot");
check($p->{lang}, 'en', 'html lang');
ok(length($p->{title} // ''), 'a title: ' . ($p->{title} // ''));
check(scalar @{ $p->{h1} || [] }, 1, 'one level-1 heading');
check(($p->{h1} || [])->[0], qr/Web App/, 'the heading names the client');
check($p->{text}, qr/alice/, 'names the signed-in user');
my @li = @{ $p->{listItems} || [] };
check(scalar @li, 2, 'one list item per requested scope');
check($li[0], qr/^read\b.*Read your data/, 'read: Read your data');
check($li[1], qr/^write\b.*Change your data/, 'write: Change your data');
check($p->{approveButtons}, 1, 'a button whose accessible name is Approve');
check($p->{denyButtons}, 1, 'a button whose accessible name is Deny');
check($p->{approveValue}, 'approve', 'Approve sends decision=approve');
check($p->{denyValue}, 'deny', 'Deny sends decision=deny');
check($p->{forms}, 1, 'one form');
check(lc($p->{formMethod} // ''), 'post', 'method post');
check($p->{visibleInputs}, 0, 'no visible input without a label (only the two buttons)');
check(($p->{focused} || {})->{value}, 'approve', 'the Approve button has the focus on load');
check($p->{aria}, qr/heading "[^"]*Web App[^"]*" \[level=1\]/, 'accessibility tree: the heading');
check($p->{aria}, qr/- list\b[^\n]*permissions/, 'accessibility tree: the scope list, labelled');
check($p->{aria}, qr/- listitem\b/, 'accessibility tree: its items');
check($p->{aria}, qr/button "Approve"/, 'accessibility tree: button Approve');
check($p->{aria}, qr/button "Deny"/, 'accessibility tree: button Deny');
check($p->{textWithoutCss}, qr/Web App.*read.*Read your data.*write.*Change your data/s,
      'readable without CSS: the same text in the same order');
check($p->{xfo}, 'DENY', 'X-Frame-Options DENY');
check($p->{csp}, qr/frame-ancestors 'none'/, "CSP frame-ancestors 'none'");

# --- 2. approve with the mouse: the code arrives on the callback page; exchange it ----
my $a = $r->{approve} || {};
check($a->{url}, qr{^\Q$APP_CB\E\?}, 'Approve: the browser landed on the callback page');
check($a->{title}, 'OAuth callback', 'served by the test httpd (t/htdocs/cb.html)');
check($a->{code}, qr/^[A-Za-z0-9_-]{22,}$/, 'the page shows the code');
check($a->{state}, "$state-approve", 'state');
check($a->{iss}, $ISS, 'iss');
check($a->{error}, '', 'no error');
my $t = post_form('/oauth/token', { grant_type => 'authorization_code', code => $a->{code} // 'x',
                                    redirect_uri => $APP_CB },
                  auth => [webapp => 'webapp-secret']);
check($t->{status}, 200, 'the code from the browser is exchanged at the token endpoint');
check($t->{json} && $t->{json}{scope}, 'read write', 'scope read write');
ok($t->{json} && $t->{json}{refresh_token}, 'with a refresh token');
my $i = post_form('/oauth/introspect', { token => ($t->{json} || {})->{access_token} // 'x' },
                  auth => [rs => 'rs-secret']);
check($i->{json} && $i->{json}{username}, 'alice', 'the token is alice\'s');
my $again = post_form('/oauth/token', { grant_type => 'authorization_code',
                                        code => $a->{code} // 'x', redirect_uri => $APP_CB },
                      auth => [webapp => 'webapp-secret']);
check($again->{json} && $again->{json}{error}, 'invalid_grant', 'and only once');

# --- 3. deny ---------------------------------------------------------------------------
my $d = $r->{deny} || {};
check($d->{url}, qr{^\Q$APP_CB\E\?}, 'Deny: the browser landed on the callback page');
check($d->{error}, 'access_denied', 'error=access_denied');
ok(length($d->{error_description} // ''), 'error_description');
check($d->{state}, "$state-deny", 'state');
check($d->{iss}, $ISS, 'iss');
check($d->{code}, '', 'no code');

# --- 4. the keyboard only ------------------------------------------------------------
my $k = $r->{keys} || {};
check($k->{initial}, 'approve', 'keyboard: Approve focused on load');
check($k->{afterTab}, 'deny', 'keyboard: Tab moves to Deny');
check($k->{afterShiftTab}, 'approve', 'keyboard: Shift+Tab back to Approve');
my $kb = $r->{keyboard} || {};
check($kb->{state}, "$state-keyboard", 'keyboard: Enter submitted, back on the callback page');
check($kb->{code}, qr/^[A-Za-z0-9_-]{22,}$/, 'keyboard: with a code');
$t = post_form('/oauth/token', { grant_type => 'authorization_code', code => $kb->{code} // 'x',
                                 redirect_uri => $APP_CB },
               auth => [webapp => 'webapp-secret']);
check($t->{status}, 200, 'keyboard: the code is exchanged');
check($t->{json} && $t->{json}{scope}, 'read', 'keyboard: scope read');

# --- 5. implicit: the token in the fragment --------------------------------------------
my $im = $r->{implicit} || {};
check($im->{url}, qr{^https://spa\.example/cb#}, 'implicit: landed with a fragment');
check($im->{search}, '', 'implicit: no query');
ok(length($im->{access_token} // ''), 'implicit: the page read the access token from the fragment');
check($im->{state}, "$state-implicit", 'implicit: state');
unlike($im->{hash} // '', qr/refresh_token/, 'implicit: no refresh token');
$i = post_form('/oauth/introspect', { token => $im->{access_token} || 'x' },
               auth => [rs => 'rs-secret']);
ok($i->{json} && $i->{json}{active} && ($i->{json}{client_id} // '') eq 'spa',
   'implicit: the token is active, for spa');

# --- 6. framing --------------------------------------------------------------------------
my $f = $r->{framing} || {};
check($f->{controlLoaded}, 'loaded', 'framing, the control: a page without X-Frame-Options renders in a frame');
ok($f->{frameFound}, 'framing: the iframe was made');
diag 'the framed page became: ' . ($f->{framedUrl} // '-');
check($f->{framedButtons}, 0, 'framing: the approval page does not render inside a frame')
    or diag "frame URL: " . ($f->{framedUrl} // '-');

diag sprintf 't/21_browser.t took %.1f s', time - $T0;
