package OAS::SecondHttpd;
# A second httpd started by a test: a remote resource server (t/33_mod_oauth2.t,
# t/33_jwt_remote.t).  Same binary and MPM as this run, its own config, port (a free
# one picked at run time, on 127.0.0.1), pid file, logs and runtime dir in
# t/logs/<name>; stopped by an END block whatever happens.
#
#   moddir()                         where this run's MPM module comes from (the inherited
#                                    LoadModule lines of tools/run-tests), else Debian's
#   $s = start($name, modules => [qw(authz_core ...)], conf => $text, files => {path => text})
#                                    writes t/logs/$name/httpd.conf (LoadModule lines,
#                                    ServerRoot, Listen, logs, a small pool, then $text,
#                                    in which @DIR@ and @PORT@ are replaced), the files
#                                    under htdocs/, starts it; ok() whether it listens
#   $s->{port}, $s->{dir}, $s->{started}
#   $s->url($path)                   http://127.0.0.1:PORT$path
#   $s->get($path, $token)           GET with Authorization: Bearer $token when defined
#   $s->log_tail($n)                 the last $n lines of its error log
#   $s->stop                         TERM, then KILL after 15 s; true when it is gone
#   port_open($port)
use strict;
use warnings;

use Apache::Test ();
use File::Basename qw(dirname);
use File::Path qw(make_path);
use IO::Socket::INET ();
use LWP::UserAgent ();
use OAS::Test ();
use Test::More ();
use Time::HiRes qw(time sleep);

my @RUNNING;
END { $_->stop for grep { $_->{started} } @RUNNING }

sub moddir {
    my $vars = Apache::Test::config()->{vars};
    for my $f (grep { defined && -f } $vars->{httpd_conf}, "$vars->{t_conf}/httpd.conf") {
        open my $fh, '<', $f or next;
        while (<$fh>) {
            return $1 if m{^\s*LoadModule\s+mpm_\w+_module\s+"?(\S+?)/mod_mpm_\w+\.so"?};
        }
    }
    return '/usr/lib/apache2/modules';
}

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1,
                                  ReuseAddr => 1) or die "no free port: $!\n";
    my $p = $s->sockport;
    close $s;
    return $p;
}

sub port_open { my ($port) = @_; return OAS::Test::_port_open($port) }

sub _spew {
    my ($path, $text) = @_;
    make_path(dirname($path));
    open my $fh, '>', $path or die "$path: $!\n";
    print $fh $text;
    close $fh or die "$path: $!\n";
}

sub _conf {
    my ($self, %opt) = @_;
    my ($dir, $port) = @$self{qw(dir port)};
    my $cfg = Apache::Test::config();
    my $mpm = $cfg->{mpm} || 'event';
    my $md  = moddir();
    my %load = map { $_ => "$md/mod_$_.so" } ("mpm_$mpm", @{ $opt{modules} || [] });
    $load{$_} = $opt{so}{$_} for keys %{ $opt{so} || {} };
    (my $body = $opt{conf} // '') =~ s/\@DIR\@/$dir/g;
    $body =~ s/\@PORT\@/$port/g;
    return join '', "# written by $0: a second httpd ($self->{name})\n",
        (map { "LoadModule ${_}_module $load{$_}\n" } sort keys %load), <<"CONF", $body;
ServerRoot "$dir"
ServerName 127.0.0.1:$port
Listen 127.0.0.1:$port
PidFile "$dir/httpd.pid"
ErrorLog "$dir/error_log"
LogLevel info
DefaultRuntimeDir "$dir"
DocumentRoot "$dir/htdocs"
LogFormat "%h %u \\"%r\\" %>s" rs2
CustomLog "$dir/access_log" rs2
StartServers 1
<IfModule mpm_prefork_module>
    MinSpareServers 1
    MaxSpareServers 2
    MaxRequestWorkers 5
</IfModule>
<IfModule !mpm_prefork_module>
    ThreadsPerChild 5
    MinSpareThreads 5
    MaxSpareThreads 10
    MaxRequestWorkers 10
</IfModule>
CONF
}

sub start {
    my ($name, %opt) = @_;
    my $cfg  = Apache::Test::config();
    my $self = bless { name => $name, dir => "$cfg->{vars}{t_logs}/$name",
                       port => free_port() }, __PACKAGE__;
    make_path("$self->{dir}/htdocs");
    _spew("$self->{dir}/htdocs/$_", $opt{files}{$_}) for keys %{ $opt{files} || {} };
    _spew("$self->{dir}/httpd.conf", $self->_conf(%opt));
    my $httpd = $cfg->{vars}{httpd};
    my $out = `$httpd -f "$self->{dir}/httpd.conf" -k start 2>&1`;
    $self->{started} = 1;
    push @RUNNING, $self;
    my $end = time + 20;
    sleep 0.2 until port_open($self->{port}) || time > $end;
    my $mpm = $cfg->{mpm} || 'event';
    Test::More::ok(port_open($self->{port}),
                   "the second httpd ($name, $mpm MPM) listens on 127.0.0.1:$self->{port}")
        or Test::More::diag("$httpd -k start: $out\n" . $self->log_tail(20));
    $self->{ua} = LWP::UserAgent->new(timeout => 20, keep_alive => 0);
    return $self;
}

sub url { my ($self, $path) = @_; return "http://127.0.0.1:$self->{port}$path" }

sub get {
    my ($self, $path, $token) = @_;
    my @h = defined $token ? (Authorization => "Bearer $token") : ();
    return $self->{ua}->get($self->url($path), @h);
}

sub log_tail {
    my ($self, $n) = @_;
    return scalar `tail -$n "$self->{dir}/error_log" 2>&1`;
}

sub _pid {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/httpd.pid" or return 0;
    my $pid = <$fh> // '';
    return $pid =~ /^(\d+)/ ? $1 : 0;
}

sub stop {
    my ($self) = @_;
    my $pid = $self->_pid or return 1;
    kill 'TERM', $pid;
    my $end = time + 15;
    sleep 0.1 while kill(0, $pid) && time < $end;
    if (kill 0, $pid) { kill 'KILL', $pid; sleep 0.5 }
    unlink "$self->{dir}/httpd.pid";
    $self->{started} = 0;
    return !kill(0, $pid);
}

1;
