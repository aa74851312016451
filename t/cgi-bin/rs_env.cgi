#!/usr/bin/perl
# t/cgi-bin/rs_env.cgi — the CGI of t/30_resource.t (t/conf/resource.conf.in maps it
# as /rs/cgi/env behind a bearer token, and as /rs/backend/env, the ProxyPass back
# end): prints its whole environment, one NAME=value a line, as text/plain.
use strict;
use warnings;

print "Content-Type: text/plain\r\n\r\n";
for my $k (sort keys %ENV) {
    (my $v = $ENV{$k}) =~ s/[\r\n]/ /g;
    print "$k=$v\n";
}
