// A MIME bundle from the server as notebook output items: bytes per MIME
// type, richest first. Images arrive base64-encoded and are decoded; JSON
// values are serialized; everything else is UTF-8 text. Pictures also have
// a one-line description for views that draw text only.

import { MimeBundle } from './protocol';

export interface MimeItem {
  mime: string;
  data: Uint8Array;
}

const preference = [
  'application/vnd.jupyter.widget-view+json',
  'application/javascript',
  'text/html',
  'image/svg+xml',
  'image/png',
  'image/jpeg',
  'text/markdown',
  'text/latex',
  'application/json',
  'text/plain',
];

function rank(mime: string): number {
  const i = preference.indexOf(mime);
  return i < 0 ? preference.length - 1 : i;
}

export function bundleItems(bundle: MimeBundle): MimeItem[] {
  return Object.keys(bundle)
    .sort((a, b) => rank(a) - rank(b))
    .map((mime) => ({ mime, data: encode(mime, bundle[mime]) }));
}

function encode(mime: string, value: unknown): Uint8Array {
  if ((mime === 'image/png' || mime === 'image/jpeg') && typeof value === 'string') {
    return Buffer.from(value, 'base64');
  }
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** Width and height of a base64 PNG, read from its IHDR chunk (the first 24 bytes). */
export function pngSize(base64: string): { width: number; height: number } | undefined {
  const head = Buffer.from(base64.slice(0, 32), 'base64');
  if (head.length < 24 || head.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return { width: head.readUInt32BE(16), height: head.readUInt32BE(20) };
}

const imageTypes = ['image/png', 'image/jpeg', 'image/svg+xml'];

/** Whether the bundle is a picture (a matplotlib figure, a PIL image...). */
export function isImage(bundle: MimeBundle): boolean {
  return imageTypes.some((mime) => typeof bundle[mime] === 'string');
}

/** "figure 640×480" for a picture (the size when it is a PNG), else undefined. */
export function pictureLabel(bundle: MimeBundle): string | undefined {
  if (!isImage(bundle)) return undefined;
  const png = typeof bundle['image/png'] === 'string' ? pngSize(bundle['image/png'] as string) : undefined;
  return png ? `figure ${png.width}×${png.height}` : 'figure';
}

/**
 * What a displayed bundle looks like where only text can be drawn (the line
 * after a `# %%` cell, the text output view): a picture as "▸ figure
 * 640×480", pointing at the rich output view, anything else as its
 * `text/plain`.
 */
export function bundleText(bundle: MimeBundle): string {
  const picture = pictureLabel(bundle);
  return picture ? `▸ ${picture}` : bundle['text/plain'];
}
