import { useEffect, useState } from 'react';

/** Public settings the api serves beside the console (/console/settings.json): no secret. */
export interface Settings {
  currency: string;
}
let cached: Settings | null = null;
const FALLBACK: Settings = { currency: '' };

export function useSettings(): Settings {
  const [s, setS] = useState<Settings>(cached ?? FALLBACK);
  useEffect(() => {
    if (cached) return;
    let live = true;
    fetch('settings.json', { credentials: 'omit' })
      .then((r) => (r.ok ? (r.json() as Promise<Settings>) : FALLBACK))
      .then((v) => {
        cached = v;
        if (live) setS(v);
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, []);
  return s;
}
