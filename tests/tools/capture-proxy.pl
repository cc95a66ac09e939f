#!/usr/bin/perl
# A stand-in proxy that records what a client sends it: listens on a free
# loopback port, prints "PORT PID", then for each connection (at most
# N, default 8) appends the request head (up to its blank line) to FILE and
# answers 403, so that the bytes of a CONNECT can be checked. Exits after
# SECONDS (default 30) at most.
# Usage: capture-proxy.pl FILE [N [SECONDS]]
use strict;
use warnings;
use IO::Socket::INET;

my ($file, $n, $seconds) = @ARGV;
$n ||= 8;
$seconds ||= 30;
alarm $seconds;
my $server = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 16,
    Proto => 'tcp', ReuseAddr => 1) or die "listen: $!";
$| = 1;
print $server->sockport, " $$\n";
close STDOUT;
for (1 .. $n) {
    my $client = $server->accept or last;
    my $head = '';
    while ($head !~ /\r\n\r\n/ && length($head) < 65536) {
        my $got = sysread($client, my $buf, 4096);
        last unless $got;
        $head .= $buf;
    }
    open(my $out, '>>', $file) or die "$file: $!";
    print $out $head, "----\n";
    close $out;
    print $client "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    close $client;
}
