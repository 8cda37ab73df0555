// A "now" that ticks, for countdowns and relative times. Call during component set-up: the
// interval stops with the component.

export function ticking(intervalMs = 1000): { readonly now: number } {
  let now = $state(Date.now());
  $effect(() => {
    const timer = setInterval(() => (now = Date.now()), intervalMs);
    return () => clearInterval(timer);
  });
  return {
    get now() {
      return now;
    },
  };
}
