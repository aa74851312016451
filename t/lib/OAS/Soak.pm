package OAS::Soak;
# The load driver of t/70_soak.t (issue 5 item 4): forked workers, each on one
# keep-alive TLS connection, mixing every grant, refresh (rotation, replay),
# introspection, revocation and protected-resource requests, with a ledger of every
# token it was given.  And the figures of the server: RSS and open files of each
# httpd child, the store's entries and sizes.
#
#   my $w = OAS::Soak::Worker->start(%opt)   fork one worker; %opt: port, rate
#                                            (requests/s, 0 = as fast as it goes),
#                                            live_cap (live grants kept: above it the
#                                            oldest is revoked), check_max (revoked
#                                            tokens the final check visits at most), seed
#   $w->run($seconds)                        the mix for that long (returns at once)
#   $w->wait_report                          -> its report (hash) after run or check
#   $w->check                                the final check of the ledger (returns)
#   $w->finish                               let it exit, reap it
#   OAS::Soak::proc_figures(@pids)           -> {pid => {rss, anon, file, shmem, fds,
#                                                sockets, name}} from /proc
#   OAS::Soak::served_by_child($http_port)  -> {pid => requests served} (mod_status)
#   OAS::Soak::apr_shm_path($file)          -> /dev/shm/ShM.... APR made for that name
#   OAS::Soak::merge_reports(@reports)       -> one report (counts added up)
#   OAS::Soak::expected_entries($report)     -> [min, max] entries the soak's store file
#                                               must hold for that ledger
#
# A worker's report: {requests, by_kind => {kind => {status => n}}, s5xx,
# unexpected, errors => [first few], reconnects, ledger => {...}, check => {...}}.
use strict;
use warnings;

use IO::Socket::SSL ();
use IO::Socket::INET ();
use IO::Select ();
use MIME::Base64 qw(encode_base64 encode_base64url);
use Digest::SHA qw(sha256);
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(time sleep);

my $JSON = JSON::PP->new->utf8->canonical;

# ---- one keep-alive HTTPS connection ----------------------------------------------

package OAS::Soak::Conn;

sub new {
    my ($class, %o) = @_;
    return bless { port => $o{port}, timeout => $o{timeout} || 60, sock => undef,
                   connects => 0, used => 0 }, $class;
}

sub close {
    my ($c) = @_;
    if ($c->{sock}) { $c->{sock}->close(SSL_fast_shutdown => 1); $c->{sock} = undef }
}

sub _connect {
    my ($c) = @_;
    $c->{sock} = IO::Socket::SSL->new(
        PeerHost => '127.0.0.1', PeerPort => $c->{port}, Timeout => $c->{timeout},
        SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE(), SSL_hostname => 'localhost')
        or die "connect to port $c->{port}: " . IO::Socket::SSL::errstr() . "\n";
    $c->{connects}++;
    $c->{used} = 0;
}

sub _read_more {
    my ($c, $bufref, $end) = @_;
    my $s = $c->{sock};
    unless ($s->pending) {
        my $left = $end - Time::HiRes::time();
        return -1 if $left <= 0;
        return -1 unless IO::Select->new($s)->can_read($left);
    }
    my $n = sysread($s, my $chunk, 65536);
    return 0 unless $n;
    $$bufref .= $chunk;
    return $n;
}

