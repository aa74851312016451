package OAS::TokenTest;
# Helpers of the token-endpoint tests (t/10_token.t .. t/14_concurrency.t), on top of
# OAS::Test.  Secrets of t/conf/clients.json are "<client_id>-secret".
#
#   secret_of($id)                          "<id>-secret" (shortlived: short-secret)
#   token_req($form, %opt)                  POST /oauth/token; %opt: client => $id (Basic
#                                           with its secret), plus OAS::Test::request's
#   cc_token($client, %opt)                 client_credentials; %opt: scope, port
#   password_token($client, $user, $pw, %opt)
#   refresh($client, $refresh_token, %opt)  %opt: scope, port
#   introspect($token, %opt)                -> decoded JSON (as rs/rs-secret)
#   oas_status(%opt)                        -> decoded /oauth/status JSON
#   store_counts($status)                   -> {memory => N, disk => N, code => N, ...}
#                                           (without the brute-force limits' failure
#                                           counters, kind auth_failures: a failed
#                                           authentication is meant to change them)
#   get_code(%opt)                          authorize as alice/wonderland for webapp:
#                                           -> the code (undef and diag on failure)
#   redeem_code($code, %opt)                the token request for it (webapp)
#   is_oauth_error($res, $status, $code, $name)   one ok(): status, JSON error, no-store
#   run_together($n, $prepare, $run)        fork $n processes; each calls $prepare->($i)
#                                           (open a connection, say), all wait on one
#                                           pipe, then each calls $run->($i, $prepared)
#                                           at once; -> list of the strings $run returned
#   raw_post($sock, $path, $body, %opt)     one HTTP/1.1 POST on an open socket ->
#                                           {status, json, body}
#   tls_connect(%opt)                       an IO::Socket::SSL to the HTTPS port
use strict;
use warnings;

use Exporter 'import';
use Test::More ();
use MIME::Base64 qw(encode_base64);
use JSON::PP ();
use IO::Socket::SSL ();
use POSIX ();
use Time::HiRes qw(time sleep);
use OAS::Test;

our @EXPORT = qw(secret_of token_req cc_token password_token refresh introspect
                 oas_status store_counts get_code redeem_code is_oauth_error
                 run_together raw_post tls_connect html_unescape);

sub secret_of { my ($id) = @_; $id eq 'shortlived' ? 'short-secret' : "$id-secret" }

sub token_req {
    my ($form, %opt) = @_;
    my $client = delete $opt{client};
    $opt{auth} = [$client, secret_of($client)] if defined $client && !$opt{auth};
    return post_form('/oauth/token', $form, %opt);
}

sub cc_token {
    my ($client, %opt) = @_;
    my $scope = delete $opt{scope};
    return token_req([grant_type => 'client_credentials',
                      (defined $scope ? (scope => $scope) : ())],
                     client => $client, %opt);
}

sub password_token {
    my ($client, $user, $pw, %opt) = @_;
    my $scope = delete $opt{scope};
    return token_req([grant_type => 'password', username => $user, password => $pw,
                      (defined $scope ? (scope => $scope) : ())],
                     client => $client, %opt);
}

sub refresh {
    my ($client, $rt, %opt) = @_;
    my $scope = delete $opt{scope};
    return token_req([grant_type => 'refresh_token', refresh_token => $rt,
                      (defined $scope ? (scope => $scope) : ())],
                     client => $client, %opt);
}

sub introspect {
    my ($token, %opt) = @_;
    my $r = post_form('/oauth/introspect', [token => $token], auth => ['rs', 'rs-secret'],
                      %opt);
    Test::More::diag("introspect: HTTP $r->{status}: $r->{body}") unless $r->{status} == 200;
    return $r->{json} || {};
}

sub oas_status {
    my (%opt) = @_;
    my $r = get('/oauth/status', %opt);
    Test::More::diag("status: HTTP $r->{status}: $r->{body}") unless $r->{status} == 200;
    return $r->{json} || {};
}

