#!/bin/sh
# Renders Sesame's icons from the SVGs below with rsvg-convert (Debian: librsvg2-bin).
# The PNGs are committed; run this again only after changing a drawing.
set -eu
cd "$(dirname "$0")"

# The app icon: a key in an open doorway, on a rounded square.
cat > icon.svg <<'SVG'
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">
  <defs>
    <linearGradient id="bg" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#2b6f8f"/>
      <stop offset="1" stop-color="#163e57"/>
    </linearGradient>
  </defs>
  <rect x="16" y="16" width="480" height="480" rx="104" fill="url(#bg)"/>
  <path d="M150 436 V170 a106 106 0 0 1 212 0 V436" fill="none" stroke="#f3c969" stroke-width="30" stroke-linecap="round"/>
  <circle cx="256" cy="206" r="58" fill="none" stroke="#ffffff" stroke-width="30"/>
  <path d="M256 264 V420 M256 340 h46 M256 392 h34" fill="none" stroke="#ffffff" stroke-width="30" stroke-linecap="round"/>
</svg>
SVG

# Tray: the key alone, light with a dark outline on a transparent ground, so it reads on
# dark panels and light ones alike (the panel's theme is not ours to ask); attention adds an
# amber dot.
tray() {
  dot=$1
  cat <<SVG
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
  <g fill="none" stroke="#1b1b1b" stroke-width="5.5" stroke-linecap="round">
    <circle cx="16" cy="10" r="6"/>
    <path d="M16 16 V28.5 M16 22 h5 M16 27 h4"/>
  </g>
  <g fill="none" stroke="#f2f2f2" stroke-width="3" stroke-linecap="round">
    <circle cx="16" cy="10" r="6"/>
    <path d="M16 16 V28.5 M16 22 h5 M16 27 h4"/>
  </g>
  $dot
</svg>
SVG
}
tray '' > tray-normal.svg
tray '<circle cx="25" cy="7" r="6" fill="#ff9f1a" stroke="#1b1b1b" stroke-width="1.5"/>' > tray-attention.svg

rsvg-convert -w 32 -h 32 icon.svg -o 32x32.png
rsvg-convert -w 128 -h 128 icon.svg -o 128x128.png
rsvg-convert -w 256 -h 256 icon.svg -o 128x128@2x.png
rsvg-convert -w 512 -h 512 icon.svg -o icon.png
rsvg-convert -w 32 -h 32 tray-normal.svg -o tray-normal.png
rsvg-convert -w 32 -h 32 tray-attention.svg -o tray-attention.png
rm tray-normal.svg tray-attention.svg
