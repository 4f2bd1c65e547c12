// A client's text for a log line: printable ASCII kept, anything else (and quotes, backslashes)
// as \xHH, cut at `max` characters, so no packet can forge or break a line of the log.

export function printable(text: string, max = 120): string {
  const cut = text.length > max ? `${text.slice(0, max)}...` : text;
  return cut.replace(/[^\x20-\x7e]|["\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