sub store_counts {
    my ($st) = @_;
    my $s = $st->{store} || {};
    my $m = $s->{memory_entries} || {};
    my %c = (disk => $s->{disk_entries}, full => $s->{full});
    my $sum = 0;
    for my $k (grep { $_ ne 'auth_failures' } keys %$m) { $c{$k} = $m->{$k}; $sum += $m->{$k} }
    $c{memory} = $sum;
    return \%c;
}

sub html_unescape {
    my ($s) = @_;
    $s =~ s/&quot;/"/g; $s =~ s/&#39;/'/g; $s =~ s/&#x27;/'/g; $s =~ s/&lt;/</g;
    $s =~ s/&gt;/>/g;   $s =~ s/&amp;/&/g;
    return $s;
}

# The authorization code flow up to the code: GET the approval page as alice, POST
# approve with the form's hidden fields.
sub get_code {
    my (%opt) = @_;
    my $user = $opt{user} || ['alice', 'wonderland'];
    my %q = (response_type => 'code', client_id => 'webapp',
             redirect_uri => 'https://app.example/cb', state => 'st' . int(rand 1e9),
             %{ $opt{params} || {} });
    my $page = get('/oauth/authorize?' . form_encode(\%q), auth => $user, %{ $opt{req} || {} });
    unless ($page->{status} == 200) {
        Test::More::diag("authorize GET: HTTP $page->{status}: $page->{body}");
        return undef;
    }
    my ($form) = $page->{body} =~ m{<form method="post"[^>]*>(.*?)</form>}s;
    unless ($form) { Test::More::diag("no form on the approval page"); return undef }
    my @fields;
    while ($form =~ m{<input type="hidden" name="([^"]*)" value="([^"]*)"}g) {
        push @fields, html_unescape($1), html_unescape($2);
    }
    my $r = post_form('/oauth/authorize', [@fields, decision => 'approve'], auth => $user,
                      %{ $opt{req} || {} });
    my $loc = $r->{headers}->header('Location') || '';
    my ($code) = $loc =~ /[?&]code=([^&#]+)/;
    unless ($r->{status} == 303 && $code) {
        Test::More::diag("authorize POST: HTTP $r->{status}, Location $loc: $r->{body}");
        return undef;
    }
    $code =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
    return $code;
}

sub redeem_code {
    my ($code, %opt) = @_;
    return token_req([grant_type => 'authorization_code', code => $code,
                      redirect_uri => 'https://app.example/cb'], client => 'webapp', %opt);
}

# one ok(): HTTP status, a JSON error code, Cache-Control: no-store (and, on 401
# invalid_client, WWW-Authenticate: Basic)
sub is_oauth_error {
    my ($res, $status, $code, $name) = @_;
    my @why;
    push @why, "status $res->{status}, want $status" unless ($res->{status} // 0) == $status;
    my $got = ref $res->{json} eq 'HASH' ? $res->{json}{error} // '(none)' : '(no JSON)';
    push @why, "error $got, want $code" unless $got eq $code;
    my $h = $res->{headers};
    my $hget = sub { ref $h eq 'HASH' ? $h->{lc $_[0]} : $h->header($_[0]) };
    my $cc = $hget->('Cache-Control') // '';
    push @why, "Cache-Control '$cc'" unless $cc =~ /\bno-store\b/;
    if ($status == 401) {
        my $wa = $hget->('WWW-Authenticate') // '';
        push @why, "WWW-Authenticate '$wa'" unless $wa =~ /^Basic\b/i;
    }
    my $ok = Test::More::ok(!@why, $name);
    Test::More::diag(join('; ', @why) . "\nbody: " . ($res->{body} // '')) unless $ok;
    return $ok;
}

sub tls_connect {
    my (%opt) = @_;
    my $s = IO::Socket::SSL->new(PeerHost => '127.0.0.1',
                                 PeerPort => $opt{port} || https_port(),
                                 Timeout => $opt{timeout} || 30,
                                 SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE(),
                                 SSL_hostname => 'localhost');
    die "tls_connect: " . IO::Socket::SSL::errstr() . "\n" unless $s;
    return $s;
}

# One request on an open socket (keep-alive), the response read by Content-Length.
sub raw_post {
    my ($s, $path, $body, %opt) = @_;
    my $auth = $opt{auth}
        ? 'Authorization: Basic ' . encode_base64("$opt{auth}[0]:$opt{auth}[1]", '') . "\r\n"
        : '';
    my $req = "POST $path HTTP/1.1\r\nHost: localhost\r\n$auth"
            . "Content-Type: application/x-www-form-urlencoded\r\n"
            . "Content-Length: " . length($body) . "\r\n\r\n$body";
    my $off = 0;
    while ($off < length $req) {
        my $n = syswrite($s, $req, length($req) - $off, $off);
        return { status => 0, body => "write: $!" } unless $n;
        $off += $n;
    }
    my $buf = '';
    my ($head, $len);
    my $end = time + ($opt{timeout} || 30);
    while (time < $end) {
        if (!defined $head && $buf =~ /\r\n\r\n/) {
            ($head) = $buf =~ /^(.*?\r\n)\r\n/s;
            ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
            $len //= 0;
        }
        last if defined $head && length($buf) >= length($head) + 2 + $len;
        my $n = sysread($s, my $chunk, 65536);
        last unless $n;
        $buf .= $chunk;
    }
    return { status => 0, body => 'no response' } unless defined $head;
    my ($status) = $head =~ m{^HTTP/\d\.\d (\d{3})};
    my $body_out = substr($buf, length($head) + 2, $len);
    my $json = eval { JSON::PP->new->utf8->decode($body_out) };
    return { status => $status, body => $body_out, json => $json, head => $head };
}

# Fork $n processes that start $run at the same moment: each runs $prepare->($i) first
# (a TLS handshake, say), reports ready, and blocks reading the release pipe; the parent
# waits until all are ready and closes the pipe's write end, which wakes them all.
sub run_together {
    my ($n, $prepare, $run, %opt) = @_;
    my $timeout = $opt{timeout} || 60;
    pipe(my $go_r, my $go_w) or die "pipe: $!";
    pipe(my $ready_r, my $ready_w) or die "pipe: $!";
    my (@kids, %out);
    for my $i (0 .. $n - 1) {
        pipe(my $res_r, my $res_w) or die "pipe: $!";
        my $pid = fork;
        die "fork: $!" unless defined $pid;
        if ($pid == 0) {
            close $go_w; close $ready_r; close $res_r;
            my $result = eval {
                local $SIG{ALRM} = sub { die "timeout\n" };
                alarm $timeout;
                my $prep = $prepare ? $prepare->($i) : undef;
                syswrite $ready_w, "r";
                sysread $go_r, my $x, 1;          # EOF when the parent lets go
                my $res = $run->($i, $prep);
                alarm 0;
                $res;
            };
            $result = "died: $@" unless defined $result;
            $result =~ s/\n/ /g;
            syswrite $res_w, $result;
            close $res_w;
            POSIX::_exit(0);
        }
        close $res_w;
        push @kids, [$pid, $res_r];
    }
    close $ready_w; close $go_r;
    my $ready = 0;
    my $end = time + $timeout;
    while ($ready < $n && time < $end) {
        my $got = sysread $ready_r, my $buf, 64;
        last unless $got;
        $ready += $got;
    }
    Test::More::diag("run_together: only $ready of $n ready") if $ready < $n;
    close $go_w;                                  # release
    my @res;
    for my $k (@kids) {
        my ($pid, $fh) = @$k;
        local $/;
        my $txt = <$fh>;
        close $fh;
        waitpid $pid, 0;
        push @res, defined $txt && length $txt ? $txt : 'no result';
    }
    close $ready_r;
    return @res;
}

1;
