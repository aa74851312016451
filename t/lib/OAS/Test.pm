package OAS::Test;
# Helpers for the Apache::Test suite of mod_oauth_as.
#
#   use Apache::Test qw(-withtestmore);
#   use Apache::TestUtil;
#   use OAS::Test;                      # exports everything below
#
# Ports: the main server is plain HTTP (http_port()); <VirtualHost oas_https> of
# t/conf/extra.conf.in is HTTPS with a self-signed certificate (https_port()).
# Requests go to 'localhost'; certificates are not verified.
#
# HTTP
#   request($method, $path, %opt)          -> $res
#   post_form($path, $form, %opt)          -> $res      (request('POST', ...))
#   get($path, %opt)                       -> $res
#       %opt: scheme  => 'https' (default) | 'http'
#             port    => N                  (another vhost's port)
#             auth    => [$user, $pass]     (HTTP Basic, built here, unencoded pieces)
#             headers => [Name => value, ...] or {Name => value}  (raw, in order)
#             form    => {k => v} | [k => v, k => v, ...] (keeps order and repeats)
#                        | 'raw body string'               -- for request()
#             body    => 'raw body'         (no Content-Type added)
#             content_type => '...'         (default for form: application/x-www-form-urlencoded)
#             timeout => seconds            (default 30)
#       $res = { status, headers (HTTP::Headers), json (decoded or undef), body,
#                response (HTTP::Response) }
#   raw_request($bytes, %opt)              -> $res      raw bytes over TLS (or plain)
#       %opt: scheme => 'https' (default) | 'http', port => N, timeout => 10
#       $res = { status (undef if none), headers {lc name => value}, body, json, raw }
#   base_url($scheme), http_port(), https_port(), form_encode($form)
#
# The error-log rule (see OAS::ErrorLog)
#   expect_error_log(qr/.../, ...)         allow these [error]-or-worse lines for this run
#   error_log_clean()                      -> true when no unexpected line (list context:
#                                             the offending lines)
#   error_log_mark()  / error_log_since($mark)   text logged after a point
#   wait_for_log(qr/.../, $mark, $timeout) -> the matching line, or undef
#
# The server (all time-bounded; true on success; on failure they diag() why)
#   server_pid(), child_pids([$pid]), generation()
#   wait_for_server($timeout)              answers on the plain and the HTTPS port
#   graceful_restart(%opt)                 SIGUSR1, wait for a new generation
#   restart(%opt)                          SIGHUP,  wait for a new generation
#   stop_server(%opt), start_server(%opt), stop_start(%opt)
#   kill9_all_and_start(%opt)              SIGKILL the parent and every child, start again
#       %opt: timeout => seconds (default 60)
use strict;
use warnings;

use Exporter 'import';
use Apache::Test ();
use Apache::TestConfig ();
use HTTP::Request ();
use HTTP::Headers ();
use LWP::UserAgent ();
use IO::Socket::INET ();
use IO::Socket::SSL ();
use MIME::Base64 qw(encode_base64);
use JSON::PP ();
use Time::HiRes qw(time sleep);
use POSIX ();
use OAS::ErrorLog ();

our @EXPORT = qw(
    request post_form get raw_request base_url http_port https_port form_encode ua
    expect_error_log error_log_clean error_log_path error_log_mark error_log_since
    wait_for_log
    server_pid child_pids generation wait_for_server graceful_restart restart
    stop_server start_server stop_start kill9_all_and_start
);

my $CFG;
sub cfg { $CFG ||= Apache::Test::config() }
sub vars { cfg()->{vars} }

sub host       { vars()->{servername} || 'localhost' }
sub http_port  { vars()->{port} }
sub https_port { vars()->{oas_https_port} or die "no oas_https vhost in t/conf/extra.conf.in\n" }

sub base_url {
    my ($scheme, $port) = @_;
    $scheme ||= 'https';
    $port   ||= $scheme eq 'https' ? https_port() : http_port();
    return "$scheme://" . host() . ":$port";
}

sub _diag { Test::More->can('diag') ? Test::More::diag(@_) : print STDERR "# @_\n" }

# --- HTTP ----------------------------------------------------------------------------

sub ua {
    my (%opt) = @_;
    return LWP::UserAgent->new(
        timeout      => $opt{timeout} || 30,
        max_redirect => 0,              # authorization redirects are the answer, not a hop
        keep_alive   => 0,
        agent        => 'oas-test/1',
        ssl_opts     => { verify_hostname => 0,
                          SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE() },
    );
}

