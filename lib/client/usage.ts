// knock's usage text, as knock 0.8 prints it (docs/knockd-0.8.md §4.2), plus Sesame's additions.

export const KNOCK_USAGE = `usage: knock [options] <host> <port[:proto]> [port[:proto]] ...
options:
  -u, --udp            make all ports hits use UDP (default is TCP)
  -d, --delay <t>      wait <t> milliseconds between port hits
  -4, --ipv4           Force usage of IPv4
  -6, --ipv6           Force usage of IPv6
  -v, --verbose        be verbose
  -V, --version        display version
  -h, --help           this help
  -i, --interface <if> send from the address of interface <if>
  -s, --source <addr>  send from address <addr>
      @profile         knock the host and ports saved as [profile] in knock.ini
      --totp <file>    also knock the current TOTP code of the base32 secret in <file>
      --port-base <n>  with --totp: the door's TOTP_Port_Base (required)
      --digits <6|8>   with --totp: digits of the code (default 6)
      --totp-ports     with --totp: print the ports (static, then code) and send nothing
      --spa ...        send one fwknop SPA packet instead (knock --spa --help)
      --spa-keygen     print a new SPA key pair

example:  knock myserver.example.com 123:tcp 456:udp 789:tcp

`;

export const SPA_USAGE = `usage: knock --spa -A proto/port[,proto/port...] (-a IP | -s) [options] [host]
       knock --spa --fwknoprc [FILE] -n STANZA [options]
       knock --spa-keygen [--hmac-digest DIGEST]
Sends one fwknop-compatible SPA packet (Rijndael + HMAC, or GnuPG) over UDP.
options:
  -A, --access <list>          ports to open, e.g. tcp/22,udp/1194
  -a, --allow-ip <ipv4>        address the server should let in
  -s, --source-ip              let the server take the packet's source address (0.0.0.0)
  -D, --destination <host>     the SPA server (or give host as the argument)
  -p, --server-port <port>     UDP port of the server (default 62201)
      --key-base64 <key>       encryption key, base64 (or --key <passphrase>)
      --hmac-key-base64 <key>  HMAC key, base64 (or --hmac-key <text>); required
      --hmac-digest <digest>   md5, sha1, sha256 (default), sha384, sha512, sha3_256, sha3_512
  -m, --digest <digest>        digest inside the message (default sha256)
  -M, --encryption-mode <m>    cbc (default), ctr, cfb, ofb, ecb
  -f, --fw-timeout <seconds>   ask for this access time (1-65536)
  -N, --nat-access <host[:port]>  reach an internal host through the server (NAT)
      --nat-local              reach a port of the server itself through NAT (local NAT)
      --nat-port <port>        with -N/--nat-local: the server port to connect to
      --nat-rand-port          with -N/--nat-local: a random server port
  -U, --spoof-user <name>      user name in the packet (default $SPOOF_USER, $LOGNAME, $USER)
      --time-offset-plus <t>   move the timestamp forward (90, 5min, 2hours, 1days)
      --time-offset-minus <t>  move the timestamp back
      --fwknoprc [file]        read fwknop's rc file (default ~/.fwknoprc; also --rc-file <file>)
  -n, --named-config <name>    use stanza [name] of the rc file over [default]
  -S, --source-port <port>     send from this UDP port
      --source <addr>          send from address <addr> (or -i, --interface <if>)
  -4, -6                       resolve host to IPv4 / IPv6 only
  -v, --verbose                print the request and the packet
GnuPG mode (fwknop's names; no Rijndael key, the HMAC optional):
  -g, --gpg-encryption         encrypt with gpg to the server's key (rc USE_GPG Y)
      --gpg-recipient-key <id> the server's key (GPG_RECIPIENT)
      --gpg-signer-key <id>    sign with this key (GPG_SIGNER; passphrase: GPG_SIGNING_PW)
      --gpg-home-dir <dir>     GnuPG home (GPG_HOMEDIR; default ~/.gnupg)
      --gpg-no-signing-pw      the signing key has no passphrase
      --gpg-agent              gpg-agent supplies the passphrase (USE_GPG_AGENT Y)
      --gpg-exe <path>         gpg to run (GPG_EXE; default /usr/bin/gpg)
Options on the command line override the rc file's. See knock(1).
`;

export const KNOCK_VERSION_TEXT = (version: string) => `knock 0.8 compatible (Sesame ${version})\n`;
