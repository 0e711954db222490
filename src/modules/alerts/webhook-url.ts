/**
 * Webhook URLs often are credentials (Slack, Teams, Discord: the token is in the path), so only
 * admins see them whole. Everyone else gets scheme and host with the rest elided; the mark makes
 * a redacted URL recognisable, so it is never saved back as if it were one.
 */
export const REDACTION_MARK = '…';

export function redactWebhookUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}/${REDACTION_MARK}`;
  } catch {
    return REDACTION_MARK;
  }
}

/** Every http(s) URL in a free text (an error message, say) redacted as above. */
export function redactUrlsInText(text: string): string {
  return text.replace(/\bhttps?:\/\/[^\s"'<>]+/gi, (url) => redactWebhookUrl(url));
}

export function isRedactedWebhookUrl(url: string): boolean {
  return url.includes(REDACTION_MARK);
}

/**
 * Audit details of alert channels with every `url` redacted, whoever reads them (admins see the
 * live URL on the channel itself): rows written before URLs were redacted at write time included.
 */
export function redactUrlsIn(details: unknown): unknown {
  if (Array.isArray(details)) return details.map(redactUrlsIn);
  if (details === null || typeof details !== 'object') return details;
  return Object.fromEntries(
    Object.entries(details).map(([key, value]) => [
      key,
      key === 'url' && typeof value === 'string' ? redactWebhookUrl(value) : redactUrlsIn(value),
    ]),
  );
}
