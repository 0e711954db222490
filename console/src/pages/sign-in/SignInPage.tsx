import { type FormEvent, useId, useState } from 'react';
import { useSession } from '../../auth/SessionProvider.tsx';
import type { SignedOutReason } from '../../auth/session.ts';
import { Icon } from '../../components/icons.tsx';

const REASONS: Record<Exclude<SignedOutReason, null>, string> = {
  expired: 'Your token has expired. Sign in again with a new one.',
  rejected: 'Tollgate did not accept the token. Sign in again with a valid one.',
  'signed-out': 'You have signed out.',
  invalid: 'That is not a token Tollgate issues (a JSON Web Token). Check it and try again.',
};

/** Shown to every visit without a usable token; it never asks Tollgate for data. */
export function SignInPage({ reason }: { reason: SignedOutReason }) {
  const { signIn } = useSession();
  const [token, setToken] = useState('');
  const [problem, setProblem] = useState<SignedOutReason>(null);
  const fieldId = useId();
  const helpId = useId();
  const shown = problem ?? reason;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const session = signIn(token);
    if (session.status === 'signed-out') setProblem(session.reason ?? 'invalid');
  };

  return (
    <main className="sign-in" id="main">
      <div className="sign-in-card">
        <div className="brand brand-light">
          <span className="brand-mark" aria-hidden="true">
            <Icon name="gate" size={16} />
          </span>
          <span className="brand-name">Tollgate</span>
          <span className="brand-sub">console</span>
        </div>
        <h1>Sign in</h1>
        {shown ? (
          <div className={`notice ${shown === 'signed-out' ? 'notice-info' : 'notice-warn'}`} role="alert">
            {REASONS[shown]}
          </div>
        ) : null}
        <p className="muted">
          Open the link printed by <code>npm run token -- --role admin --console</code>, or paste an operator
          token.
        </p>
        <form onSubmit={submit}>
          <label htmlFor={fieldId}>Token</label>
          <textarea
            id={fieldId}
            aria-describedby={helpId}
            value={token}
            onChange={(e) => setToken(e.target.value)}
            rows={4}
            spellCheck={false}
            autoComplete="off"
            required
          />
          <p id={helpId} className="field-help">
            Kept in this tab only (session storage) and sent to this Tollgate only.
          </p>
          <button type="submit" className="button button-primary">
            Sign in
          </button>
        </form>
      </div>
    </main>
  );
}
