import { describe, expect, it } from 'vitest';
import { qrPath } from '../src/lib/qr';

describe('qrPath', () => {
  it('draws a square code with a quiet zone', () => {
    const qr = qrPath('https://idp.example/device?user_code=WDJB-MJHT');
    expect(qr.size).toBeGreaterThanOrEqual(21);
    expect((qr.size - 17) % 4).toBe(0); // QR versions are 17 + 4n modules wide
    expect(qr.viewBox).toBe(qr.size + 8);
    // The top-left finder pattern: a full run of 7 dark modules starting at the quiet zone.
    expect(qr.d.startsWith('M4 4h7v1h-7z')).toBe(true);
  });

  it('is the same for the same text and grows for longer text', () => {
    expect(qrPath('abc').d).toBe(qrPath('abc').d);
    expect(qrPath('x'.repeat(200)).size).toBeGreaterThan(qrPath('abc').size);
  });
});
