/** A form's submit: busy while the action runs, its error as text, and the default submit prevented. */
import { useState, type FormEvent } from 'react';
import { errorMessage } from '../components/ui.js';

export function useSubmit(action: () => Promise<void>, options: { keepBusy?: boolean } = {}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await action();
      // A form that goes away on success (sign-in, a dialog) stays busy until it does.
      if (options.keepBusy !== true) setBusy(false);
    } catch (reason) {
      setError(errorMessage(reason));
      setBusy(false);
    }
  };
  return { busy, error, setError, onSubmit: (event: FormEvent) => void submit(event) };
}
