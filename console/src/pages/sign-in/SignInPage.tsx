import { type FormEvent, useId, useState } from 'react';
import { useSession } from '../../auth/SessionProvider.tsx';
import type { SignedOutReason } from '../../auth/session.ts';
import { SESSION_ENDED, type SessionEndReason, SSO_REFUSALS } from '../../auth/sso.ts';
import { Icon } from '../../components/icons.tsx';

const REASONS: Record<Exclude<SignedOutReason, null>, string> = {
  expired: 'Your token has expired. Sign in again with a new one.',
  rejected: 'Tollgate did not accept the token. Sign in again with a valid one.',
  'signed-out': 'You have signed out.',
  invalid: 'That is not a token Tollgate issues (a JSON Web Token). Check it and try again.',
};

function Brand() {
  return (
    <div className="brand brand-light">
      <span className="brand-mark" aria-hidden="true">
        <Icon name="gate" size={16} />
      </span>
      <span className="brand-name">Tollgate</span>
      <span className="brand-sub">console</span>
    </div>
  );
}

/** The identity provider vouched for the person, but no role mapping admits them: say so, plainly. */
function NoAccessPage({ message, loginUrl }: { message: string; loginUrl: string | undefined }) {
  return (
    <main className="sign-in" id="main">
      <div className="sign-in-card" data-page="no-access">
        <Brand />
        <h1>No access</h1>
        <div className="notice notice-bad" role="alert">
          {message}
        </div>
        <p className="muted">
          You signed in with your identity provider, but Tollgate gives access only to the groups its
          administrators have mapped to a role (viewer, operator or admin).
        </p>
        <a className="button" href={loginUrl ?? '/console/'}>
          Sign in with another account
        </a>
      </div>
    </main>
  );
}

/** Shown to every visit without a usable session; it never asks Tollgate for data. */
export function SignInPage({ reason, sso: ssoCode }: { reason: SignedOutReason; sso?: string | undefined }) {
  const { signIn, sso } = useSession();
  const [token, setToken] = useState('');
  const [problem, setProblem] = useState<SignedOutReason>(null);
  const fieldId = useId();
  const helpId = useId();
  const shown = problem ?? reason;
  const ssoMessage = ssoCode
    ? (SSO_REFUSALS[ssoCode] ?? SESSION_ENDED[ssoCode as SessionEndReason] ?? undefined)
    : undefined;

  if (ssoCode === 'NO_ROLE' || ssoCode === 'EMAIL_DOMAIN') {
    return <NoAccessPage message={ssoMessage ?? ''} loginUrl={sso?.loginUrl} />;
  }

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const session = signIn(token);
    if (session.status === 'signed-out') setProblem(session.reason ?? 'invalid');
  };

  return (
    <main className="sign-in" id="main">
      <div className="sign-in-card">
        <Brand />
        <h1>Sign in</h1>
        {ssoMessage && !problem ? (
          <div className="notice notice-warn" role="alert" data-sso-error={ssoCode}>
            {ssoMessage}
          </div>
        ) : shown ? (
          <div className={`notice ${shown === 'signed-out' ? 'notice-info' : 'notice-warn'}`} role="alert">
            {REASONS[shown]}
          </div>
        ) : null}
        {sso ? (
          <>
            <a className="button button-primary sso-button" href={sso.loginUrl}>
              Sign in with {sso.name}
            </a>
            <p className="sign-in-divider">
              <span>or use an operator token</span>
            </p>
          </>
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
          <button type="submit" className={`button ${sso ? '' : 'button-primary'}`}>
            Sign in
          </button>
        </form>
      </div>
    </main>
  );
}
