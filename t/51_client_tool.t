# oauth-as-client (issue 7): the registry commands (add, list, show, set, disable,
# enable, rotate-secret, remove, --help), their refusal of bad input (bad redirect URIs,
# unknown grants and scopes, a corrupt registry: a clear message, exit 1, the file's
# bytes unchanged), -f CONF, 10 concurrent adds; then the round trip against the
# running server: clients added to the registry of <VirtualHost oas_tool>
# (t/conf/tool.conf.in), graceful restart, tokens with the printed secrets; and token
# administration while httpd runs: tokens listed by digest only (no token in the
# output), revoke-tokens of a client and of a user (refused at once at the protected
# page, by introspection and at the token endpoint), purge, and the files alone.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use Digest::SHA qw(sha256_hex);
use File::Temp qw(tempdir);
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(time sleep);
use OAS::Test;

plan tests => 96, need_module('oauth_as'), need_module('ssl');

my $vars     = Apache::Test::vars();
my $TOOL     = "$vars->{top_dir}/build/oauth-as-client";
my $LIVE_REG = "$vars->{serverroot}/conf/tool-clients.json";
my $STORE    = "$vars->{t_logs}/tool/store";
my $PORT     = $vars->{oas_tool_port};
my @SCOPES   = map { (-S => $_) } qw(read write admin);
my $TMP      = tempdir(CLEANUP => 1);

my $live_reg_orig = slurp($LIVE_REG);
END { spew($LIVE_REG, $live_reg_orig) if defined $live_reg_orig }

sub slurp { my ($f) = @_; open my $fh, '<:raw', $f or return undef; local $/; <$fh> }
sub spew  { my ($f, $d) = @_; open my $fh, '>:raw', $f or die "$f: $!"; print $fh $d; close $fh }

# tool(@args) -> {rc, out, err}
sub tool {
    my @args = @_;
    my ($out, $err) = ("$TMP/out.$$", "$TMP/err.$$");
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', $out or POSIX::_exit(126);
        open STDERR, '>', $err or POSIX::_exit(126);
        exec $TOOL, @args or POSIX::_exit(127);
    }
    waitpid $pid, 0;
    my $r = { rc => $? >> 8, out => slurp($out) // '', err => slurp($err) // '' };
    unlink $out, $err;
    return $r;
}

sub secret_of_output { ($_[0]{out} =~ /^client_secret: (\S+)(?:\n|\z)/m)[0] }

sub registry { my ($f) = @_; JSON::PP->new->decode(slurp($f)) }

sub client_of {
    my ($f, $id) = @_;
    my ($c) = grep { $_->{client_id} eq $id } @{ registry($f)->{clients} };
    return $c;
}