sub _pct {
    my ($s) = @_;
    $s = '' unless defined $s;
    utf8::encode($s) if utf8::is_utf8($s);
    $s =~ s/([^A-Za-z0-9\-._~ ])/sprintf('%%%02X', ord $1)/ge;
    $s =~ tr/ /+/;
    return $s;
}

# form_encode({a => 1}) / form_encode([a => 1, a => 2]) / form_encode('raw') -> string
sub form_encode {
    my ($form) = @_;
    return $form unless ref $form;
    my @pairs = ref $form eq 'HASH' ? map { ($_, $form->{$_}) } sort keys %$form : @$form;
    my @out;
    while (@pairs) {
        my ($k, $v) = splice @pairs, 0, 2;
        push @out, _pct($k) . '=' . _pct($v);
    }
    return join '&', @out;
}

sub _decode_json {
    my ($body) = @_;
    return undef unless defined $body && $body =~ /^\s*[\[{]/;
    my $j = eval { JSON::PP->new->utf8->allow_nonref->decode($body) };
    return $j;
}

sub request {
    my ($method, $path, %opt) = @_;
    my $url = base_url($opt{scheme} || 'https', $opt{port}) . $path;
    my $req = HTTP::Request->new($method => $url);
    if (exists $opt{form}) {
        $req->content(form_encode($opt{form}));
        $req->header('Content-Type' =>
                     $opt{content_type} || 'application/x-www-form-urlencoded');
    }
    elsif (exists $opt{body}) {
        $req->content($opt{body});
        $req->header('Content-Type' => $opt{content_type}) if $opt{content_type};
    }
    if (my $a = $opt{auth}) {
        $req->header(Authorization => 'Basic ' . encode_base64("$a->[0]:$a->[1]", ''));
    }
    my $h = $opt{headers} || [];
    my @h = ref $h eq 'HASH' ? %$h : @$h;
    while (@h) {
        my ($k, $v) = splice @h, 0, 2;
        $req->push_header($k => $v);
    }
    $req->header('Content-Length' => length $req->content)
        if length($req->content // '') && !defined $req->header('Content-Length');
    my $res = ua(%opt)->request($req);
    return {
        status   => $res->code,
        headers  => $res->headers,
        body     => $res->decoded_content(charset => 'none') // $res->content,
        json     => _decode_json($res->content),
        response => $res,
    };
}

sub post_form { my ($path, $form, %opt) = @_; request('POST', $path, %opt, form => $form) }
sub get       { my ($path, %opt) = @_;        request('GET', $path, %opt) }

# raw_request($bytes, %opt): the bytes go as they are (send "Connection: close" if
# you want the answer before the timeout); the first response is parsed.
sub raw_request {
    my ($bytes, %opt) = @_;
    my $scheme  = $opt{scheme} || 'https';
    my $port    = $opt{port} || ($scheme eq 'https' ? https_port() : http_port());
    my $timeout = $opt{timeout} || 10;
    my %sock = (PeerHost => '127.0.0.1', PeerPort => $port, Timeout => $timeout);
    my $s = $scheme eq 'https'
        ? IO::Socket::SSL->new(%sock, SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE(),
                               SSL_hostname => host())
        : IO::Socket::INET->new(%sock);
    die "raw_request: cannot connect to $scheme port $port: "
        . ($scheme eq 'https' ? IO::Socket::SSL::errstr() : $@) . "\n" unless $s;
    my $raw = '';
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        local $SIG{PIPE} = 'IGNORE';
        alarm $timeout;
        my $off = 0;
        while ($off < length $bytes) {      # a server may close early: that is an answer too
            my $n = syswrite($s, $bytes, 16384, $off);
            last unless $n;
            $off += $n;
        }
        while (1) {
            my $n = sysread($s, my $buf, 65536);
            last unless $n;
            $raw .= $buf;
        }
        alarm 0;
    };
    alarm 0;
    close $s;
    return _parse_raw($raw);
}

sub _dechunk {
    my ($body) = @_;
    my $out = '';
    while ($body =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
        my $n = hex $1;
        last if $n == 0;
        $out .= substr($body, 0, $n, '');
        $body =~ s/^\r\n//;
    }
    return $out;
}

sub _parse_raw {
    my ($raw) = @_;
    my %r = (raw => $raw, status => undef, headers => {}, body => '', json => undef);
    return \%r unless $raw =~ m{^HTTP/\d\.\d (\d{3})[^\r\n]*\r\n(.*?)\r\n\r\n(.*)\z}s;
    $r{status} = $1;
    my ($head, $body) = ($2, $3);
    for my $line (split /\r\n/, $head) {
        my ($k, $v) = split /:\s*/, $line, 2;
        next unless defined $v;
        $k = lc $k;
        $r{headers}{$k} = exists $r{headers}{$k} ? "$r{headers}{$k}, $v" : $v;
    }
    if (($r{headers}{'transfer-encoding'} || '') =~ /chunked/i) {
        $body = _dechunk($body);
    }
    elsif (defined(my $len = $r{headers}{'content-length'})) {
        $body = substr($body, 0, $len) if $len =~ /^\d+$/;
    }
    $r{body} = $body;
    $r{json} = _decode_json($body);
    return \%r;
}

# --- the error log ---------------------------------------------------------------------

sub error_log_path      { scalar cfg()->error_log }
sub expected_errors_path { vars()->{t_logs} . '/expected_errors' }

sub expect_error_log {
    my (@re) = @_;
    open my $fh, '>>', expected_errors_path() or die "expected_errors: $!\n";
    for my $re (@re) {
        my $s = ref $re ? "$re" : $re;
        die "expect_error_log: a pattern must be one line\n" if $s =~ /\n/;
        print $fh "$s\n";
    }
    close $fh;
    return 1;
}

sub error_log_clean {
    my @bad = OAS::ErrorLog::problems(error_log_path(), expected_errors_path());
    return wantarray ? @bad : !@bad;
}

sub error_log_mark { -s error_log_path() || 0 }

sub error_log_since {
    my ($mark) = @_;
    open my $fh, '<', error_log_path() or return '';
    seek $fh, $mark || 0, 0;
    local $/;
    my $text = <$fh>;
    return defined $text ? $text : '';
}

sub wait_for_log {
    my ($re, $mark, $timeout) = @_;
    my $end = time + ($timeout || 10);
    while (1) {
        for my $line (split /\n/, error_log_since($mark)) {
            return $line if $line =~ $re;
        }
        return undef if time > $end;
        sleep 0.2;
    }
}

# --- the server ------------------------------------------------------------------------

sub pid_file { vars()->{t_pid_file} }

sub server_pid {
    open my $fh, '<', pid_file() or return 0;
    my $pid = <$fh>;
    close $fh;
    return ($pid && $pid =~ /^(\d+)/) ? $1 : 0;
}

# all processes, pid => [ppid, state]
sub _procs {
    my %p;
    opendir my $d, '/proc' or return %p;
    for my $pid (grep { /^\d+$/ } readdir $d) {
        open my $fh, '<', "/proc/$pid/stat" or next;
        my $stat = <$fh>;
        close $fh;
        next unless $stat;
        my $rest = substr $stat, rindex($stat, ')') + 2;   # comm may hold spaces
        my ($state, $ppid) = split / /, $rest;
        $p{$pid} = [$ppid, $state];
    }
    return %p;
}

sub _alive {
    my ($pid) = @_;
    return 0 unless $pid && kill 0, $pid;
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    my $stat = <$fh>;
    return 0 unless $stat;
    my ($state) = split / /, substr($stat, rindex($stat, ')') + 2);
    return $state ne 'Z' && $state ne 'X';
}

# child_pids($pid): every descendant of $pid (default: the server's parent)
sub child_pids {
    my ($root) = @_;
    $root ||= server_pid() or return ();
    my %p = _procs();
    my %kids;
    push @{ $kids{ $p{$_}[0] } }, $_ for keys %p;
    my @out;
    my @todo = ($root);
    while (defined(my $pid = shift @todo)) {
        for my $k (@{ $kids{$pid} || [] }) { push @out, $k; push @todo, $k }
    }
    return grep { _alive($_) } @out;
}

sub _port_open {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerHost => '127.0.0.1', PeerPort => $port, Timeout => 2);
    return 0 unless $s;
    close $s;
    return 1;
}

sub _answers {
    my ($scheme) = @_;
    my $res = ua(timeout => 5)->get(base_url($scheme) . '/index.html');
    # LWP makes up a 500 with Client-Warning: Internal response when it gets nothing
    return !($res->code == 500 && ($res->header('Client-Warning') || '') =~ /internal/i);
}

sub wait_for_server {
    my ($timeout) = @_;
    my $end = time + ($timeout || 60);
    while (time < $end) {
        return 1 if _answers('http') && _answers('https');
        sleep 0.25;
    }
    _diag("server does not answer on ports " . http_port() . "/" . https_port());
    return 0;
}

# generation(): the parent's configuration generation (mod_status), or failing that
# the number of "resuming normal operations" lines in the error log
sub generation {
    my $res = ua(timeout => 5)->get(base_url('http') . '/server-status?auto');
    return $1 if $res->is_success
        && $res->content =~ /^ParentServerConfigGeneration:\s*(\d+)/m;
    my $n = () = error_log_since(0) =~ /resuming normal operations/g;
    return $n;
}

sub _signal_and_wait_generation {
    my ($sig, %opt) = @_;
    my $timeout = $opt{timeout} || 60;
    my $pid = server_pid() or do { _diag("$sig: no server pid in " . pid_file()); return 0 };
    my $gen = generation();
    my $mark = error_log_mark();
    kill $sig, $pid or do { _diag("$sig: kill $pid: $!"); return 0 };
    my $end = time + $timeout;
    while (time < $end) {
        sleep 0.25;
        next unless error_log_since($mark) =~ /resuming normal operations/;
        next unless generation() > $gen;
        unless (_alive($pid)) { _diag("$sig: parent $pid died"); return 0 }
        return wait_for_server($end - time);
    }
    _diag("$sig: no new generation after $timeout s (was $gen)");
    return 0;
}

sub graceful_restart { _signal_and_wait_generation('USR1', @_) }
sub restart          { _signal_and_wait_generation('HUP',  @_) }

sub _wait_ports_closed {
    my ($end) = @_;
    while (time < $end) {
        return 1 unless _port_open(http_port()) || _port_open(https_port());
        sleep 0.2;
    }
    _diag("ports " . http_port() . "/" . https_port() . " still open");
    return 0;
}

sub stop_server {
    my (%opt) = @_;
    my $end = time + ($opt{timeout} || 60);
    my $pid = server_pid();
    if ($pid && _alive($pid)) {
        kill 'TERM', $pid;
        sleep 0.1 while _alive($pid) && time < $end;
        if (_alive($pid)) { _diag("stop: parent $pid still alive"); return 0 }
    }
    return _wait_ports_closed($end);
}

sub start_cmd {
    my $c = cfg();
    return $c->{vars}{httpd} . ' ' . $c->server->args;
}

sub start_server {
    my (%opt) = @_;
    my $timeout = $opt{timeout} || 60;
    my $old = server_pid();
    my $cmd = start_cmd();
    my $out = '';
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm $timeout;
        $out = `$cmd 2>&1`;                # returns when httpd has detached
        alarm 0;
    };
    alarm 0;
    if ($@ || $?) {
        _diag("start: `$cmd` failed (" . ($@ || "exit " . ($? >> 8)) . "): $out");
        return 0;
    }
    my $end = time + $timeout;
    while (time < $end) {
        my $pid = server_pid();
        last if $pid && $pid != ($old || 0) && _alive($pid);
        last if $pid && !$old && _alive($pid);
        sleep 0.1;
    }
    return wait_for_server($end - time);
}

