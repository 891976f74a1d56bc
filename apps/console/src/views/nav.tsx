export function Nav({ items, current }: { items: [string, string][]; current: string }) {
  return (
    <nav className="tabs" aria-label="Sections">
      {items.map(([id, label]) => (
        <a key={id} href={`#/${id}`} aria-current={current === id ? 'page' : undefined}>
          {label}
        </a>
      ))}
    </nav>
  );
}
