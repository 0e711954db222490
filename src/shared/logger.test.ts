import { describe, expect, it } from 'vitest';
import { LogCapture } from '../../test/helpers/app.ts';
import { createLogger, redactUrl } from './logger.ts';

describe('logger', () => {
  it('redacts secrets that reach it by accident', () => {
    const capture = new LogCapture();
    const logger = createLogger('info', capture);
    logger.info(
      {
        req: { headers: { authorization: 'Bearer eyJ.secret.token', 'x-tollgate-key': 'tg_live_abc' } },
        provider: { secret: 'sk-live-1234567890' },
        connectionParams: { authorization: 'Bearer ws-token' },
        token: 'plain-token',
      },
      'hello',
    );
    const line = capture.text;
    for (const secret of [
      'eyJ.secret.token',
      'tg_live_abc',
      'sk-live-1234567890',
      'ws-token',
      'plain-token',
    ]) {
      expect(line).not.toContain(secret);
    }
    expect(line).toContain('[redacted]');
    expect(JSON.parse(line)).toMatchObject({ level: 'info', msg: 'hello', service: 'tollgate' });
  });

  it('hides the password of a connection URL', () => {
    expect(redactUrl('postgres://tollgate:hunter2@db:5432/tollgate')).toBe(
      'postgres://tollgate:***@db:5432/tollgate',
    );
    expect(redactUrl('not a url')).toBe('[unparseable url]');
  });
});
