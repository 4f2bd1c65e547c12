// knockd's log-file line: `[YYYY-MM-DD HH:MM] message` in local time, minute resolution. A
// message ending in '\n' therefore leaves an empty line after it, as knockd's file does.

const pad = (n: number) => String(n).padStart(2, '0');

export function fileLine(message: string, at: Date = new Date()): string {
  const stamp = `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${pad(at.getHours())}:${pad(at.getMinutes())}`;
  return `[${stamp}] ${message}\n`;
}
