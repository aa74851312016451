package OAS::Hostile;
# The case runner of the hostile-input catalogue (t/60_hostile.t), on top of
# OAS::Test, OAS::TokenTest and OAS::RSTest.
#
#   attack($name, %spec)         declare one case (run later by run_attacks):
#       prepare => sub { ... }   -> $ctx, made before the "before" snapshot (tokens,
#                                   codes, forms the attack needs)
#       send    => sub { ($ctx) } -> $res, the attack itself
#       check   => sub { ($res, $ctx) } -> list of problems with the answer ('' none)
#       expect  => sub { ($before, $after, $ctx) } -> problems with the stored state;
#                                   default: unchanged (see state_problems)
#       post    => sub { ($ctx) } -> problems, checked after the "after" snapshot
#                                   (the code still redeems, the token is still active)
#     Each case is two tests: "$name: answer" and "$name: stored state".  Every
#     answer is also checked for a Location to an unregistered URI and for a 5xx.
#   attacks()                    number of declared cases
#   run_attacks()                run them all (a case whose window saw the store's
#                                background purge is run again, up to 3 times)
#   snapshot()                   {store counts, codes_issued, issued per grant, ...}
#   state_problems($b, $a, %delta)   what differs beyond %delta (key => +-N)
#   sentinel($name, $token)      a token issued before the attacks: it must stay
#                                active through every case (checked after each)
#   json_error($res, $status, $error)      problems of an OAuth JSON error answer
#   error_page($res, $status)              an HTML error page, no Location
#   redirect_error($res, $base, $error, %o)  an error redirect (o: fragment, state)
#   bearer_refused($res, $status, $error)  the resource server's refusal
#   loc($res)                    {base, query => {}, fragment => {}, raw} or undef
#   authz_get($pairs, %o)        GET /oauth/authorize?pairs (o: user, headers, port)
#   approval_form(%o)            the hidden fields of a valid request's form (o:
#                                params => [pairs], user) -> \@pairs
#   decide($fields, $decision, %o)   POST the form (o: user)
#   pkce_pair()                  (verifier, S256 challenge)
#   code_for(%o)                 a code: o: client (webapp|spa|multi), params
#   active($token)               1 / 0 by introspection
use strict;
use warnings;

use Exporter 'import';
use Test::More ();
use Digest::SHA qw(sha256);
use MIME::Base64 qw(encode_base64url);
use MIME::Base64 ();
use Time::HiRes qw(time);
use LWP::UserAgent ();
use IO::Socket::SSL ();
use JSON::PP ();
use OAS::Test;
use OAS::TokenTest;

our @EXPORT = qw(attack attacks run_attacks snapshot state_problems sentinel
                 json_error error_page redirect_error bearer_refused loc authz_get
                 approval_form decide pkce_pair code_for active
                 $ALICE $BOB %CB);

our $ALICE = [alice => 'wonderland'];
our $BOB   = [bob   => 'builder'];
our %CB    = (webapp => 'https://app.example/cb', spa => 'https://spa.example/cb',
              multi => 'https://a.example/cb', multi_b => 'https://b.example/cb?x=1');

my @CASES;
my @SENTINELS;

sub attack  { my ($name, %spec) = @_; push @CASES, [$name, \%spec]; return }
sub attacks { scalar @CASES }
sub sentinel { push @SENTINELS, [@_]; return }

# --- state -------------------------------------------------------------------------

# one keep-alive connection for the many status and introspection requests
my $KA;
sub _ka {
    $KA ||= LWP::UserAgent->new(keep_alive => 2, timeout => 30, max_redirect => 0,
                                ssl_opts => { verify_hostname => 0,
                                              SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE() });
    return $KA;
}
sub _ka_json {
    my ($res) = @_;
    Test::More::diag('HTTP ' . $res->code . ': ' . $res->content) unless $res->is_success;
    return eval { JSON::PP->new->utf8->decode($res->content) } || {};
}

