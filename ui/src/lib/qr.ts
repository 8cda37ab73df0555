// A QR code as one SVG path, made here: no image file, no data: URL, no network.

import qrcode from 'qrcode-generator';

export interface QrPath {
  /** Modules per side, without the quiet zone. */
  size: number;
  /** An SVG path drawing every dark module as a unit square, offset by the quiet zone. */
  d: string;
  /** Side of the viewBox, quiet zone included. */
  viewBox: number;
}

/** The QR code of `text` (error correction M, the smallest version that fits). */
export function qrPath(text: string, quietZone = 4): QrPath {
  const qr = qrcode(0, 'M');
  qr.addData(text, 'Byte');
  qr.make();
  const size = qr.getModuleCount();
  const parts: string[] = [];
  for (let row = 0; row < size; row++) {
    // One rectangle per run of dark modules keeps the path short.
    let col = 0;
    while (col < size) {
      if (!qr.isDark(row, col)) {
        col++;
        continue;
      }
      const from = col;
      while (col < size && qr.isDark(row, col)) col++;
      parts.push(`M${from + quietZone} ${row + quietZone}h${col - from}v1h${from - col}z`);
    }
  }
  return { size, d: parts.join(''), viewBox: size + 2 * quietZone };
}
