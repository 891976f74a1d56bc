import { useEffect, useState, type FormEvent } from 'react';
import { call, loadSession, saveSession, setUnauthorizedHandler, type Role, type Session } from './api';
import { useRoute } from './route';
import { ManufacturerApp } from './views/manufacturer';
import { OperatorApp } from './views/operator';
import { OwnerApp } from './views/owner';

const ROLE_LABEL: Record<Role, string> = { manufacturer: 'Manufacturer', operator: 'Operator', owner: 'Owner' };
/** A cheap read each role may do: checks the secret before the console shows anything. */
const PROBE: Record<Role, string> = {
  manufacturer: '/manufacturer/v1/fleet/summary',
  operator: '/operator/v1/nodes',
  owner: '/owner/v1/earnings',
};

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [notice, setNotice] = useState<string | null>(null);
  useEffect(() => {
    setUnauthorizedHandler((message) => {
      saveSession(null);
      setSession(null);
      setNotice(message);
    });
  }, []);
  const signOut = () => {
    saveSession(null);
    setSession(null);
    setNotice('Signed out.');
    window.location.hash = '';
  };
  if (!session) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(s) => {
          saveSession(s);
          setNotice(null);
          setSession(s);
        }}
      />
    );
  }
  return <Shell session={session} onSignOut={signOut} />;
}

function Shell({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const route = useRoute();
  return (
    <div className="shell">
      <header className="top">
        <a className="brand" href="#/">
          IdleMint <span>console</span>
        </a>
        <span className="who" data-testid="signed-in-as">
          {ROLE_LABEL[session.role]}
        </span>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      {session.role === 'manufacturer' && <ManufacturerApp s={session} route={route} />}
      {session.role === 'operator' && <OperatorApp s={session} route={route} />}
      {session.role === 'owner' && <OwnerApp s={session} route={route} />}
    </div>
  );
}

function SignIn({ notice, onSignedIn }: { notice: string | null; onSignedIn: (s: Session) => void }) {
  const [role, setRole] = useState<Role>('manufacturer');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const s: Session = { role, secret: secret.trim() };
    if (!s.secret) return setError('Enter the key or token.');
    setBusy(true);
    setError(null);
    try {
      await call(
        null,
        'GET',
        PROBE[role],
        undefined,
        role === 'manufacturer'
          ? { 'x-api-key': s.secret }
          : role === 'operator'
            ? { 'x-operator-key': s.secret }
            : { authorization: `Bearer ${s.secret}` },
      );
      setSecret('');
      onSignedIn(s);
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      setError(code.startsWith('AUTH.') || code.startsWith('OWNER.') ? 'That key or token was refused.' : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const what = role === 'manufacturer' ? 'API key' : role === 'operator' ? 'Operator key' : 'Owner token';
  return (
    <main className="signin">
      <h1>
        IdleMint <span>console</span>
      </h1>
      <p className="muted">Your fleet, its work and its money. The key stays in this browser tab only.</p>
      {notice && (
        <p className="notice warn" role="alert" data-testid="signin-notice">
          {notice}
        </p>
      )}
      <form onSubmit={(e) => void submit(e)} aria-label="Sign in">
        <fieldset>
          <legend>I am</legend>
          {(Object.keys(ROLE_LABEL) as Role[]).map((r) => (
            <label key={r} className="radio">
              <input type="radio" name="role" value={r} checked={role === r} onChange={() => setRole(r)} /> {ROLE_LABEL[r]}
            </label>
          ))}
        </fieldset>
        <label>
          {what}
          <input
            type="password"
            name="secret"
            autoComplete="off"
            spellCheck={false}
            value={secret}
            onChange={(e) => setSecret(e.target.value)}
            aria-describedby="secret-help"
          />
        </label>
        <small id="secret-help" className="muted">
          {role === 'manufacturer'
            ? 'An admin or viewer key (imk_…).'
            : role === 'operator'
              ? 'The platform’s OPERATOR_KEY.'
              : 'The token you got when you claimed an appliance (imo_…).'}
        </small>
        {error && (
          <p className="state error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
