/** Light / dark / system theme, saved in localStorage and applied as html[data-theme]. */
import { useCallback, useState } from 'react';

export type ThemeChoice = 'system' | 'light' | 'dark';
const STORAGE_KEY = 'heimdall.theme';

function read(): ThemeChoice {
  try {
    const value = localStorage.getItem(STORAGE_KEY);
    return value === 'light' || value === 'dark' ? value : 'system';
  } catch {
    return 'system';
  }
}

function apply(choice: ThemeChoice): void {
  if (choice === 'system') document.documentElement.removeAttribute('data-theme');
  else document.documentElement.setAttribute('data-theme', choice);
  try {
    if (choice === 'system') localStorage.removeItem(STORAGE_KEY);
    else localStorage.setItem(STORAGE_KEY, choice);
  } catch {
    /* storage blocked: the choice lasts for this page only */
  }
}

export function useTheme(): { theme: ThemeChoice; cycle(): void } {
  const [theme, setTheme] = useState<ThemeChoice>(read);
  const cycle = useCallback(() => {
    setTheme((current) => {
      const next: ThemeChoice = current === 'system' ? 'light' : current === 'light' ? 'dark' : 'system';
      apply(next);
      return next;
    });
  }, []);
  return { theme, cycle };
}
