/**
 * The caller's query string with `name=value` appended, byte for byte otherwise: APIs that sign
 * the query, or tell `flag` from `flag=`, must get what the caller sent. Any parameter the caller
 * sent under that name (however encoded) is dropped, so the injected key is the only one.
 */
export function withQueryParameter(query: string, name: string, value: string): string {
  const kept = query
    .split('&')
    .filter((pair) => pair !== '' && decodeComponent(pair.split('=', 1)[0] as string) !== name);
  kept.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
  return kept.join('&');
}

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return text;
  }
}
