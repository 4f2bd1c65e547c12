// knock's usage text, as knock 0.8 prints it (spec 4.2), plus Sesame's additions.

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

example:  knock myserver.example.com 123:tcp 456:udp 789:tcp

`;

export const KNOCK_VERSION_TEXT = (version: string) => `knock 0.8 compatible (Sesame ${version})\n`;
