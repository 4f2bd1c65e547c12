// knockd's usage text, byte for byte (docs/knockd-0.8.md §4.1), plus Sesame's additions at the end.

export const KNOCKD_USAGE = `usage: knockd [options]
options:
  -i, --interface <int>  network interface to listen on (default "eth0")
  -d, --daemon           run as a daemon
  -c, --config <file>    use an alternate config file
  -D, --debug            output debug messages
  -l, --lookup           lookup DNS names (may be a security risk)
  -p, --pidfile          use an alternate pidfile
  -g, --logfile          use an alternate logfile
  -v, --verbose          be verbose
  -4, --only-ip-v4       do not track ipv6
  -V, --version          display version
  -h, --help             this help
      --check            check the config file, print it as understood, and exit
      --status           list the firewall grants of Open doors, with the time left, and exit
      --flush            remove Sesame's firewall table (guards and grants) and exit
      --state-dir <dir>  where pending stop commands are kept (default /var/lib/sesame)
      --max-attempts <n> most knock attempts tracked at once (default 65536)
      --instance <name>  a second daemon: own table inet sesame_<name>, own state directory
      --matching <how>   kernel (nftables), pcap (libpcap) or auto (default: the kernel where it works)
      --provision <door> print a TOTP door's otpauth:// URI and QR code for an authenticator app, and exit
      --new-secret       with --provision: first write a fresh secret to the door's TOTP_Secret_File (0600)

`;

export const KNOCKD_VERSION_TEXT = (version: string) =>
  `knockd 0.8 compatible (Sesame ${version})\n`;
