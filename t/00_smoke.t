# The test server starts with mod_oauth_as and mod_ssl loaded, and answers on the
# plain HTTP port and on the HTTPS port (<VirtualHost oas_https>).  Needs nothing
# from the module but that it loads.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;

plan tests => 8, need_module('ssl'), need_module('oauth_as');

my $r = get('/index.html', scheme => 'http');
ok t_cmp($r->{status}, 200, 'plain HTTP port answers');

$r = get('/index.html');
ok t_cmp($r->{status}, 200, 'HTTPS port answers');
ok $r->{response}->header('Client-SSL-Cipher'), 'and it is TLS'
    or diag $r->{response}->as_string;
ok t_cmp(base_url('https'), qr{^https://localhost:\d+$}, 'base_url(https)');

$r = raw_request("GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
ok t_cmp($r->{status}, 200, 'raw bytes over TLS');

$r = raw_request("GET /index.html HTTP/1.0\r\n\r\n", scheme => 'http');
ok t_cmp($r->{status}, 200, 'raw bytes over plain HTTP');

SKIP: {
    skip 'mod_info not loaded', 1 unless have_module('info');
    $r = get('/server-info?mod_oauth_as.c', scheme => 'http');
    ok t_cmp($r->{body}, qr/mod_oauth_as\.c/, 'mod_oauth_as is loaded (server-info)');
}

my $pid = server_pid();
ok $pid && kill(0, $pid), "parent pid $pid from the pid file";
