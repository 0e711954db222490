import { z } from 'zod';

// What an upstream says goes into usage events, written in batches: a value PostgreSQL would
// refuse must not get that far, or it would fail the batch of every call beside it.
/** A token count that fits the 32-bit integer columns of usage events; any other is not metered. */
const tokens = z.number().int().nonnegative().max(2_147_483_647).optional().catch(undefined);
/** A model name as PostgreSQL text can hold it: no NUL, no half of a surrogate pair. */
const modelName = z
  .string()
  .max(200)
  .transform((name) => name.replaceAll('\0', '').toWellFormed());

/** OpenAI-style usage, as found in a JSON response or the last chunk of a stream. */
const usageSchema = z.object({
  model: modelName.optional(),
  usage: z
    .object({
      prompt_tokens: tokens,
      completion_tokens: tokens,
      input_tokens: tokens,
      output_tokens: tokens,
      prompt_tokens_details: z.object({ cached_tokens: tokens }).nullish(),
    })
    .nullish(),
});

export interface MeteredTokens {
  model: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  cachedTokens: number | null;
}

const JSON_LIMIT = 2 * 1024 * 1024;

/**
 * Reads token usage from a response while it streams past, without holding it back: JSON bodies
 * (up to 2 MiB) are parsed at the end; server-sent events are scanned line by line and the last
 * event that carries `usage` wins (OpenAI sends it in the final chunk with include_usage).
 */
export class TokenMeter {
  readonly #mode: 'json' | 'sse' | 'off';
  #text = '';
  #tooLarge = false;
  #pending = '';
  #decoder = new TextDecoder();
  result: MeteredTokens = { model: null, promptTokens: null, completionTokens: null, cachedTokens: null };

  constructor(contentType: string | undefined) {
    const type = (contentType ?? '').toLowerCase();
    this.#mode = type.includes('text/event-stream') ? 'sse' : type.includes('json') ? 'json' : 'off';
  }

  write(chunk: Buffer): void {
    if (this.#mode === 'off') return;
    const text = this.#decoder.decode(chunk, { stream: true });
    if (this.#mode === 'json') {
      if (this.#tooLarge) return;
      this.#text += text;
      if (this.#text.length > JSON_LIMIT) {
        this.#tooLarge = true;
        this.#text = '';
      }
      return;
    }
    this.#pending += text;
    const lines = this.#pending.split('\n');
    this.#pending = lines.pop() ?? '';
    for (const line of lines) this.#sseLine(line);
  }

  end(): MeteredTokens {
    if (this.#mode === 'json' && !this.#tooLarge) this.#take(this.#text);
    if (this.#mode === 'sse' && this.#pending) this.#sseLine(this.#pending);
    return this.result;
  }

  #sseLine(line: string): void {
    if (!line.startsWith('data:')) return;
    const data = line.slice(5).trim();
    if (data === '[DONE]' || !data.startsWith('{')) return;
    this.#take(data, true);
  }

  #take(text: string, keepModel = false): void {
    let parsed: z.infer<typeof usageSchema>;
    try {
      const result = usageSchema.safeParse(JSON.parse(text));
      if (!result.success) return;
      parsed = result.data;
    } catch {
      return;
    }
    if (parsed.model && (!keepModel || !this.result.model)) this.result.model = parsed.model;
    const usage = parsed.usage;
    if (!usage) return;
    this.result.promptTokens = usage.prompt_tokens ?? usage.input_tokens ?? null;
    this.result.completionTokens = usage.completion_tokens ?? usage.output_tokens ?? null;
    this.result.cachedTokens = usage.prompt_tokens_details?.cached_tokens ?? null;
  }
}