# refused(\@args, $file, qr/message/, $name): exit 1, the message, the file unchanged
sub refused {
    my ($args, $file, $re, $name) = @_;
    my $before = slurp($file);
    my $r = tool(@$args);
    my $same = defined $before ? (slurp($file) // '') eq $before : !-e $file;
    my $ok = ok($r->{rc} == 1 && $r->{err} =~ $re && $same && $r->{out} eq '', $name);
    diag("rc $r->{rc}, same file: $same, stderr: $r->{err}stdout: $r->{out}") unless $ok;
}

sub token_at {
    my ($id, $secret, @form) = @_;
    return post_form('/oauth/token', [@form], port => $PORT, auth => [$id, $secret]);
}

sub introspect_at {
    my ($token, $id, $secret) = @_;
    return post_form('/oauth/introspect', [token => $token], port => $PORT,
                     auth => [$id, $secret])->{json} || {};
}

sub page_with { my ($t) = @_; get('/tool/protected.txt', port => $PORT,
                                  headers => [Authorization => "Bearer $t"])->{status} }

# --- help ------------------------------------------------------------------------------
ok -x $TOOL, "the tool is built: $TOOL";
my $h = tool('--help');
ok $h->{rc} == 0 && $h->{out} =~ /Usage: oauth-as-client/, '--help';
my @cmds = qw(add list show set disable enable rotate-secret remove tokens revoke-tokens purge);
my @nohelp = grep { my $r = tool($_, '--help'); !($r->{rc} == 0 && $r->{out} =~ /\Q$_\E/) } @cmds;
ok !@nohelp, 'every command has --help' or diag("no help: @nohelp");
my $u = tool('frobnicate');
ok $u->{rc} == 2 && $u->{err} =~ /unknown command/, 'unknown command: usage error';
$u = tool('-r', "$TMP/x.json", 'list', '--user', 'x');
ok $u->{rc} == 2 && $u->{err} =~ /does not take --user/, 'an option the command does not take';

# --- the registry commands on a file of their own ---------------------------------------
my $REG = "$TMP/clients.json";
my @R = ('-r', $REG, @SCOPES);
my $a = tool(@R, 'add', 'app1', '--grant', 'client_credentials', '--scope', 'read write',
             '--name', 'App One', '--refresh-limit', '0');
my $secret1 = secret_of_output($a);
ok $a->{rc} == 0 && defined $secret1 && $secret1 =~ /^[A-Za-z0-9_-]{43}\z/,
   'add prints a 256-bit base64url secret once' or diag("$a->{out}$a->{err}");
my $c1 = client_of($REG, 'app1');
ok $c1 && $c1->{secret} =~ /^\$2y\$05\$/ && index(slurp($REG), $secret1) < 0,
   'the registry holds its bcrypt hash (cost 5), not the secret';
ok $c1 && $c1->{type} eq 'confidential' && $c1->{name} eq 'App One'
   && "@{$c1->{scopes}}" eq 'read write' && "@{$c1->{grant_types}}" eq 'client_credentials'
   && $c1->{enabled}, 'the fields as given';
ok !-e "$REG.tmp" && !grep({ !/clients\.json(\.lock)?\z/ } glob("$TMP/clients.json*")),
   'no temporary file left';
my $mode = (stat $REG)[2] & 07777;
is sprintf('%o', $mode), '640', 'a new registry is 0640';
chmod 0644, $REG;

$a = tool(@R, 'add', 'spa1', '--type', 'public', '--grant', 'authorization_code',
          '--redirect-uri', 'https://spa.example/cb', '--redirect-uri', 'http://localhost:8080/cb',
          '--scope', 'read', '--refresh-limit', '-1');
ok $a->{rc} == 0 && !defined secret_of_output($a) && !exists client_of($REG, 'spa1')->{secret},
   'a public client: no secret';
is sprintf('%o', (stat $REG)[2] & 07777), '644', 'an update keeps the mode';

my $l = tool(@R, 'list');
ok $l->{rc} == 0 && $l->{out} =~ /^app1\s+confidential\s+yes\s+client_credentials\s+read,write\s+App One(?:\n|\z)/m
   && $l->{out} =~ /^spa1\s+public\s+yes\s+authorization_code/m, 'list' or diag($l->{out});
my $s = tool(@R, 'show', 'app1');
ok $s->{rc} == 0 && $s->{out} =~ /^secret:\s+bcrypt hash(?:\n|\z)/m && $s->{out} =~ /^scopes:\s+read write(?:\n|\z)/m
   && $s->{out} !~ /\$2y\$/ && index($s->{out}, $secret1) < 0, 'show: no secret, no hash'
   or diag($s->{out});

my $st = tool(@R, 'set', 'app1', '--scope', 'admin', '--name', 'App 1',
              '--access-token-lifetime', '120', '--comment', 'ops');
$c1 = client_of($REG, 'app1');
ok $st->{rc} == 0 && "@{$c1->{scopes}}" eq 'admin' && $c1->{name} eq 'App 1'
   && $c1->{access_token_lifetime} == 120 && $c1->{comment} eq 'ops', 'set';
$st = tool(@R, 'set', 'app1', '--access-token-lifetime', 'default', '--scope', '');
$c1 = client_of($REG, 'app1');
ok $st->{rc} == 0 && !exists $c1->{access_token_lifetime} && !@{$c1->{scopes}},
   'set: lifetime back to the default, scopes emptied';
$st = tool(@R, 'set', 'app1');
ok $st->{rc} == 2, 'set without a field: usage error';

ok tool(@R, 'disable', 'app1')->{rc} == 0 && !client_of($REG, 'app1')->{enabled}, 'disable';
ok tool(@R, 'enable', 'app1')->{rc} == 0 && client_of($REG, 'app1')->{enabled}, 'enable';

my $hash_before = client_of($REG, 'app1')->{secret};
my $rot = tool(@R, 'rotate-secret', 'app1', '-C', '6');
my $secret1b = secret_of_output($rot);
ok $rot->{rc} == 0 && $secret1b && $secret1b ne $secret1
   && client_of($REG, 'app1')->{secret} =~ /^\$2y\$06\$/
   && client_of($REG, 'app1')->{secret} ne $hash_before, 'rotate-secret: new secret, new hash';

# --- refusals: exit 1, a message that names the problem, the file's bytes unchanged ------
refused([@R, qw(add bad --grant authorization_code --redirect-uri http://evil.example/cb)],
        $REG, qr/client 'bad': field 'redirect_uris'.*http/, 'plain http redirect URI');
refused([@R, qw(add bad --grant authorization_code --redirect-uri), 'https://a.example/cb#x'],
        $REG, qr/fragment/, 'redirect URI with a fragment');
refused([@R, qw(add bad --grant implicit --redirect-uri javascript:alert(1))],
        $REG, qr/forbidden scheme/, 'javascript: redirect URI');
refused([@R, qw(add bad --grant authorization_code --redirect-uri), 'https://a.example/c b'],
        $REG, qr/redirect_uris/, 'redirect URI with a space (two words: relative)');
refused([@R, qw(add bad --grant authorization_code)],
        $REG, qr/redirect_uris.*needs at least one URI/, 'code grant without a redirect URI');
refused([@R, qw(set spa1 --redirect-uri relative/cb)],
        $REG, qr/client 'spa1'.*absolute/, 'set: a relative redirect URI');
refused([@R, qw(add bad --grant client_credentials --scope nosuchscope)],
        $REG, qr/scope 'nosuchscope' is not defined/, 'an undefined scope');
refused([@R, qw(set app1 --scope), 'read bogus'],
        $REG, qr/'bogus' is not defined/, 'set: an undefined scope');
refused([@R, qw(add bad --grant client_credentials --scope), 'a"b'],
        $REG, qr/not a valid scope name/, 'a malformed scope');
refused([@R, qw(add bad --grant bogus_grant)],
        $REG, qr/unknown grant type 'bogus_grant'/, 'an unknown grant');
refused([@R, qw(add bad --type public --grant client_credentials)],
        $REG, qr/only for confidential clients/, 'client credentials for a public client');
refused([@R, qw(add bad --type secretive --grant client_credentials)],
        $REG, qr/"confidential" or "public"/, 'an unknown client type');
refused([@R, qw(add app1 --grant client_credentials)],
        $REG, qr/exists already/, 'a client id twice');
refused([@R, qw(add bad:id --grant client_credentials)],
        $REG, qr/without spaces or ':'/, 'a client id with a colon');
refused([@R, qw(set nobody --name x)], $REG, qr/no client 'nobody'/, 'set: unknown client');
refused([@R, qw(remove nobody)], $REG, qr/no client 'nobody'/, 'remove: unknown client');
refused([@R, qw(set app1 --refresh-limit -2)], $REG, qr/refresh_limit.*>= -1/,
        'refresh limit below -1');
refused([@R, qw(set app1 --refresh-limit lots)], $REG, qr/not a whole number/,
        'refresh limit not a number');
refused([@R, qw(set app1 --access-token-lifetime -5)], $REG, qr/access_token_lifetime/,
        'negative lifetime');
refused([@R, qw(rotate-secret spa1)], $REG, qr/public/, 'rotate-secret of a public client');
refused([@R, qw(add bad --grant client_credentials -C 3)], $REG, qr/cost/, 'bcrypt cost 3');

my $CORRUPT = "$TMP/corrupt.json";
for my $case (['{"clients": [ {"client_id": "x",', qr/JSON syntax error/, 'truncated JSON'],
              ['{"clients": [{"client_id": "x", "type": "public", "grant_types": '
               . '["implicit"], "redirect_uris": ["https://x/cb"], "secrets": 1}]}',
               qr/unknown field 'secrets'/, 'an unknown field'],
              ['{"clients": [{"client_id": "x", "type": "confidential", "secret": '
               . '"plain", "grant_types": ["client_credentials"]}]}',
               qr/not a plain secret/, 'a plain secret']) {
    spew($CORRUPT, $case->[0]);
    refused(['-r', $CORRUPT, qw(add fine --grant client_credentials)], $CORRUPT,
            qr/registry is invalid.*$case->[1]/s, "corrupt registry ($case->[2]): add refused");
}
refused(['-r', $CORRUPT, 'list'], $CORRUPT, qr/registry is invalid/, 'corrupt registry: list');
refused(['-r', "$TMP/none.json", 'list'], "$TMP/none.json", qr/no such file/, 'no registry');

ok tool(@R, 'remove', 'spa1')->{rc} == 0 && !client_of($REG, 'spa1'), 'remove';

# --- -f: scopes, registry and store from an httpd config file -----------------------------
spew("$TMP/httpd.conf", qq{ServerRoot "$TMP"\nOAuthASScope read "Read" /r\n}
     . qq{<VirtualHost *:443>\n  OAuthASScope write2 'Write "two"' \\\n  /w\n</VirtualHost>\n}
     . qq{OAuthASClients conf-clients.json\nOAuthASStoreFile /nowhere/store\n});
my $f = tool('-f', "$TMP/httpd.conf", 'add', 'fc', '--grant', 'client_credentials',
             '--scope', 'read');
ok $f->{rc} == 0 && client_of("$TMP/conf-clients.json", 'fc'), '-f: OAuthASClients (relative '
   . 'to ServerRoot), OAuthASScope' or diag($f->{err});
refused(['-f', "$TMP/httpd.conf", qw(set fc --scope write)], "$TMP/conf-clients.json",
        qr/'write' is not defined/, '-f: a scope the config does not define');
ok tool('-f', "$TMP/httpd.conf", qw(set fc --scope write2))->{rc} == 0,
   '-f: a scope defined in a section, quoted description, continued line';
refused(['-f', "$TMP/httpd.conf", 'tokens'], "$TMP/conf-clients.json",
        qr/no store at \/nowhere\/store/, '-f: OAuthASStoreFile');

# --- concurrent edits: 10 adds at once --------------------------------------------------
my $CREG = "$TMP/concurrent.json";
my @pids;
for my $i (1 .. 10) {
    my $pid = fork // die;
    if (!$pid) {
        open STDOUT, '>', "$TMP/c$i.out"; open STDERR, '>&', \*STDOUT;
        exec $TOOL, '-r', $CREG, 'add', "c$i", '--grant', 'client_credentials', '-C', '4'
            or POSIX::_exit(127);
    }
    push @pids, $pid;
}
my $fails = 0;
for (@pids) { waitpid $_, 0; $fails++ if $? }
my @ids = sort map { $_->{client_id} } @{ (eval { registry($CREG) } || {clients => []})->{clients} };
ok !$fails && "@ids" eq join(' ', sort map { "c$_" } 1 .. 10),
   '10 concurrent adds: all 10 present' or diag("failed: $fails; ids: @ids");
my @secrets = map { secret_of_output({ out => slurp("$TMP/c$_.out") }) } 1 .. 10;
ok 10 == grep({ defined } @secrets) && tool('-r', $CREG, 'list')->{rc} == 0,
   'each got its secret; the file is a valid registry';

# --- the round trip: the registry of <VirtualHost oas_tool>, graceful restart ------------
my @L = ('-r', $LIVE_REG, @SCOPES);
my $m = tool(@L, qw(add tool-m2m --grant client_credentials --scope), 'read write');
my $m_secret = secret_of_output($m);
my $w = tool(@L, qw(add tool-web --grant password --scope read --refresh-limit -1));
my $w_secret = secret_of_output($w);
my $sh = tool(@L, qw(add tool-short --grant client_credentials --scope read
                     --access-token-lifetime 1));
my $sh_secret = secret_of_output($sh);
ok $m_secret && $w_secret && $sh_secret, 'three clients added to the live registry';
ok graceful_restart(), 'graceful restart';

my $t1 = token_at('tool-m2m', $m_secret, grant_type => 'client_credentials');
ok $t1->{status} == 200 && $t1->{json}{access_token}, 'a token with the printed secret'
    or diag($t1->{body});
my $at1 = $t1->{json}{access_token} // '';
my $at2 = token_at('tool-m2m', $m_secret, grant_type => 'client_credentials',
                   scope => 'read')->{json}{access_token} // '';
is token_at('tool-m2m', 'wrong', grant_type => 'client_credentials')->{status}, 401,
   'a wrong secret is refused';
is page_with($at1), 200, 'the token opens the protected page';
ok introspect_at($at1, 'tool-m2m', $m_secret)->{active}, 'and introspects active';
my $pw = token_at('tool-web', $w_secret, grant_type => 'password', username => 'alice',
                  password => 'wonderland');
my ($at3, $rt3) = @{ $pw->{json} || {} }{qw(access_token refresh_token)};
ok $pw->{status} == 200 && $at3 && $rt3, 'password grant for alice (with a refresh token)'
    or diag($pw->{body});
my $short = token_at('tool-short', $sh_secret, grant_type => 'client_credentials');
# the store's purge count before that token can expire: once expired it may go in any
# sweep (revoke-tokens below scans the store and drops expired entries it meets)
my $purged0 = store_purged();
ok $short->{status} == 200 && ($short->{json}{expires_in} // 0) == 1, 'a token living 1 s';

# --- token administration while httpd runs ------------------------------------------------
my $tk = tool('-s', $STORE, 'tokens');
my @rows = grep { /^[0-9a-f]{64} / } split /\n/, $tk->{out};
ok $tk->{rc} == 0 && $tk->{err} !~ /file alone/ && @rows >= 4,
   'tokens: the live store (attached), one line per token' or diag("$tk->{out}$tk->{err}");
my @all = grep { defined } $at1, $at2, $at3, $rt3, $short->{json}{access_token};
ok !grep({ index($tk->{out} . $tk->{err}, $_) >= 0 } @all), 'no token appears in the output';
ok $tk->{out} =~ /^\Q${\ sha256_hex("at:$at1")}\E access_token\s+tool-m2m\s+-\s+read write\s+\d{4}-/m,
   'a token is listed by its digest (SHA-256 of at: and the token): kind, client, scope, exp';
my $tc = tool('-s', $STORE, 'tokens', '--client', 'tool-m2m');
my @m2m = grep { /^[0-9a-f]{64} / } split /\n/, $tc->{out};
ok @m2m == 2 && !grep({ !/tool-m2m/ } @m2m), 'tokens --client: only that client\'s';
my $tu = tool('-s', $STORE, 'tokens', '--user', 'alice');
ok $tu->{out} =~ /refresh_token\s+tool-web\s+alice/ && $tu->{out} =~ /access_token\s+tool-web\s+alice/
   && $tu->{out} !~ /tool-m2m/, 'tokens --user: alice\'s access and refresh token';

my $rv = tool('-s', $STORE, 'revoke-tokens', '--client', 'tool-m2m');
ok $rv->{rc} == 0 && $rv->{out} =~ /^revoked 2 tokens(?:\n|\z)/m, 'revoke-tokens --client'
    or diag("$rv->{out}$rv->{err}");
is page_with($at1), 401, 'at once: the protected page refuses the token';
is page_with($at2), 401, 'and the other one';
is_deeply introspect_at($at1, 'tool-m2m', $m_secret), { active => JSON::PP::false },
   'introspection: inactive';
is page_with($at3), 200, 'another client\'s token still works';
$rv = tool('-s', $STORE, 'revoke-tokens', '--user', 'alice');
ok $rv->{rc} == 0 && $rv->{out} =~ /^revoked 2 tokens(?:\n|\z)/m, 'revoke-tokens --user'
    or diag("$rv->{out}$rv->{err}");
is page_with($at3), 401, 'alice\'s access token is refused';
my $rf = token_at('tool-web', $w_secret, grant_type => 'refresh_token', refresh_token => $rt3);
ok $rf->{status} == 400 && ($rf->{json}{error} // '') eq 'invalid_grant',
   'and her refresh token' or diag($rf->{body});
ok tool('-s', $STORE, 'revoke-tokens')->{rc} == 2, 'revoke-tokens without a filter: usage error';

# --- a tampered STORE.info (issue 12 item 1) ----------------------------------------------
# The store's directory belongs to httpd's User; the tool runs as root. Whatever that user
# puts in STORE.info, or in its place, must not point the tool at another lock file or
# memory: refused, with the reason, and nothing done.
my $INFO = "$STORE.info";
my $info_orig = slurp($INFO) // '';
sub put_info { my ($text, $mode) = @_; unlink $INFO; spew($INFO, $text); chmod $mode // 0644, $INFO }
sub info_refused {
    my ($re, $name) = @_;
    my $r = tool('-s', $STORE, 'tokens');
    my $ok = ok($r->{rc} == 1 && $r->{err} =~ $re && $r->{out} eq '', $name);
    diag("rc $r->{rc}: $r->{err}$r->{out}") unless $ok;
}
spew("$TMP/oauth-as-store-fake", '');
(my $tampered = $info_orig) =~ s{^lockfile .*$}{lockfile $TMP/oauth-as-store-fake}m;
put_info($tampered);
info_refused(qr/refused: lockfile is not /, 'STORE.info naming another lock file: refused');
($tampered = $info_orig) =~ s{^shm .*$}{shm /etc/passwd.shm}m;
put_info($tampered);
info_refused(qr/refused: shm is not /, 'STORE.info naming other memory: refused');
put_info($info_orig, 0666);
info_refused(qr/refused: not a regular file that only root \(or you\) may write/,
             'STORE.info that others may write: refused');
unlink $INFO;
spew("$TMP/info", $info_orig);
chmod 0644, "$TMP/info";
symlink "$TMP/info", $INFO or die "symlink: $!";
info_refused(qr/refused: not a regular file/, 'a symbolic link in place of STORE.info: refused');
put_info($info_orig);
$tk = tool('-s', $STORE, 'tokens');
ok $tk->{rc} == 0 && $tk->{err} !~ /file alone/, 'httpd\'s own STORE.info again: attached'
    or diag($tk->{err});

# purged entries of this vhost's store, from its status document
sub store_purged { get('/oauth/status', port => $PORT)->{json}{store}{purged} // -1 }
sleep 2.2;                                   # tool-short's token has expired
my $pg = tool('-s', $STORE, 'purge');
my ($purged) = $pg->{out} =~ /^purged (\d+) expired/m;
my $purged1 = store_purged();
# httpd's own purge (every 30 s) or a sweep may come first: then the tool finds nothing left
ok $pg->{rc} == 0 && defined $purged && $purged0 >= 0 && $purged1 >= $purged0 + 1
   && ($purged >= 1 || $purged1 > $purged0),
   'purge: the expired token is purged' or diag("$pg->{out}$pg->{err} $purged0 -> $purged1");
# (whether the 1-s token was still listed earlier depends on the machine's speed)
ok tool('-s', $STORE, 'tokens')->{out} !~ /tool-short/, 'it is gone from the list';

# the status figures in Prometheus' format, through httpd: this vhost's store
my $prom = get('/oauth/status?format=prometheus', port => $PORT);
ok $prom->{status} == 200 && ($prom->{headers}->header('Content-Type') // '') =~ m{^text/plain; version=0\.0\.4}
   && $prom->{body} =~ /^oauth_as_store_disk_capacity 20000(?:\n|\z)/m
   && $prom->{body} =~ /^oauth_as_tokens_issued_total\{grant="client_credentials"} \d+(?:\n|\z)/m,
   'status ?format=prometheus' or diag("$prom->{status} $prom->{body}");
ok !grep({ index($prom->{body}, $_) >= 0 } @all), 'no token in it';

# the files alone (no httpd holds this copy): the same tokens, then a revocation
my $at4 = token_at('tool-m2m', $m_secret, grant_type => 'client_credentials')->{json}{access_token};
system('cp', glob("$STORE.[0-9]*.dir $STORE.[0-9]*.pag"), "$TMP/") == 0 or diag("cp: $?");
my $off = tool('-s', "$TMP/store", 'tokens', '--client', 'tool-m2m');
ok $off->{rc} == 0 && $off->{err} =~ /file alone/
   && $off->{out} =~ /^\Q${\ sha256_hex("at:$at4")}\E /m, 'tokens on the files alone'
   or diag("$off->{out}$off->{err}");
$off = tool('-s', "$TMP/store", 'revoke-tokens', '--client', 'tool-m2m');
ok $off->{rc} == 0 && $off->{out} =~ /revoked 1 token(?:\n|\z)/m
   && tool('-s', "$TMP/store", 'tokens', '--client', 'tool-m2m')->{out} !~ /^[0-9a-f]{64}/m,
   'revoke-tokens on the files alone';
is page_with($at4), 200, 'the copy is not the live store';

# the registry round trip the other way: disable and remove take effect on reload
ok tool(@L, 'disable', 'tool-m2m')->{rc} == 0 && graceful_restart(), 'disable, reload';
is token_at('tool-m2m', $m_secret, grant_type => 'client_credentials')->{status}, 401,
   'a disabled client gets no token';
is page_with($at4), 401, 'and its tokens stop working';
my $nr = tool(@L, 'rotate-secret', 'tool-web');
ok $nr->{rc} == 0 && graceful_restart(), 'rotate-secret, reload';
is token_at('tool-web', $w_secret, grant_type => 'password', username => 'alice',
            password => 'wonderland')->{status}, 401, 'the old secret is refused';
is token_at('tool-web', secret_of_output($nr), grant_type => 'password', username => 'alice',
            password => 'wonderland')->{status}, 200, 'the new one works';
ok tool(@L, 'remove', 'tool-web')->{rc} == 0 && graceful_restart(), 'remove, reload';
is token_at('tool-web', secret_of_output($nr), grant_type => 'password', username => 'alice',
            password => 'wonderland')->{status}, 401, 'a removed client is unknown';
ok error_log_clean(), 'no unexpected error in the log';