sub snapshot {
    my $st = _ka_json(_ka()->get(base_url() . '/oauth/status'));
    my $c = store_counts($st);
    my %s = map { ("store.$_" => $c->{$_} // 0) } grep { $_ ne 'memory' } keys %$c;
    my $k = $st->{counters} || {};
    $s{codes_issued} = $k->{codes_issued} // 0;
    my $iss = $k->{tokens_issued} || {};
    $s{"issued.$_"} = $iss->{$_} for keys %$iss;
    $s{_purged} = ($st->{store} || {})->{purged} // 0;
    $s{_purge_runs} = $k->{purge_runs} // 0;
    $s{_bearer_ok} = $k->{bearer_accepted} // $k->{bearer_ok} // 0;
    return \%s;
}

sub purged_between { my ($b, $a) = @_; $b->{_purged} != $a->{_purged} || $b->{_purge_runs} != $a->{_purge_runs} }

sub state_problems {
    my ($b, $a, %delta) = @_;
    my @p;
    my %keys = map { $_ => 1 } grep { !/^_/ } keys %$b, keys %$a;
    for my $k (sort keys %keys) {
        my $want = ($b->{$k} // 0) + ($delta{$k} // 0);
        push @p, "$k: " . ($b->{$k} // 0) . " -> " . ($a->{$k} // 0) . " (want $want)"
            unless ($a->{$k} // 0) == $want;
    }
    return @p;
}

sub active {
    my ($t) = @_;
    my $res = _ka()->post(base_url() . '/oauth/introspect', { token => $t // 'x' },
                          Authorization => 'Basic ' . MIME::Base64::encode_base64('rs:rs-secret', ''));
    return _ka_json($res)->{active} ? 1 : 0;
}

sub sentinel_problems {
    return map { "sentinel $_->[0] is no longer active" } grep { !active($_->[1]) } @SENTINELS;
}

# --- answers -----------------------------------------------------------------------

sub _h { my ($res, $name) = @_; my $h = $res->{headers}; ref $h eq 'HASH' ? $h->{lc $name} : $h->header($name) }

sub json_error {
    my ($res, $status, $error) = @_;
    my @p;
    push @p, "status $res->{status}, want $status" unless ($res->{status} // 0) == $status;
    my $got = ref $res->{json} eq 'HASH' ? $res->{json}{error} // '(none)' : '(no JSON)';
    push @p, "error $got, want $error" unless $got eq $error;
    push @p, 'no Cache-Control: no-store' unless (_h($res, 'Cache-Control') // '') =~ /no-store/;
    push @p, 'no WWW-Authenticate: Basic'
        if $status == 401 && (_h($res, 'WWW-Authenticate') // '') !~ /^Basic\b/i;
    return @p;
}

sub error_page {
    my ($res, $status) = @_;
    my @p;
    push @p, "status $res->{status}, want $status" unless ($res->{status} // 0) == $status;
    push @p, 'a Location header: ' . _h($res, 'Location') if defined _h($res, 'Location');
    push @p, 'not an HTML page' unless (_h($res, 'Content-Type') // '') =~ m{^text/html};
    return @p;
}

sub loc {
    my ($res) = @_;
    my $l = _h($res, 'Location');
    return undef unless defined $l;
    my ($base, $frag) = split /#/, $l, 2;
    my ($path, $query) = split /\?/, $base, 2;
    my $dec = sub {
        my %h;
        for my $kv (split /&/, $_[0] // '') {
            my ($k, $v) = split /=/, $kv, 2;
            for ($k, $v) { $_ //= ''; tr/+/ /; s/%([0-9A-Fa-f]{2})/chr hex $1/ge }
            $h{$k} = $v;
        }
        return \%h;
    };
    return { raw => $l, base => $path, query => $dec->($query), fragment => $dec->($frag) };
}

sub redirect_error {
    my ($res, $base, $error, %o) = @_;
    my @p;
    my $l = loc($res) or return ("status $res->{status}, no Location");
    push @p, "status $res->{status}" unless $res->{status} == ($o{status} || 302);
    (my $want_base = $base) =~ s/\?.*//;
    push @p, "to $l->{base}, want $want_base" unless $l->{base} eq $want_base;
    my $where = $o{fragment} ? $l->{fragment} : $l->{query};
    push @p, "error " . ($where->{error} // '(none)') . ", want $error"
        unless ($where->{error} // '') eq $error;
    push @p, "iss " . ($where->{iss} // '(none)') . ', want ' . base_url()
        unless ($where->{iss} // '') eq base_url();
    push @p, "state not echoed" if defined $o{state} && ($where->{state} // "\0") ne $o{state};
    return @p;
}

sub bearer_refused {
    my ($res, $status, $error) = @_;
    my @p;
    push @p, "status $res->{status}, want $status" unless ($res->{status} // 0) == $status;
    my $wa = join ', ', grep { defined } $res->{headers}->header('WWW-Authenticate');
    if (defined $error) {
        push @p, "WWW-Authenticate '$wa', want error=\"$error\""
            unless $wa =~ /^Bearer\b.*\berror="\Q$error\E"/;
    }
    elsif ($status == 401) {
        push @p, "WWW-Authenticate '$wa', want a bare Bearer challenge"
            unless $wa =~ /^Bearer\b/ && $wa !~ /error=/;
    }
    return @p;
}

# a Location, if any, must start with a registered redirect URI
sub location_problems {
    my ($res) = @_;
    my $l = _h($res, 'Location');
    return () unless defined $l;
    for my $cb (values %CB) {
        return () if index($l, $cb) == 0
            && (length $l == length $cb || substr($l, length $cb, 1) =~ /[?#&]/);
    }
    return ("redirect to an unregistered URI: $l");
}

# --- the authorization endpoint ---------------------------------------------------

sub authz_get {
    my ($pairs, %o) = @_;
    my $qs = ref $pairs ? form_encode($pairs) : $pairs;
    return get("/oauth/authorize?$qs", auth => (exists $o{user} ? $o{user} : $ALICE),
               ($o{headers} ? (headers => $o{headers}) : ()),
               ($o{port} ? (port => $o{port}) : ()));
}

sub approval_form {
    my (%o) = @_;
    my $page = authz_get($o{params} || [response_type => 'code', client_id => 'webapp',
                                         redirect_uri => $CB{webapp}, state => 'h-state'],
                         user => $o{user} || $ALICE);
    my ($form) = ($page->{body} // '') =~ m{<form method="post"[^>]*>(.*?)</form>}s;
    my @f;
    while (($form // '') =~ m{<input type="hidden" name="([^"]*)" value="([^"]*)"}g) {
        push @f, html_unescape($1), html_unescape($2);
    }
    Test::More::diag("approval_form: HTTP $page->{status}, no form") unless @f;
    return \@f;
}

sub decide {
    my ($fields, $decision, %o) = @_;
    return post_form('/oauth/authorize', [@$fields, (defined $decision ? (decision => $decision) : ())],
                     auth => $o{user} || $ALICE);
}

sub pkce_pair {
    my $v = encode_base64url(join '', map { chr int rand 256 } 1 .. 48);
    return ($v, encode_base64url(sha256($v)));
}

sub code_for {
    my (%o) = @_;
    my $client = $o{client} || 'webapp';
    my $cb = $CB{$client};
    return get_code(params => { client_id => $client, redirect_uri => $cb,
                                %{ $o{params} || {} } });
}

# --- the runner -------------------------------------------------------------------

sub run_attacks {
    for my $c (@CASES) {
        my ($name, $s) = @$c;
        my ($res, $ctx, @answer, @state);
        for my $try (1 .. 3) {
            $ctx = $s->{prepare} ? $s->{prepare}->() : {};
            my $before = snapshot();
            $res = $s->{send}->($ctx);
            my $after = snapshot();
            @answer = grep { defined && length } $s->{check}->($res, $ctx);
            push @answer, location_problems($res);
            push @answer, "a server error: $res->{status}"
                if defined $res->{status} && $res->{status} >= 500;
            @state = $s->{expect} ? $s->{expect}->($before, $after, $ctx)
                                  : state_problems($before, $after);
            last unless @state && purged_between($before, $after);
        }
        @state = grep { defined && length } @state,
            ($s->{post} ? $s->{post}->($ctx) : ()), sentinel_problems();
        Test::More::ok(!@answer, "$name: answer")
            or Test::More::diag(join("\n", @answer) . "\nHTTP " . ($res->{status} // '-')
                                . ': ' . substr($res->{body} // $res->{raw} // '', 0, 300));
        Test::More::ok(!@state, "$name: stored state")
            or Test::More::diag(join "\n", @state);
    }
}

1;
