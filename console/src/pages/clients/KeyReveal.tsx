import { useEffect, useId, useRef, useState } from 'react';

/**
 * A client key, shown this once: Tollgate keeps only its hash, so once this panel is dismissed (or
 * the page left) nobody can see it again. Focus moves here so that it is not missed.
 */
export function KeyReveal({
  clientName,
  secret,
  onDone,
}: {
  clientName: string;
  secret: string;
  onDone: () => void;
}) {
  const headingId = useId();
  const inputId = useId();
  const panel = useRef<HTMLElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  useEffect(() => panel.current?.focus(), []);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('yes');
    } catch {
      // No clipboard permission: select the text so that Ctrl+C copies it.
      input.current?.select();
      setCopied('failed');
    }
  };

  return (
    <section
      className="key-reveal"
      aria-labelledby={headingId}
      tabIndex={-1}
      ref={panel}
      data-testid="key-reveal"
    >
      <h2 id={headingId}>Copy the key of “{clientName}” now</h2>
      <p>
        <strong>This is the only time it is shown.</strong> Tollgate stores only its hash: if it is lost,
        rotate the key to issue a new one. Send it as <code>Authorization: Bearer &lt;key&gt;</code> or{' '}
        <code>x-tollgate-key</code>.
      </p>
      <div className="key-reveal-row">
        <label htmlFor={inputId} className="visually-hidden">
          Client key
        </label>
        <input
          id={inputId}
          ref={input}
          readOnly
          value={secret}
          onFocus={(e) => e.target.select()}
          spellCheck={false}
          data-testid="client-key"
        />
        <button type="button" className="button button-primary" onClick={copy}>
          Copy
        </button>
      </div>
      <p role="status" className="muted">
        {copied === 'yes'
          ? 'Copied to the clipboard.'
          : copied === 'failed'
            ? 'Selected: press Ctrl+C (⌘C) to copy.'
            : ''}
      </p>
      <button type="button" className="button" onClick={onDone}>
        I have stored the key
      </button>
    </section>
  );
}
