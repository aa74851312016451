package OAS::RSTest;
# Helpers of the resource-server tests (t/30_resource.t .. t/34_authlib_metadata.t),
# on top of OAS::Test and OAS::TokenTest (tokens: cc_token, password_token, ...).
#
#   token_of($res)                       the access_token of a token response (diag if none)
#   bearer($path, $token, %opt)          GET (or %opt method => ...) with
#                                        Authorization: Bearer $token; other %opt go to
#                                        OAS::Test::request
#   challenge($res)                      the WWW-Authenticate value ('' if none)
#   challenge_params($value)             {scheme => 'Bearer', realm => .., error => .., ...}
#   introspect_raw($token, %opt)         the whole introspection response (as rs)
#   revoke($client, $token, %opt)        POST /oauth/revoke as $client (Basic)
#   registry_path()                      t/conf/clients.json of this run
#   set_client_enabled($id => 0|1, ...)  rewrite clients.json with those "enabled"
#                                        values, graceful_restart(); the first call
#                                        keeps the original bytes, and restore_registry()
#                                        (called by an END block too, whatever happened)
#                                        puts them back and restarts gracefully again
#   restore_registry()                   see above; true when nothing was left to restore
#                                        or the restore worked
use strict;
use warnings;

use Exporter 'import';
use Test::More ();
use JSON::PP ();
use Apache::Test ();
use OAS::Test;
use OAS::TokenTest;

our @EXPORT = qw(token_of bearer challenge challenge_params introspect_raw revoke
                 registry_path set_client_enabled restore_registry);

sub token_of {
    my ($res) = @_;
    my $t = $res->{json} && $res->{json}{access_token};
    Test::More::diag("no access token: HTTP $res->{status}: $res->{body}") unless $t;
    return $t;
}

sub bearer {
    my ($path, $token, %opt) = @_;
    my $method = delete $opt{method} || 'GET';
    my @h = @{ delete $opt{headers} || [] };
    unshift @h, Authorization => "Bearer $token" if defined $token;
    return request($method, $path, %opt, headers => \@h);
}

sub challenge {
    my ($res) = @_;
    my @v = $res->{headers}->header('WWW-Authenticate');
    return join ', ', grep { defined } @v;
}

# 'Bearer realm="api", error="x", scope="a b"' -> {scheme => 'Bearer', realm => 'api', ...}
sub challenge_params {
    my ($v) = @_;
    my %p;
    return \%p unless defined $v && $v =~ s/^\s*(\S+)\s*//;
    $p{scheme} = $1;
    while ($v =~ s/^\s*([\w-]+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?//) {
        my ($k, $q, $t) = ($1, $2, $3);
        if (defined $q) { $q =~ s/\\(.)/$1/g; $p{$k} = $q } else { $p{$k} = $t }
    }
    return \%p;
}

sub introspect_raw {
    my ($token, %opt) = @_;
    my $hint = delete $opt{hint};
    return post_form('/oauth/introspect',
                     [token => $token, (defined $hint ? (token_type_hint => $hint) : ())],
                     auth => ['rs', 'rs-secret'], %opt);
}

sub revoke {
    my ($client, $token, %opt) = @_;
    my $hint = delete $opt{hint};
    return post_form('/oauth/revoke',
                     [token => $token, (defined $hint ? (token_type_hint => $hint) : ())],
                     auth => [$client, secret_of($client)], %opt);
}

# --- the client registry -----------------------------------------------------------

my $ORIGINAL;      # the bytes of clients.json before the first change

sub registry_path { Apache::Test::vars('t_conf') . '/clients.json' }

sub _slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or die "$path: $!\n";
    local $/;
    my $s = <$fh>;
    close $fh;
    return $s;
}

sub _spew {
    my ($path, $bytes) = @_;
    my $tmp = "$path.tmp.$$";
    open my $fh, '>:raw', $tmp or die "$tmp: $!\n";
    print $fh $bytes;
    close $fh or die "$tmp: $!\n";
    rename $tmp, $path or die "rename $tmp: $!\n";
}

sub set_client_enabled {
    my (%want) = @_;
    my $path = registry_path();
    my $text = _slurp($path);
    $ORIGINAL = $text unless defined $ORIGINAL;
    my $reg = JSON::PP->new->decode($text);
    for my $c (@{ $reg->{clients} }) {
        next unless exists $want{ $c->{client_id} };
        $c->{enabled} = $want{ $c->{client_id} } ? JSON::PP::true() : JSON::PP::false();
    }
    _spew($path, JSON::PP->new->pretty->canonical->encode($reg));
    return graceful_restart();
}

sub restore_registry {
    return 1 unless defined $ORIGINAL;
    _spew(registry_path(), $ORIGINAL);
    undef $ORIGINAL;
    return graceful_restart();
}

END {
    if (defined $ORIGINAL) {
        my $rc = $?;
        restore_registry()
            or print STDERR "# OAS::RSTest: could not restore t/conf/clients.json\n";
        $? = $rc;
    }
}

1;
