// What a page shows, read from the backend: the last value, or the error to show instead.

import { errorMessage } from './backend';

export class Resource<T> {
  value = $state<T | undefined>(undefined);
  error = $state<string | null>(null);
  loading = $state(false);
  // Re-reads can overlap (two `sesame:changed` in a row); only the newest may land.
  private seq = 0;

  constructor(private fetch: () => Promise<T>) {}

  async reload(): Promise<void> {
    const seq = ++this.seq;
    this.loading = true;
    try {
      const value = await this.fetch();
      if (seq === this.seq) {
        this.value = value;
        this.error = null;
      }
    } catch (e) {
      if (seq === this.seq) this.error = errorMessage(e);
    } finally {
      if (seq === this.seq) this.loading = false;
    }
  }
}
