import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError } from './api';

export interface Loaded<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

/** Loads `f` now, when `deps` change and every `pollMs` (keeping the last data while reloading). */
export function useApi<T>(f: () => Promise<T>, deps: unknown[], pollMs?: number): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: ApiError | null; loading: boolean }>({
    data: null,
    error: null,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    f().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (e: unknown) =>
        live &&
        setState((s) => ({ data: s.data, error: e instanceof ApiError ? e : new ApiError(0, 'CLIENT', String(e)), loading: false })),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  useEffect(() => {
    if (!pollMs) return;
    const t = setInterval(reload, pollMs);
    return () => clearInterval(t);
  }, [pollMs, reload]);
  return { ...state, reload };
}

/** Loading, error and empty states around the content, the same everywhere. */
export function Async<T>({
  r,
  empty,
  isEmpty,
  children,
}: {
  r: Loaded<T>;
  empty?: string;
  isEmpty?: (d: T) => boolean;
  children: (d: T) => ReactNode;
}) {
  if (r.data === null && r.loading) {
    return (
      <p className="state loading" role="status" aria-live="polite">
        Loading…
      </p>
    );
  }
  if (r.data === null) {
    return (
      <div className="state error" role="alert">
        <p>Could not load this: {r.error?.message ?? 'unknown error'}</p>
        <button type="button" onClick={r.reload}>
          Try again
        </button>
      </div>
    );
  }
  return (
    <>
      {r.error && (
        <p className="state error" role="alert">
          Refresh failed: {r.error.message} (showing the last data)
        </p>
      )}
      {isEmpty?.(r.data) ? <p className="state empty">{empty ?? 'Nothing here yet.'}</p> : children(r.data)}
    </>
  );
}

export interface Column<R> {
  key: string;
  label: string;
  render: (r: R) => ReactNode;
  className?: string;
}

/** A table that scrolls sideways inside its box on narrow screens (the page never does). */
export function Table<R>({
  rows,
  columns,
  rowKey,
  caption,
  testId,
}: {
  rows: R[];
  columns: Column<R>[];
  rowKey: (r: R) => string;
  caption?: string;
  testId?: string;
}) {
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label={caption ?? 'table'}>
      <table data-testid={testId}>
        {caption && <caption>{caption}</caption>}
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.key} scope="col" className={c.className}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={rowKey(r)}>
              {columns.map((c) => (
                <td key={c.key} className={c.className} data-label={c.label}>
                  {c.render(r)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Stat({ label, value, testId, tone }: { label: string; value: ReactNode; testId?: string; tone?: 'good' | 'warn' | 'bad' }) {
  return (
    <div className={`stat ${tone ?? ''}`}>
      <div className="stat-label">{label}</div>
      <div className="stat-value" data-testid={testId}>
        {value}
      </div>
    </div>
  );
}

/** A modal confirmation (native <dialog>: focus is trapped and Escape cancels). */
export function Confirm({
  open,
  title,
  children,
  confirmLabel,
  danger,
  busy,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  /** The action is under way: the confirm button waits. */
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} onCancel={onCancel} aria-labelledby="confirm-title">
      <h2 id="confirm-title">{title}</h2>
      <div>{children}</div>
      <div className="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="button" className={danger ? 'danger' : 'primary'} onClick={onConfirm} disabled={busy} autoFocus>
          {confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

export function Badge({ value }: { value: string }) {
  return <span className={`badge badge-${value.replace(/[^a-z-]/g, '')}`}>{value}</span>;
}
