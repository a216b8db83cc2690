/** Short confirmations ("Provider saved") and failures of background actions, announced to screen readers. */
import { useCallback, useEffect, useState } from 'react';

interface Toast {
  id: number;
  text: string;
  tone: 'ok' | 'error';
}

const listeners = new Set<(toast: Toast) => void>();
let counter = 0;

export function toast(text: string, tone: 'ok' | 'error' = 'ok'): void {
  counter += 1;
  const item = { id: counter, text, tone };
  for (const listener of listeners) listener(item);
}

export function Toasts() {
  const [items, setItems] = useState<Toast[]>([]);
  const remove = useCallback((id: number) => setItems((list) => list.filter((item) => item.id !== id)), []);
  useEffect(() => {
    const listener = (item: Toast): void => {
      setItems((list) => [...list.slice(-3), item]);
      window.setTimeout(() => remove(item.id), item.tone === 'error' ? 7000 : 3500);
    };
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }, [remove]);
  return (
    <div className="toasts" role="status" aria-live="polite">
      {items.map((item) => (
        <div key={item.id} className={`toast toast-${item.tone}`}>
          {item.text}
        </div>
      ))}
    </div>
  );
}