sub stop_start {
    my (%opt) = @_;
    return stop_server(%opt) && start_server(%opt);
}

# kill9_all_and_start: what a crash of every httpd process looks like.  The parent is
# stopped first (SIGSTOP: it can neither fork a new child nor log the children's
# deaths as AH00052 "exit signal"), its descendants are collected while they still
# have it as parent, then all of them get SIGKILL.  The pid file stays, as after a
# real crash; httpd then warns (AH00098), which is not an error.  Shared memory,
# mutexes and files the module left behind stay too: that is the point.
sub kill9_all_and_start {
    my (%opt) = @_;
    my $timeout = $opt{timeout} || 60;
    my $end = time + $timeout;
    my $pid = server_pid() or do { _diag("kill9: no server pid"); return 0 };
    kill 'STOP', $pid;
    my @kids = child_pids($pid);
    kill 'KILL', @kids if @kids;
    kill 'KILL', $pid;
    for my $p ($pid, @kids) {
        sleep 0.05 while _alive($p) && time < $end;
        if (_alive($p)) { _diag("kill9: $p survived SIGKILL"); return 0 }
    }
    # httpd refuses to start while the pid in its pid file exists, and a zombie does,
    # until its new parent (init, or a container's pid 1) reaps it.  Give that a few
    # seconds; a zombie still there after that is no httpd: drop the pid file.
    my $reap_end = time + 5;
    sleep 0.05 while kill(0, $pid) && time < $reap_end;
    unlink pid_file() if kill 0, $pid;
    return 0 unless _wait_ports_closed($end);
    $opt{before_start}->() if $opt{before_start};     # look at what the crash left
    return start_server(timeout => $end - time);
}

1;