# request($method, $path, headers => [k => v], body => '...') ->
#   {status, headers => {lc => v}, body, json}; status 0 and body = why on a transport
#   failure (the connection is dropped then)
sub request {
    my ($c, $method, $path, %o) = @_;
    my $fresh = !$c->{sock};
    eval { $c->_connect if $fresh; 1 } or return { status => 0, body => $@, headers => {} };
    my $body = $o{body} // '';
    my $req = "$method $path HTTP/1.1\r\nHost: localhost:$c->{port}\r\n";
    my @h = @{ $o{headers} || [] };
    while (@h) { my ($k, $v) = splice @h, 0, 2; $req .= "$k: $v\r\n" }
    $req .= "Content-Length: " . length($body) . "\r\n" if length $body || $method eq 'POST';
    $req .= "\r\n$body";
    local $SIG{PIPE} = 'IGNORE';
    my $off = 0;
    while ($off < length $req) {
        my $n = syswrite($c->{sock}, $req, length($req) - $off, $off);
        unless ($n) { $c->close; return { status => 0, body => "write: $!", headers => {} } }
        $off += $n;
    }
    my $end = Time::HiRes::time() + $c->{timeout};
    my $buf = '';
    my $hend;
    while (($hend = index $buf, "\r\n\r\n") < 0) {
        my $n = $c->_read_more(\$buf, $end);
        if ($n <= 0) {
            $c->close;
            return { status => 0, headers => {},
                     body => ($n < 0 ? 'timeout' : 'connection closed')
                             . " before a response (request $c->{used} on it)" };
        }
    }
    my $head = substr $buf, 0, $hend;
    $buf = substr $buf, $hend + 4;
    my ($status) = $head =~ m{^HTTP/\d\.\d (\d{3})};
    my %hd;
    for my $line (split /\r\n/, $head) {
        my ($k, $v) = split /:\s*/, $line, 2;
        next unless defined $v;
        $hd{lc $k} = exists $hd{lc $k} ? "$hd{lc $k}, $v" : $v;
    }
    my $out = '';
    if (($hd{'transfer-encoding'} || '') =~ /chunked/i) {
        while (1) {
            my $le;
            while (($le = index $buf, "\r\n") < 0) {
                if ($c->_read_more(\$buf, $end) <= 0) { $c->close; last }
            }
            last if $le < 0;
            my ($hex) = substr($buf, 0, $le) =~ /^([0-9a-fA-F]+)/;
            my $n = hex($hex // 0);
            while (length $buf < $le + 2 + $n + 2) {
                if ($c->_read_more(\$buf, $end) <= 0) { $c->close; last }
            }
            $out .= substr $buf, $le + 2, $n;
            $buf = substr $buf, $le + 2 + $n + 2;
            last if $n == 0;
        }
    }
    elsif (defined $hd{'content-length'}) {
        my $len = $hd{'content-length'};
        while (length $buf < $len) {
            if ($c->_read_more(\$buf, $end) <= 0) { $c->close; last }
        }
        $out = substr $buf, 0, $len;
    }
    elsif ($method ne 'HEAD' && $status !~ /^(?:1|204|304)/) {
        1 while $c->{sock} && $c->_read_more(\$buf, $end) > 0;
        $out = $buf;
        $c->close;
    }
    $c->{used}++;
    $c->close if ($hd{connection} || '') =~ /close/i;
    my $json;
    $json = eval { $JSON->decode($out) } if $out =~ /^\s*\{/;
    return { status => $status + 0, headers => \%hd, body => $out, json => $json };
}

# one GET over plain HTTP on a connection of its own -> the body ('' on failure)
sub request_plain {
    my ($c, $path) = @_;
    my $s = IO::Socket::INET->new(PeerHost => '127.0.0.1', PeerPort => $c->{port},
                                  Timeout => 10) or return '';
    print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n\r\n";
    local $/;
    my $all = <$s> // '';
    CORE::close $s;
    return $all;
}

# ---- a worker -----------------------------------------------------------------------

package OAS::Soak::Worker;

use MIME::Base64 qw(encode_base64 encode_base64url);
use Digest::SHA qw(sha256);
use Time::HiRes qw(time sleep);

use constant SECRETS => { m2m => 'm2m-secret', webapp => 'webapp-secret',
                          shortlived => 'short-secret', rs => 'rs-secret' };
use constant USERS => [[alice => 'wonderland'], [bob => 'builder']];

# weights of the mix (per pick of an action)
my @MIX = (
    [cc          => 10], [password  => 6], [code       => 4], [refresh => 9],
    [replay      => 1],  [introspect => 14], [introspect_revoked => 3],
    [revoke      => 4],  [bearer    => 30], [bearer_revoked => 3],
    [shortlived  => 1],  [expired   => 1],
);
my $MIX_TOTAL = 0;
$MIX_TOTAL += $_->[1] for @MIX;

sub start {
    my ($class, %o) = @_;
    pipe(my $cmd_r, my $cmd_w) or die "pipe: $!";
    pipe(my $res_r, my $res_w) or die "pipe: $!";
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        close $cmd_w; close $res_r;
        my $w = bless { %o, cmd => $cmd_r, res => $res_w }, $class;
        my $ok = eval { $w->_serve; 1 };
        unless ($ok) {
            my $err = $@;
            syswrite $res_w, $JSON->encode({ died => "$err" }) . "\n";
        }
        POSIX::_exit(0);
    }
    close $cmd_r; close $res_w;
    $cmd_w->autoflush(1);
    return bless { pid => $pid, cmd => $cmd_w, res => $res_r }, $class;
}

sub run   { my ($w, $secs) = @_; print { $w->{cmd} } "run $secs\n" }
sub check { my ($w) = @_; print { $w->{cmd} } "check\n" }

sub wait_report {
    my ($w, $timeout) = @_;
    my $line = '';
    my $end = time + ($timeout || 3600);
    my $sel = IO::Select->new($w->{res});
    while ($line !~ /\n/ && time < $end) {
        last unless $sel->can_read($end - time);
        my $n = sysread $w->{res}, my $buf, 1 << 20;
        last unless $n;
        $line .= $buf;
    }
    return { died => "worker $w->{pid}: no report" } unless $line =~ /\n/;
    return $JSON->decode($line);
}

sub finish {
    my ($w) = @_;
    close $w->{cmd};
    my $end = time + 10;
    while (time < $end) {
        return if waitpid($w->{pid}, POSIX::WNOHANG()) != 0;
        sleep 0.1;
    }
    kill 'KILL', $w->{pid};
    waitpid $w->{pid}, 0;
}

# --- in the child ---

sub _serve {
    my ($w) = @_;
    srand($w->{seed} // ($$ ^ int(time * 1000)));
    $w->{conn} = OAS::Soak::Conn->new(port => $w->{port});
    $w->{live} = [];           # grants: {client, public, user, scope, ats => [], rt,
                               #          rleft, rotations, used_rt, family}
    $w->{revoked} = [];        # [token, is_access]
    $w->{short} = [];          # [token, issued at]
    $w->{st} = { requests => 0, by_kind => {}, s5xx => 0, unexpected => 0, errors => [],
                 lost => 0, l => { cc => 0, family => 0, revoked_families => 0,
                                   revoked_cc => 0, rotations => 0, short => 0,
                                   replays => 0, codes => 0 } };
    my $fh = $w->{cmd};
    while (defined(my $line = <$fh>)) {
        if ($line =~ /^run (\d+(?:\.\d+)?)/) {
            $w->_mix($1);
            $w->{conn}->close;     # the measurements see no connection of ours
            $w->_report;
        }
        elsif ($line =~ /^check/) {
            $w->_final_check;
            $w->{conn}->close;
            $w->_report;
        }
    }
}

sub _report {
    my ($w) = @_;
    my $st = $w->{st};
    my %l = %{ $st->{l} };
    # the ledger's figures: what the store file must hold for it
    my ($ats, $rts, $rot) = (0, 0, 0);
    for my $g (@{ $w->{live} }) {
        $ats += @{ $g->{ats} };
        $rts++ if $g->{rt};
        $rot += $g->{rotations} if $g->{family};
    }
    $l{live_grants} = scalar @{ $w->{live} };
    $l{live_access} = $ats;
    $l{live_refresh} = $rts;
    $l{live_rotations} = $rot;
    $l{revoked_tokens} = scalar @{ $w->{revoked} };
    $l{short_pending} = scalar @{ $w->{short} };
    my %rep = (%$st, ledger => \%l, reconnects => $w->{conn}{connects});
    syswrite $w->{res}, $JSON->encode(\%rep) . "\n";
}

sub _count {
    my ($w, $kind, $r) = @_;
    my $st = $w->{st};
    $st->{requests}++;
    $st->{by_kind}{$kind}{ $r->{status} }++;
    $st->{s5xx}++ if $r->{status} >= 500;
    $w->_pace;
}

sub _pace {
    my ($w) = @_;
    return unless $w->{rate};
    $w->{t0} //= time;
    $w->{n}++;
    my $due = $w->{t0} + $w->{n} / $w->{rate};
    my $now = time;
    if ($due > $now) { sleep $due - $now }
    elsif ($now - $due > 2) { $w->{t0} = $now; $w->{n} = 0 }   # no catching up in bursts
}

sub _bad {
    my ($w, $kind, $r, $why) = @_;
    my $st = $w->{st};
    $st->{unexpected}++;
    if (@{ $st->{errors} } < 20) {
        my $b = substr($r->{body} // '', 0, 300);
        $b =~ s/\s+/ /g;
        push @{ $st->{errors} }, "$kind: HTTP $r->{status}: $why; body: $b";
    }
    return 0;
}

sub _req {
    my ($w, $kind, $method, $path, %o) = @_;
    my @h;
    push @h, Authorization => 'Basic ' . encode_base64("$o{auth}[0]:$o{auth}[1]", '')
        if $o{auth};
    push @h, Authorization => "Bearer $o{bearer}" if $o{bearer};
    my $body;
    if ($o{form}) {
        $body = OAS::Soak::form(@{ $o{form} });
        push @h, 'Content-Type' => 'application/x-www-form-urlencoded';
    }
    my $r = $w->{conn}->request($method, $path, headers => \@h,
                                (defined $body ? (body => $body) : ()));
    $w->_count($kind, $r);
    return $r;
}

sub _token_req {
    my ($w, $kind, $client, @form) = @_;
    my %a = $client->{public} ? () : (auth => [$client->{client}, SECRETS->{ $client->{client} }]);
    push @form, client_id => $client->{client} if $client->{public};
    return $w->_req($kind, 'POST', '/oauth/token', form => \@form, %a);
}

sub _token_ok {
    my ($w, $kind, $r, $want_rt) = @_;
    my $j = $r->{json} || {};
    return $w->_bad($kind, $r, 'want 200') unless $r->{status} == 200;
    return $w->_bad($kind, $r, 'no access_token')
        unless defined $j->{access_token} && ($j->{token_type} // '') eq 'Bearer';
    return $w->_bad($kind, $r, $want_rt ? 'no refresh_token' : 'an unexpected refresh_token')
        if !!$want_rt != !!defined $j->{refresh_token};
    return 1;
}

sub _pick { my ($a) = @_; return @$a ? $a->[int rand @$a] : undef }

sub _mix {
    my ($w, $secs) = @_;
    my $end = time + $secs;
    while (time < $end) {
        if (@{ $w->{live} } > ($w->{live_cap} || 200)) { $w->_act_revoke(1); next }
        my $x = rand $MIX_TOTAL;
        my $act;
        for (@MIX) { $act = $_->[0]; last if ($x -= $_->[1]) < 0 }
        my $m = "_act_$act";
        $w->$m();
    }
}

sub _new_grant {
    my ($w, %g) = @_;
    push @{ $w->{live} }, { ats => [], rotations => 0, %g };
    return $w->{live}[-1];
}

sub _act_cc {
    my ($w) = @_;
    my @scope = rand() < 0.5 ? (scope => 'read') : ();
    my $r = $w->_token_req('cc', { client => 'm2m' }, grant_type => 'client_credentials', @scope);
    return unless $w->_token_ok('cc', $r, 0);
    $w->_new_grant(client => 'm2m', ats => [$r->{json}{access_token}], family => 0);
    $w->{st}{l}{cc}++;
}

sub _act_password {
    my ($w) = @_;
    my $u = _pick(USERS);
    my $r = $w->_token_req('password', { client => 'webapp' }, grant_type => 'password',
                           username => $u->[0], password => $u->[1]);
    return unless $w->_token_ok('password', $r, 1);
    $w->_new_grant(client => 'webapp', user => $u->[0], family => 1, rleft => 2,
                   ats => [$r->{json}{access_token}], rt => $r->{json}{refresh_token});
    $w->{st}{l}{family}++;
}

sub _html_unescape {
    my ($s) = @_;
    $s =~ s/&quot;/"/g; $s =~ s/&#39;/'/g; $s =~ s/&#x27;/'/g; $s =~ s/&lt;/</g;
    $s =~ s/&gt;/>/g;   $s =~ s/&amp;/&/g;
    return $s;
}

# authorization code with PKCE (S256): the public spa, or the confidential webapp
sub _act_code {
    my ($w) = @_;
    my $public = rand() < 0.5;
    my ($client, $cb, $rleft) = $public ? ('spa', 'https://spa.example/cb', -1)
                                        : ('webapp', 'https://app.example/cb', 2);
    my $u = _pick(USERS);
    my $verifier = encode_base64url(join '', map { chr int rand 256 } 1 .. 48);
    my $challenge = encode_base64url(sha256($verifier));
    my $state = 's' . int rand 1e9;
    my $q = OAS::Soak::form(response_type => 'code', client_id => $client,
                            redirect_uri => $cb, state => $state,
                            code_challenge => $challenge, code_challenge_method => 'S256');
    my $page = $w->_req('authorize_page', 'GET', "/oauth/authorize?$q", auth => $u);
    return $w->_bad('authorize_page', $page, 'want 200') unless $page->{status} == 200;
    my ($f) = $page->{body} =~ m{<form method="post"[^>]*>(.*?)</form>}s;
    return $w->_bad('authorize_page', $page, 'no form') unless $f;
    my @fields;
    while ($f =~ m{<input type="hidden" name="([^"]*)" value="([^"]*)"}g) {
        push @fields, _html_unescape($1), _html_unescape($2);
    }
    my $r = $w->_req('authorize_approve', 'POST', '/oauth/authorize',
                     form => [@fields, decision => 'approve'], auth => $u);
    my $loc = $r->{headers}{location} // '';
    my ($code) = $loc =~ /[?&]code=([^&#]+)/;
    my ($st) = $loc =~ /[?&]state=([^&#]+)/;
    return $w->_bad('authorize_approve', $r, "want 303 with a code, Location $loc")
        unless $r->{status} == 303 && $code && ($st // '') eq $state && index($loc, $cb) == 0;
    $code =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
    $w->{st}{l}{codes}++;
    my $t = $w->_token_req('code_token', { client => $client, public => $public },
                           grant_type => 'authorization_code', code => $code,
                           redirect_uri => $cb, code_verifier => $verifier);
    return unless $w->_token_ok('code_token', $t, 1);
    $w->_new_grant(client => $client, public => $public, user => $u->[0], family => 1,
                   rleft => $rleft, ats => [$t->{json}{access_token}],
                   rt => $t->{json}{refresh_token});
    $w->{st}{l}{family}++;
}

sub _act_refresh {
    my ($w) = @_;
    my @can = grep { $_->{rt} } @{ $w->{live} };
    my $g = _pick(\@can) or return $w->_act_password;
    my @scope = $g->{client} eq 'webapp' && rand() < 0.3 ? (scope => 'read') : ();
    my $r = $w->_token_req('refresh', $g, grant_type => 'refresh_token',
                           refresh_token => $g->{rt}, @scope);
    my $left = $g->{rleft} < 0 ? -1 : $g->{rleft} - 1;
    return unless $w->_token_ok('refresh', $r, $left != 0);
    $g->{used_rt} = $g->{rt};
    $g->{rt} = $r->{json}{refresh_token};
    $g->{rleft} = $left;
    $g->{rotations}++;
    push @{ $g->{ats} }, $r->{json}{access_token};
    $w->{st}{l}{rotations}++;
}

# a used refresh token presented again: invalid_grant, and the family is revoked
sub _act_replay {
    my ($w) = @_;
    my @can = grep { $_->{used_rt} } @{ $w->{live} };
    my $g = _pick(\@can) or return $w->_act_refresh;
    my $r = $w->_token_req('replay', $g, grant_type => 'refresh_token',
                           refresh_token => $g->{used_rt});
    my $err = ($r->{json} || {})->{error} // '';
    $w->_bad('replay', $r, 'want 400 invalid_grant')
        unless $r->{status} == 400 && $err eq 'invalid_grant';
    $w->_retire($g);             # revoked by the server whatever we were answered
    $w->{st}{l}{replays}++;
}

sub _retire {
    my ($w, $g) = @_;
    @{ $w->{live} } = grep { $_ != $g } @{ $w->{live} };
    push @{ $w->{revoked} }, map { [$_, 1] } @{ $g->{ats} };
    push @{ $w->{revoked} }, [$g->{rt}, 0] if $g->{rt};
    push @{ $w->{revoked} }, [$g->{used_rt}, 0] if $g->{used_rt};
    $w->{st}{l}{ $g->{family} ? 'revoked_families' : 'revoked_cc' }++;
}

sub _introspect {
    my ($w, $kind, $token) = @_;
    return $w->_req($kind, 'POST', '/oauth/introspect', form => [token => $token],
                    auth => ['rs', SECRETS->{rs}]);
}

sub _act_introspect {
    my ($w) = @_;
    my $g = _pick($w->{live}) or return $w->_act_cc;
    my $tok = $g->{rt} && rand() < 0.3 ? $g->{rt} : _pick($g->{ats});
    my $r = $w->_introspect('introspect', $tok);
    my $j = $r->{json} || {};
    return $w->_bad('introspect', $r, 'want 200 active, client ' . $g->{client} . ' (lost token?)')
        unless $r->{status} == 200 && $j->{active} && ($j->{client_id} // '') eq $g->{client}
            && (!$g->{user} || ($j->{username} // '') eq $g->{user});
}

sub _inactive {
    my ($w, $kind, $r) = @_;
    my $j = $r->{json};
    return $w->_bad($kind, $r, 'want exactly {"active":false}')
        unless $r->{status} == 200 && ref $j eq 'HASH' && keys %$j == 1
            && exists $j->{active} && !$j->{active};
    return 1;
}

sub _act_introspect_revoked {
    my ($w) = @_;
    my $t = _pick($w->{revoked}) or return $w->_act_introspect;
    $w->_inactive('introspect_revoked', $w->_introspect('introspect_revoked', $t->[0]));
}

# revoke a random live grant (or the oldest when the ledger is full): one of its
# tokens, by its client; the whole family goes (SPEC section 6)
sub _act_revoke {
    my ($w, $oldest) = @_;
    my $g = $oldest ? $w->{live}[0] : _pick($w->{live});
    return $w->_act_cc unless $g;
    my @toks = (@{ $g->{ats} }, ($g->{rt} ? $g->{rt} : ()));
    my $tok = _pick(\@toks);
    my @form = (token => $tok);
    push @form, client_id => $g->{client} if $g->{public};
    my $r = $w->_req('revoke', 'POST', '/oauth/revoke', form => \@form,
                     ($g->{public} ? () : (auth => [$g->{client}, SECRETS->{ $g->{client} }])));
    $w->_bad('revoke', $r, 'want 200') unless $r->{status} == 200;
    $w->_retire($g);
}

my @RS_PATHS = ('/tok-api', '/api/read/x.txt', '/rs/valid/ok.txt');

sub _act_bearer {
    my ($w) = @_;
    my $g = _pick($w->{live}) or return $w->_act_cc;
    my $r = $w->_req('bearer', 'GET', _pick(\@RS_PATHS), bearer => _pick($g->{ats}));
    $w->_bad('bearer', $r, 'want 200 (lost token?)') unless $r->{status} == 200;
}

sub _act_bearer_revoked {
    my ($w) = @_;
    my @recent = @{ $w->{revoked} };
    @recent = @recent[-200 .. -1] if @recent > 200;
    my @acc = grep { $_->[1] } @recent;
    my $t = _pick(\@acc) or return $w->_act_bearer;
    my $r = $w->_req('bearer_revoked', 'GET', _pick(\@RS_PATHS), bearer => $t->[0]);
    $w->_bad('bearer_revoked', $r, 'want 401 invalid_token')
        unless $r->{status} == 401 && ($r->{headers}{'www-authenticate'} // '') =~ /invalid_token/;
}

# client shortlived: its tokens live 2 s; they must then be inactive (and purged)
sub _act_shortlived {
    my ($w) = @_;
    my $r = $w->_token_req('shortlived', { client => 'shortlived' },
                           grant_type => 'client_credentials');
    return unless $w->_token_ok('shortlived', $r, 0);
    push @{ $w->{short} }, [$r->{json}{access_token}, time];
    $w->{st}{l}{short}++;
}

sub _act_expired {
    my ($w) = @_;
    my $s = $w->{short}[0];
    return $w->_act_shortlived unless $s && $s->[1] < time - 5;
    shift @{ $w->{short} };
    $w->_inactive('expired', $w->_introspect('expired', $s->[0]));
}

# every token of the ledger once more: live ones active (introspection and a bearer
# request), revoked and expired ones inactive
sub _final_check {
    my ($w) = @_;
    my %c = (live_checked => 0, lost => 0, revoked_checked => 0, resurrected => 0,
             expired_checked => 0);
    my $unexp = $w->{st}{unexpected};
    for my $g (@{ $w->{live} }) {
        for my $at (@{ $g->{ats} }) {
            my $r = $w->_introspect('check_live', $at);
            my $b = $w->_req('check_live', 'GET', '/tok-api', bearer => $at);
            $c{live_checked}++;
            unless ($r->{status} == 200 && ($r->{json} || {})->{active} && $b->{status} == 200) {
                $c{lost}++;
                $w->_bad('check_live', $r->{json} && $r->{json}{active} ? $b : $r,
                         "a live access token is not active (lost)");
            }
        }
        next unless $g->{rt};
        my $r = $w->_introspect('check_live', $g->{rt});
        $c{live_checked}++;
        unless ($r->{status} == 200 && ($r->{json} || {})->{active}) {
            $c{lost}++;
            $w->_bad('check_live', $r, 'a live refresh token is not active (lost)');
        }
    }
    my @revoked = @{ $w->{revoked} };
    my $max = $w->{check_max} || 3000;
    if (@revoked > $max) {          # a random sample: every one was probed while it ran
        for my $i (0 .. $max - 1) {
            my $j = $i + int rand(@revoked - $i);
            @revoked[$i, $j] = @revoked[$j, $i];
        }
        $#revoked = $max - 1;
    }
    $c{revoked_total} = scalar @{ $w->{revoked} };
    for my $t (@revoked) {
        my $u = $w->{st}{unexpected};
        $w->_inactive('check_revoked', $w->_introspect('check_revoked', $t->[0]));
        if ($t->[1]) {
            my $b = $w->_req('check_revoked', 'GET', '/tok-api', bearer => $t->[0]);
            $w->_bad('check_revoked', $b, 'a revoked token is accepted') unless $b->{status} == 401;
        }
        $c{revoked_checked}++;
        $c{resurrected}++ if $w->{st}{unexpected} > $u;
    }
    for my $s (@{ $w->{short} }) {
        sleep 0.2 while $s->[1] > time - 4;
        $w->_inactive('check_expired', $w->_introspect('check_expired', $s->[0]));
        $c{expired_checked}++;
    }
    $w->{short} = [];
    $c{unexpected} = $w->{st}{unexpected} - $unexp;
    $w->{st}{check} = \%c;
}

# ---- the parent's side ----------------------------------------------------------------

package OAS::Soak;

sub _pct {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

sub form {
    my @p = @_;
    my @out;
    while (@p) { my ($k, $v) = splice @p, 0, 2; push @out, _pct($k) . '=' . _pct($v) }
    return join '&', @out;
}

sub _status_kb {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/status" or return;
    my %s;
    while (<$fh>) { $s{$1} = $2 if /^(\w+):\s+(\d+) kB/; $s{Name} = $1 if /^Name:\s+(\S+)/ }
    return \%s;
}

sub proc_figures {
    my (@pids) = @_;
    my %out;
    for my $pid (@pids) {
        my $s = _status_kb($pid) or next;
        opendir my $d, "/proc/$pid/fd" or next;
        my @fds = grep { /^\d+$/ } readdir $d;
        closedir $d;
        my ($sock, $files) = (0, 0);
        for (@fds) {
            my $l = readlink "/proc/$pid/fd/$_" // '';
            if ($l =~ /^socket:/) { $sock++ } else { $files++ }
        }
        $out{$pid} = { name => $s->{Name}, rss => $s->{VmRSS} // 0, anon => $s->{RssAnon} // 0,
                       file => $s->{RssFile} // 0, shmem => $s->{RssShmem} // 0,
                       fds => scalar @fds, sockets => $sock, files => $files };
    }
    return \%out;
}

# requests each httpd child has served, from mod_status' scoreboard (the "Acc" column:
# this connection / this child / this slot, one row a worker slot that has served)
sub served_by_child {
    my ($port) = @_;
    my $r = OAS::Soak::Conn->new(port => $port)->request_plain('/server-status');
    my %n;
    while ($r =~ m{<tr><td><b>\d+-\d+</b></td><td>(\d+)</td><td>\d+/(\d+)/\d+</td>}g) {
        $n{$1} += $2;
    }
    return \%n;
}

sub _mul32 {
    my ($x, $y) = @_;
    return ($x * ($y & 0xffff) + ((($x * ($y >> 16)) & 0xffff) << 16)) & 0xffffffff;
}

# APR's name in /dev/shm for named shared memory made with file name $f
# (make_shm_open_safe_name of APR 1.7: apr_hashfunc_default and Sedgwick's RS hash)
sub apr_shm_path {
    my ($f) = @_;
    my ($h1, $h2, $a) = (0, 0, 63689);
    for my $c (map { ord } split //, $f) {
        $h1 = (_mul32($h1, 33) + $c) & 0xffffffff;
        $h2 = (_mul32($h2, $a) + $c) & 0xffffffff;
        $a = _mul32($a, 378551);
    }
    return sprintf '/dev/shm/ShM.%xH%x', $h1, $h2;
}

sub merge_reports {
    my (@r) = @_;
    my %m = (requests => 0, s5xx => 0, unexpected => 0, errors => [], reconnects => 0,
             by_kind => {}, ledger => {}, check => {});
    for my $r (@r) {
        if ($r->{died}) { push @{ $m{errors} }, "worker died: $r->{died}"; $m{unexpected}++; next }
        $m{$_} += $r->{$_} // 0 for qw(requests s5xx unexpected reconnects);
        push @{ $m{errors} }, @{ $r->{errors} || [] };
        for my $k (keys %{ $r->{by_kind} || {} }) {
            $m{by_kind}{$k}{$_} += $r->{by_kind}{$k}{$_} for keys %{ $r->{by_kind}{$k} };
        }
        $m{ledger}{$_} += $r->{ledger}{$_} for keys %{ $r->{ledger} || {} };
        $m{check}{$_} += $r->{check}{$_} for keys %{ $r->{check} || {} };
    }
    return \%m;
}

# Entries the soak's store file must hold for a ledger (SPEC section 8 and the
# default store): each live access token and refresh token one, each rotation one
# tombstone of the used refresh token (they live as long as the family), each revoked
# family one marker; a revoked client-credentials token nothing.  Short-lived tokens
# expire after 2 s and are purged within the 30-s purge period: those not yet purged
# make the upper bound, and so do the members of revoked families (their tokens and
# their rotations' tombstones): the revocation removes those in the memory tier, and
# those only on disk stay there, refused by the family's marker, until they are read
# or expire.
sub expected_entries {
    my ($rep) = @_;
    my $l = $rep->{ledger};
    my $min = ($l->{live_access} // 0) + ($l->{live_refresh} // 0)
            + ($l->{live_rotations} // 0) + ($l->{revoked_families} // 0);
    my $revoked = ($l->{revoked_tokens} // 0)
                + (($l->{rotations} // 0) - ($l->{live_rotations} // 0));
    return [$min, $min + ($l->{short} // 0) + $revoked];
}

1;
