import { useEffect, useState } from 'react';

/** The view is in the hash (#/devices/ID): no secret ever goes there. */
export function useRoute(): string[] {
  const parse = () => window.location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [parts, setParts] = useState(parse);
  useEffect(() => {
    const f = () => setParts(parse());
    window.addEventListener('hashchange', f);
    return () => window.removeEventListener('hashchange', f);
  }, []);
  return parts;
}

export const go = (...parts: string[]) => {
  window.location.hash = `#/${parts.map(encodeURIComponent).join('/')}`;
};
