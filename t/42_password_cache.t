# OAuthASPasswordCache (issue 18): a password the authn providers granted is
# remembered in the process for the configured seconds; t/conf/pwcache.conf.in.
# The grants that must come from the cache go over ONE keep-alive connection, so
# the child that cached the password answers them (the cache is per process); the
# test checks that the connection stayed the same. (httpd closes a connection after
# a 400, so the refusals come after them.)
#   - granted, then the user file rewritten with another bcrypt hash: within the TTL
#     (4 s) the old password still works where it was cached (/pwcache/token), a
#     wrong one is 400 invalid_grant;
#   - the old password where it is not cached: 400 at once in a Location without the
#     cache (/pwcache/nocache) and in another Location with it (/pwcache/other: the
#     Location is part of the cache's context);
#   - after the TTL: the old password 400 in /pwcache/token, the new one 200.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use OAS::TokenTest;
use File::Path qw(make_path);
use HTTP::Request ();
use IO::Socket::SSL ();
use LWP::UserAgent ();
use MIME::Base64 qw(encode_base64);
use JSON::PP ();
use Time::HiRes qw(time sleep);

plan tests => 13, need_module('ssl'), need_module('oauth_as');

my $USER  = 'cachey';
my $DIR   = Apache::Test::vars('t_logs') . '/pwcache';
my $USERS = "$DIR/users";
make_path($DIR);

# the user file, with a fresh bcrypt hash of $pw
sub set_password {
    my ($pw) = @_;
    my $line = `htpasswd -nbB -C 4 $USER '$pw'`;
    die "htpasswd: $?" if $? || $line !~ /^\Q$USER\E:\$2y\$/;
    $line =~ s/\s+\z//;
    open my $fh, '>', "$USERS.new" or die "$USERS.new: $!";
    print $fh "$line\n";
    close $fh or die "$USERS.new: $!";
    rename "$USERS.new", $USERS or die "$USERS: $!";
}

my $ua = LWP::UserAgent->new(keep_alive => 1, timeout => 30, max_redirect => 0,
                             ssl_opts => { verify_hostname => 0,
                                           SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE() });
my %ports;                              # the local ports of the connections used

sub grant {
    my ($path, $pw) = @_;
    my $req = HTTP::Request->new(POST => base_url() . $path);
    $req->content(form_encode([grant_type => 'password', username => $USER, password => $pw]));
    $req->header('Content-Type' => 'application/x-www-form-urlencoded');
    $req->header(Authorization => 'Basic ' . encode_base64('webapp:' . secret_of('webapp'), ''));
    my $res = $ua->request($req);
    $ports{$_->sockport}++ for $ua->conn_cache->get_connections;
    return { status => $res->code, headers => $res->headers, body => $res->content,
             json => eval { JSON::PP->new->decode($res->content) } };
}

sub granted {
    my ($res, $name) = @_;
    my $ok = ok($res->{status} == 200 && ref $res->{json} eq 'HASH'
                && ($res->{json}{access_token} // '') ne '', $name);
    diag("status $res->{status}: $res->{body}") unless $ok;
    return $ok;
}

set_password('first-pass');
my $t0 = time;                          # the entry expires at int(request time) + 4
granted(grant('/pwcache/token', 'first-pass'), 'cached Location: password granted');
granted(grant('/pwcache/nocache', 'first-pass'), 'uncached Location: password granted');
my @first = keys %ports;

set_password('second-pass');
granted(grant('/pwcache/token', 'first-pass'),
        'within the TTL the old password still works where it was cached');
granted(grant('/pwcache/nocache', 'second-pass'), 'the new password works where uncached');
is_deeply([sort keys %ports], [sort @first],
          'these four went over one keep-alive connection (one child)')
    or diag('local ports: ' . join(' ', sort keys %ports));
my $late = time - int($t0);
ok($late < 4, sprintf('... %.1fs after the TTL began (< 4)', $late));

# httpd closes a connection after a 400: the refusals below may reach any child,
# and must be refusals in every one
is_oauth_error(grant('/pwcache/token', 'wrong-pass'), 400, 'invalid_grant',
               'a wrong password is refused (failures are never cached)');
is_oauth_error(grant('/pwcache/nocache', 'first-pass'), 400, 'invalid_grant',
               'without OAuthASPasswordCache the changed password takes effect at once');
is_oauth_error(grant('/pwcache/other', 'first-pass'), 400, 'invalid_grant',
               'another caching Location (another context) never takes the cached grant');

sleep 0.2 while time < $t0 + 5.2;       # past the TTL of 4 s
is_oauth_error(grant('/pwcache/token', 'first-pass'), 400, 'invalid_grant',
               'after the TTL the old password is refused');
granted(grant('/pwcache/token', 'second-pass'), 'after the TTL the new password works');
is_oauth_error(grant('/pwcache/token', 'first-pass'), 400, 'invalid_grant',
               'the new password being cached does not bring the old one back');
granted(grant('/pwcache/other', 'second-pass'), 'the new password works in the other Location');
