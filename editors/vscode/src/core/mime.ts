// A MIME bundle from the server as notebook output items: bytes per MIME
// type, richest first. Images arrive base64-encoded and are decoded; JSON
// values are serialized; everything else is UTF-8 text.

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
