#!/usr/bin/perl
# A forward proxy that answers a CONNECT, but slowly: listens on a free
# loopback port, prints "PORT PID", then for each connection reads the
# request head (up to its blank line), appends its first line to FILE and
# writes "HTTP/1.1 200 Connection established\r\n\r\n" one byte every
# DELAY seconds (default 0.5), then holds the connection until the client
# closes it. Each connection in a child of its own; all end after SECONDS
# (default 30) at most.
# Usage: trickle-proxy.pl FILE [DELAY [SECONDS]]
use strict;
use warnings;
use IO::Socket::INET;
use Time::HiRes qw(sleep);

my ($file, $delay, $seconds) = @ARGV;
$delay ||= 0.5;
$seconds ||= 30;
alarm $seconds;
$SIG{CHLD} = 'IGNORE';
my $server = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 16,
    Proto => 'tcp', ReuseAddr => 1) or die "listen: $!";
$| = 1;
print $server->sockport, " $$\n";
close STDOUT;
while (1) {
    my $client = $server->accept or next;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid) {
        close $client;
        next;
    }
    close $server;
    alarm $seconds;
    $SIG{PIPE} = 'IGNORE';
    my $head = '';
    while ($head !~ /\r\n\r\n/ && length($head) < 65536) {
        my $got = sysread($client, my $buf, 4096);
        exit 0 unless $got;
        $head .= $buf;
    }
    my ($line) = $head =~ /^([^\r\n]*)/;
    open(my $out, '>>', $file) or die "$file: $!";
    print $out "$line\n";
    close $out;
    for my $byte (split //, "HTTP/1.1 200 Connection established\r\n\r\n") {
        syswrite($client, $byte) or exit 0;
        sleep $delay;
    }
    1 while sysread($client, my $buf, 4096);
    exit 0;
}
